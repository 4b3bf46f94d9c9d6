import { cc, dlopen, type FFIFunction } from "bun:ffi";
import { existsSync } from "node:fs";
import { prebuiltPath, programPath, sourcePath } from "../../../helpers/c-build";

/** `path`, what `bun install` built, when it exists and may be used (RL_TINYCC=1 stands for no compiler). */
function built(path: () => string): string | undefined {
  if (process.env.RL_TINYCC) return undefined;
  const p = path();
  return existsSync(p) ? p : undefined;
}

/**
 * A C file from helpers/, loaded on first use and kept for the process: the shared object `bun install`
 * built for its current source, else compiled now by bun:ffi's TinyCC (RL_TINYCC=1 forces that).
 * Returns a getter for its symbols.
 */
export function lazyC<S extends Record<string, FFIFunction>>(file: string, symbols: S) {
  type Symbols = ReturnType<typeof cc<S>>["symbols"];
  let loaded: Symbols | undefined;
  const load = (): Symbols => {
    const so = built(() => prebuiltPath(file));
    if (so) return dlopen(so, symbols).symbols as Symbols;
    return cc({ source: sourcePath(file), symbols }).symbols;
  };
  return () => (loaded ??= load());
}

/**
 * The SQLite extension `bun install` built from a C file of helpers/ (c-build.ts C_EXTENSIONS), or
 * undefined when there is none for its current source (RL_TINYCC=1, which stands for no compiler, too).
 */
export function prebuiltExtension(file: string): string | undefined {
  return built(() => prebuiltPath(file));
}

/**
 * The program `bun install` built from a C file of helpers/ (c-build.ts C_PROGRAMS), or undefined when
 * there is none for its current source (no C compiler; RL_TINYCC=1 also means none). `override`: a path
 * to use instead (tests).
 */
export function lazyProgram(file: string, override?: string): () => string | undefined {
  let path: string | undefined | null = null;
  return () => {
    if (path === null) path = override !== undefined ? (existsSync(override) ? override : undefined) : built(() => programPath(file));
    return path;
  };
}
