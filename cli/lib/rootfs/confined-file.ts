import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { RlError } from "../errors";
import { closeFd, O, openat2, RESOLVE } from "../sys/libc";

const MAX_BYTES = 1 << 20;

/**
 * A small regular file of a container's tree as the container sees it: `root` is a descriptor of its
 * root (of /proc/PID/root), and every symlink on the way, absolute ones too, resolves inside it
 * (openat2 RESOLVE_IN_ROOT), so an image's /etc/passwd linked to /etc/shadow is the container's, never
 * the host's. Undefined when it is absent or unreadable; a fifo or a device is never opened for reading.
 */
export function readConfinedFile(root: number, rel: string): string | undefined {
  let path: number;
  try {
    path = openat2(root, rel, O.PATH | O.CLOEXEC, 0, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS);
  } catch {
    return undefined;
  }
  let fd: number | undefined;
  try {
    if (!fstatSync(path).isFile()) return undefined;
    // The O_PATH descriptor opened again, for reading: the same file.
    fd = openSync(`/proc/self/fd/${path}`, "r");
    const buf = Buffer.allocUnsafe(MAX_BYTES + 1);
    let n = 0, k: number;
    while (n < buf.length && (k = readSync(fd, buf, n, buf.length - n, null)) > 0) n += k;
    if (n > MAX_BYTES) throw new RlError(`the container's /${rel} is larger than ${MAX_BYTES >> 20} MiB`);
    return buf.toString("utf8", 0, n);
  } catch (err) {
    if (err instanceof RlError) throw err;
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
    closeFd(path);
  }
}
