import { cc, type FFIFunction } from "bun:ffi";
import { join } from "node:path";

/**
 * A C file from helpers/, compiled by bun:ffi's TinyCC on first use (about 5 ms) and kept for the
 * process: returns a getter for its symbols.
 */
export function lazyC<S extends Record<string, FFIFunction>>(file: string, symbols: S) {
  let compiled: ReturnType<typeof cc<S>>["symbols"] | undefined;
  return () => (compiled ??= cc({ source: join(import.meta.dir, "../../../helpers", file), symbols }).symbols);
}
