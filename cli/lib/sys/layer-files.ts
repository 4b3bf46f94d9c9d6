import { ptr } from "bun:ffi";
import { lazyC } from "./compile-c";
import { errnoName, strerror } from "./errno";

/** helpers/layer-files.c: loaded by the layer unpacker on first use. */
const layerFiles = lazyC("layer-files.c", {
  rl_write_small_file: { args: ["i32", "ptr", "ptr", "i64", "i32", "i32", "i32", "i64", "i64"], returns: "i32" },
});

const STEPS = ["", "open", "write", "chown", "chmod", "utimes"];
const enc = new TextEncoder();

/**
 * Create `name` in the directory `dirfd` (a single component, never followed, never outside `dirfd`),
 * write `data`, set its owner (uid < 0: leave it), mode and times (seconds, may be fractional), close it:
 * one call for the six of them. Throws as the calls of sys/libc.ts do.
 */
export function writeSmallFile(dirfd: number, name: string, data: Uint8Array, mode: number, uid: number, gid: number, mtime: number): void {
  const s = Math.floor(mtime);
  const ns = Math.round((mtime - s) * 1e9);
  const r = layerFiles().rl_write_small_file(dirfd, ptr(enc.encode(`${name}\0`)), data.length ? ptr(data) : null, data.length, mode, uid, gid, s, ns);
  if (r >= 0) return;
  const step = Math.floor(-r / 4096), errno = -r % 4096;
  throw Object.assign(new Error(`${STEPS[step]} ${name}: ${strerror(errno)}`), { code: errnoName(errno), errno });
}
