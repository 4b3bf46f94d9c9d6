import { closeSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { RlError } from "./errors";

/**
 * Where an archive goes (`save`, `export`): stdout, or a file written atomically: a temp file beside it
 * (same directory, so the rename cannot cross filesystems), renamed over it when complete, removed on
 * failure. Created 0644 minus the umask. A path that exists and is not a regular file (/dev/stdout, a
 * fifo) is written in place: there is nothing to replace.
 */
export interface Output {
  fd: number;
  /** The archive is complete: put it in place. */
  commit(): void;
  /** Something failed: leave nothing behind. */
  abort(): void;
}

export function openOutput(path: string | undefined): Output {
  if (path === undefined) return { fd: 1, commit: () => {}, abort: () => {} };
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(path);
  } catch {}
  if (existing?.isDirectory()) throw new RlError(`${path} is a directory`);
  if (existing && !existing.isFile()) {
    const fd = openSync(path, "w");
    return { fd, commit: () => closeSync(fd), abort: () => closeSync(fd) };
  }
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${Date.now().toString(36)}.rl-tmp`);
  const fd = openSync(tmp, "wx", 0o644);
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    fd,
    commit() {
      close();
      renameSync(tmp, path);
    },
    abort() {
      try {
        close();
      } catch {}
      rmSync(tmp, { force: true });
    },
  };
}

/** The exit code of a writer whose reader went away (`rl save x | head`): 128 + SIGPIPE, as a shell shows it. */
export const CLOSED_OUTPUT_EXIT = 141;

/** The reader of stdout (or of the fifo written to) closed it: not an error, the command just stops. */
export function isClosedOutput(err: unknown): boolean {
  const e = err as { code?: string; errno?: unknown };
  return e?.code === "EPIPE" || (err instanceof RlError && err.errno === "EPIPE");
}

/** Run a command that writes an archive: its exit code, CLOSED_OUTPUT_EXIT without a word when the reader went away. */
export async function writingArchive(fn: () => Promise<void>): Promise<number> {
  try {
    await fn();
    return 0;
  } catch (err) {
    if (isClosedOutput(err)) return CLOSED_OUTPUT_EXIT;
    throw err;
  }
}
