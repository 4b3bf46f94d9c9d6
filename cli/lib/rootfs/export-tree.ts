import { closeSync, openSync, readlinkSync, readSync } from "node:fs";
import { writeAll } from "../write-all";
import { TarFileWriter, type TarWriteEntry } from "../image/tar-writer";
import { mergedTree } from "./merged-tree";

const CHUNK = 1 << 20;

function* fileChunks(path: string): Generator<Uint8Array> {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(CHUNK);
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) yield buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

async function* asAsync(g: Generator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* g;
}

/**
 * Write the filesystem an overlay of `dirsTopFirst` shows (overlay format: whiteouts are char 0/0
 * devices, opaque directories carry overlay.opaque=y) as a tar to `output`, with the owners as seen
 * from inside the user namespace, i.e. the container's uids and gids. Runs as root of that namespace.
 */
export async function exportTree(dirsTopFirst: string[], output: string): Promise<{ ok: true }> {
  const fd = openSync(output, "w", 0o600);
  const tar = new TarFileWriter((b) => writeAll(fd, b));
  const links = new Map<string, string>();
  try {
    for (const { rel, source, st } of mergedTree(dirsTopFirst)) {
      const base: TarWriteEntry = { path: rel, type: "file", mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isDirectory()) {
        await tar.add({ ...base, type: "dir" });
      } else if (st.isSymbolicLink()) {
        await tar.add({ ...base, type: "symlink", linkpath: readlinkSync(source) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first) {
          await tar.add({ ...base, type: "hardlink", linkpath: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, rel);
        await tar.add({ ...base, size: st.size }, asAsync(fileChunks(source)));
      } else if (st.isFIFO()) {
        await tar.add({ ...base, type: "fifo" });
      }
      // Sockets and device nodes (none can be created unprivileged) are left out.
    }
    await tar.end();
  } finally {
    closeSync(fd);
  }
  return { ok: true };
}
