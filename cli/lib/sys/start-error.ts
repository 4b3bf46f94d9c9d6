import { RlError } from "../errors";
import { errnoName } from "./errno";
import type { Op } from "./ops";

/** Where a container's process failed before its ops ran (the executor's START statuses, in words). */
export type StartStep = "release" | "join" | "keyring";

/**
 * A container's process that could not start: the op it failed at (or the step before its ops), and the
 * errno it got. Code that decides what to do next (another storage driver, say) reads these, not the
 * message; RlError's errno is the errno's name.
 */
export class StartError extends RlError {
  constructor(
    message: string,
    readonly op: Op | StartStep,
    readonly errnum: number,
    exitCode?: number,
  ) {
    super(message, exitCode, errnoName(errnum));
    this.name = "StartError";
  }
}
