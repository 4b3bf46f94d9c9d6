import { RlError } from "../errors";
import type { Paths } from "../paths";

/** Failures of this machine's disk or limits, never the registry's doing. */
const LOCAL = ["ENOSPC", "EDQUOT", "EFBIG", "EROFS", "EIO", "EACCES", "EPERM", "EMFILE", "ENFILE", "EISDIR", "ENOTDIR"] as const;
const WORDS: Record<(typeof LOCAL)[number], string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "the disk quota is exceeded",
  EFBIG: "a file grew past the size this process may write (ulimit -f)",
  EROFS: "the file system is read-only",
  EIO: "an input/output error",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  EISDIR: "a directory is in the way",
  ENOTDIR: "a file is in the way of a directory",
};

/**
 * When `err` is a failure of this machine (a full disk while a blob is written or a layer unpacked, here
 * or in the unpacking worker), an error that says so and names the store, without the temp file it
 * happened to be writing; else undefined.
 */
export function localFailure(err: unknown, p: Paths): RlError | undefined {
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === "string" && (LOCAL as readonly string[]).includes(e.code) && e.syscall ? e.code : LOCAL.find((c) => new RegExp(`\\b${c}: `).test(String(e?.message)));
  if (!code) return undefined;
  return new RlError(`writing to the store in ${p.data} failed: ${WORDS[code as (typeof LOCAL)[number]]} (${code})`, err instanceof RlError ? err.exitCode : undefined, code);
}
