import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from "node:fs";
import { writeAll } from "../write-all";
import { join } from "node:path";
import { lgetxattr } from "../sys/libc";
import { TarFileWriter, type TarWriteEntry } from "../image/tar-writer";

const CHUNK = 1 << 20;

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function isOpaque(dir: string): boolean {
  const v = lgetxattr(dir, "user.overlay.opaque") ?? lgetxattr(dir, "user.fuseoverlayfs.opaque") ?? lgetxattr(dir, "trusted.overlay.opaque");
  return v !== undefined && v[0] === 0x79; // "y"
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

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

  async function walk(rel: string, sources: string[]): Promise<void> {
    const seen = new Map<string, number>();
    for (let i = 0; i < sources.length; i++) {
      const names = readdirSync(sources[i]!);
      // fuse-overlayfs may write OCI-style whiteouts (.wh.NAME, .wh..wh..opq) where mknod fails.
      for (const n of names) if (n.startsWith(".wh.") && n !== ".wh..wh..opq" && !seen.has(n.slice(4))) seen.set(n.slice(4), -1);
      for (const n of names) if (!n.startsWith(".wh.") && !seen.has(n)) seen.set(n, i);
      if (isOpaque(sources[i]!) || names.includes(".wh..wh..opq")) break;
    }
    for (const name of [...seen.keys()].sort()) {
      const i = seen.get(name)!;
      if (i < 0) continue;
      const path = join(sources[i]!, name);
      const st = lstatSync(path);
      if (isWhiteout(st)) continue;
      const relPath = rel ? `${rel}/${name}` : name;
      const base: TarWriteEntry = { path: relPath, type: "file", mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: Math.floor(st.mtimeMs / 1000) };
      if (st.isDirectory()) {
        await tar.add({ ...base, type: "dir" });
        const below = [path];
        for (let j = i + 1; j < sources.length && !isOpaque(path); j++) {
          const lower = lstatOrNull(join(sources[j]!, name));
          if (!lower) continue;
          if (!lower.isDirectory()) break;
          below.push(join(sources[j]!, name));
          if (isOpaque(join(sources[j]!, name))) break;
        }
        await walk(relPath, below);
      } else if (st.isSymbolicLink()) {
        await tar.add({ ...base, type: "symlink", linkpath: readlinkSync(path) });
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first) {
          await tar.add({ ...base, type: "hardlink", linkpath: first });
          continue;
        }
        if (st.nlink > 1) links.set(key, relPath);
        await tar.add({ ...base, size: st.size }, asAsync(fileChunks(path)));
      } else if (st.isFIFO()) {
        await tar.add({ ...base, type: "fifo" });
      }
      // Sockets and device nodes (none can be created unprivileged) are left out.
    }
  }

  try {
    await walk("", dirsTopFirst);
    await tar.end();
  } finally {
    closeSync(fd);
  }
  return { ok: true };
}
