import { writeSync } from "node:fs";

/**
 * Write all of `bytes` to `fd`, synchronously. Retries short writes, and EAGAIN when the fd is a
 * non-blocking pipe (stdout of `rl save | ...`).
 */
export function writeAll(fd: number, bytes: Uint8Array, length = bytes.length): void {
  for (let off = 0; off < length; ) {
    try {
      off += writeSync(fd, bytes, off, length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      Bun.sleepSync(1);
    }
  }
}
