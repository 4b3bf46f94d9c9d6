import { ptr } from "bun:ffi";
import { lazyC } from "./compile-c";
import { cstr, errnoErrorOf, timespecOf } from "./libc";

/** helpers/layer-files.c: loaded by the layer unpacker on first use. */
const layerFiles = lazyC("layer-files.c", {
  rl_write_small_file: { args: ["i32", "ptr", "ptr", "i64", "i32", "i32", "i32", "i64", "i64"], returns: "i32" },
});

const STEPS = ["", "open", "write", "chown", "chmod", "utimes"];

/**
 * Create `name` in the directory `dirfd` (a single component, never followed, never outside `dirfd`),
 * write `data`, set its owner (uid < 0: leave it), mode and times (seconds, may be fractional), close it:
 * one call for the six of them. Throws as the calls of sys/libc.ts do.
 */
export function writeSmallFile(dirfd: number, name: string, data: Uint8Array, mode: number, uid: number, gid: number, mtime: number): void {
  const [s, ns] = timespecOf(mtime);
  const r = layerFiles().rl_write_small_file(dirfd, ptr(cstr(name)), data.length ? ptr(data) : null, data.length, mode, uid, gid, s, ns);
  if (r < 0) throw errnoErrorOf(STEPS[Math.floor(-r / 4096)]!, name, -r % 4096);
}
