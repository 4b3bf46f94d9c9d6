/** Exit code docker and podman use for the tool's own failures. */
export const EXIT_RL_ERROR = 125;

/**
 * An error rl reports to the user as one line ("rl: cannot <action>: <detail>").
 * Created once where the failure is found, then wrapped with context on the way up.
 */
export class RlError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_RL_ERROR,
    readonly errno?: string,
  ) {
    super(message);
    this.name = "RlError";
  }
}

/** Prefix an error's message with what was being done: "cannot run alpine: <detail>". */
export function wrap(action: string, err: unknown): RlError {
  const detail = messageOf(err);
  const exitCode = err instanceof RlError ? err.exitCode : EXIT_RL_ERROR;
  const errno = err instanceof RlError ? err.errno : (err as NodeJS.ErrnoException)?.code;
  return new RlError(`cannot ${action}: ${detail}`, exitCode, errno);
}

/** Run `fn`, wrapping whatever it throws with `action`. */
export async function withContext<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw wrap(action, err);
  }
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) {
    const e = err as NodeJS.ErrnoException;
    // Node's fs errors read "ENOENT: no such file or directory, open '/x'"; keep them as they are.
    return e.message;
  }
  return String(err);
}
