import { readSync } from "node:fs";
import { writeAll } from "../write-all";
import { openOutput, type Output, type OutputTarget } from "../output-file";
import { pauseForTests } from "../test-pause";
import { TAR_END, tarHeader, tarPadding, type SparseRun, type TarWriteEntry, type TarWriteType } from "../image/tar-writer";
import { dataRuns, mayHaveHoles, sendFile } from "../sys/layer-files";
import { confinedTree, type ConfinedEntry } from "./confined-tree";
import { isOverlayXattr } from "./merged-tree";

/** Headers and small files gather here and reach the output in writes of this size. */
const BUFFER = 1 << 20;
/** Runs of a file from this size on are copied by sendfile. */
const SEND_MIN = 256 << 10;

/** A buffered writer of the archive to a descriptor; file data is read straight into its buffer. */
class Sink {
  private readonly buf = new Uint8Array(BUFFER);
  private pos = 0;
  private canSend = true;

  constructor(private readonly fd: number) {}

  write(bytes: Uint8Array): void {
    if (this.pos + bytes.length > BUFFER) this.flush();
    if (bytes.length > BUFFER) writeAll(this.fd, bytes);
    else {
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    }
  }

  /**
   * `length` bytes of the file `src` from `offset`. A file that shrank meanwhile (a running container)
   * is padded with zeros to the length its header gave; returns false then.
   */
  copyFrom(src: number, offset: number, length: number): boolean {
    let whole = true;
    while (length > 0) {
      if (this.pos === BUFFER) this.flush();
      const want = Math.min(BUFFER - this.pos, length);
      const n = whole ? readSync(src, this.buf, this.pos, want, offset) : 0;
      if (n === 0) {
        whole = false;
        this.buf.fill(0, this.pos, this.pos + want);
      }
      const got = n || want;
      this.pos += got;
      offset += got;
      length -= got;
    }
    return whole;
  }

  /** As copyFrom, but a big run goes from file to output in the kernel (sendfile) where the output allows it. */
  send(src: number, offset: number, length: number): boolean {
    if (length >= SEND_MIN && this.canSend) {
      this.flush();
      while (length > 0) {
        const n = sendFile(this.fd, src, offset, length);
        if (n === undefined) {
          this.canSend = false;
          break;
        }
        if (n === 0) break; // the file shrank: copyFrom pads
        offset += n;
        length -= n;
      }
    }
    return length === 0 || this.copyFrom(src, offset, length);
  }

  flush(): void {
    if (this.pos) writeAll(this.fd, this.buf, this.pos);
    this.pos = 0;
  }
}

const S_IFMT = 0o170000;
const TYPES: Record<number, TarWriteType> = { 0o100000: "file", 0o040000: "dir", 0o120000: "symlink", 0o010000: "fifo" };

/** What of a file's xattrs an export keeps (as podman does): user.* but overlay's own, and file capabilities. */
export const exported = (name: string) => (name.startsWith("user.") && !isOverlayXattr(name)) || name === "security.capability";

/** The runs of a file worth writing as a sparse member, or undefined when it has no holes. */
function sparseRuns(e: ConfinedEntry): SparseRun[] | undefined {
  const { size } = e.st;
  if (!mayHaveHoles(e.st)) return undefined;
  // Runs on 512-byte blocks (GNU tar's reader starts each at a block); a filesystem's runs already are.
  const runs: SparseRun[] = [];
  let data = 0;
  for (const r of dataRuns(e.fd, size, e.rel)) {
    const offset = r.offset - (r.offset % 512);
    const end = Math.min(size, Math.ceil((r.offset + r.length) / 512) * 512);
    const last = runs[runs.length - 1];
    if (last && last.offset + last.length >= offset) last.length = end - last.offset;
    else runs.push({ offset, length: end - offset });
  }
  for (const r of runs) data += r.length;
  if (data >= size) return undefined;
  // The map ends with an empty run at the file's size, as GNU tar writes it (and its reader needs it).
  runs.push({ offset: size, length: 0 });
  return runs;
}

/**
 * Write the filesystem an overlay of `dirsTopFirst` shows (overlay format: whiteouts are char 0/0
 * devices, opaque directories carry overlay.opaque=y) as a tar to `output` (atomically) or stdout,
 * with the owners as seen from inside the user namespace, i.e. the container's uids and gids. Runs as
 * root of that namespace. The walk only goes through descriptors (confined-tree.ts): the trees may be
 * a running container's. Returns the files that changed size while they were read.
 */
export function exportTree(dirsTopFirst: string[], output: OutputTarget | undefined): { ok: true; changed: string[] } {
  const out = openOutput(output);
  pauseForTests("RL_TEST_PAUSE_EXPORT");
  return writeTar(confinedTree(dirsTopFirst), out);
}

/**
 * Write `entries` (opened through descriptors, named by `rel`) as a tar to `out`, then commit it (abort
 * it on failure); sockets and device nodes are left out. Returns the files that shrank while read.
 */
export function writeTar(entries: Iterable<ConfinedEntry>, out: Output): { ok: true; changed: string[] } {
  const sink = new Sink(out.fd);
  const links = new Map<string, string>();
  const changed: string[] = [];
  try {
    for (const e of entries) {
      const type = TYPES[e.st.mode & S_IFMT];
      if (!type) continue; // sockets; device nodes cannot be created unprivileged
      const xattrs: Record<string, Uint8Array> = {};
      for (const [k, v] of e.xattrs) if (exported(k)) xattrs[k] = v;
      // Whole seconds, as podman and docker write exports and layers.
      const entry: TarWriteEntry = { path: e.rel, type, mode: e.st.mode & 0o7777, uid: e.st.uid, gid: e.st.gid, mtime: e.st.mtimeSec, xattrs };
      if (type !== "dir" && e.st.nlink > 1) {
        const first = links.get(e.st.inode);
        if (first) {
          sink.write(tarHeader({ ...entry, type: "hardlink", linkpath: first, xattrs: undefined }));
          continue;
        }
        links.set(e.st.inode, e.rel);
      }
      if (type === "symlink") entry.linkpath = e.link;
      if (type !== "file") {
        sink.write(tarHeader(entry));
        continue;
      }
      entry.size = e.st.size;
      entry.sparse = sparseRuns(e);
      sink.write(tarHeader(entry));
      let whole = true;
      let stored = 0;
      for (const r of entry.sparse ?? [{ offset: 0, length: e.st.size }]) {
        whole = sink.send(e.fd, r.offset, r.length) && whole;
        stored += r.length;
      }
      if (!whole) changed.push(e.rel);
      sink.write(tarPadding(stored));
    }
    sink.write(TAR_END);
    sink.flush();
    out.commit();
  } catch (err) {
    out.abort();
    throw err;
  }
  return { ok: true, changed };
}
