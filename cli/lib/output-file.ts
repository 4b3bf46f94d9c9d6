import { closeSync, openSync, realpathSync, renameSync, rmSync, statSync } from "node:fs";
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

/** An output file: its path (a symlink there followed) and the temp it is written to first (none: written in place). */
export interface OutputTarget {
  path: string;
  tmp?: string;
}

/** Where `-o PATH` is written (undefined PATH: stdout), decided before the writing starts so that whoever waits for the writer can clean up after it. */
export function outputTarget(path: string | undefined): OutputTarget | undefined {
  if (path === undefined) return undefined;
  let existing: ReturnType<typeof statSync> | undefined;
  try {
    existing = statSync(path);
  } catch {}
  if (existing?.isDirectory()) throw new RlError(`${path} is a directory`);
  if (existing && !existing.isFile()) return { path };
  const real = existing ? realpathSync(path) : path;
  return { path: real, tmp: join(dirname(real), `.${basename(real)}.${process.pid}-${Date.now().toString(36)}.rl-tmp`) };
}

export function openOutput(target: OutputTarget | undefined): Output {
  if (target === undefined) return { fd: 1, commit: () => {}, abort: () => {} };
  const { path, tmp } = target;
  if (tmp === undefined) {
    const fd = openSync(path, "w");
    return { fd, commit: () => closeSync(fd), abort: () => closeSync(fd) };
  }
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

const INTERRUPTS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/**
 * Run `fn`, which writes `target`; if it fails, or rl is interrupted meanwhile (Ctrl-C, SIGTERM, SIGHUP:
 * rl then exits as the signal would have ended it), the temp file is removed, whoever was writing it.
 */
export async function writingOutput<T>(target: OutputTarget | undefined, fn: () => Promise<T>): Promise<T> {
  const tmp = target?.tmp;
  if (!tmp) return fn();
  const handlers = Object.entries(INTERRUPTS).map(([sig, n]) => {
    const h = () => {
      rmSync(tmp, { force: true });
      process.exit(128 + n);
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  try {
    return await fn();
  } finally {
    for (const [sig, h] of handlers) process.off(sig, h);
    rmSync(tmp, { force: true }); // renamed away when it worked
  }
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
