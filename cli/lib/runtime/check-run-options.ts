import { isAbsolute } from "node:path";
import { RlError } from "../errors";
import { checkDnsOptions } from "../network/etc-files";
import { publishedPorts } from "../network/ports";
import type { RunOptions } from "./run-options";
import { userEnv } from "./spec";

/** A container's working directory must be absolute: -w, or the image's WorkingDir. */
export function checkWorkdir(cwd: string): void {
  if (!isAbsolute(cwd)) throw new RlError(`the working directory ${JSON.stringify(cwd)} must be an absolute path`);
}

/**
 * A container's options, checked before anything is cloned or recorded: -p, -w, --dns, --add-host, and
 * the env files, read here once into `env`. (What needs the image, -u's names and -P's ports, is
 * checked once it is found; -v, --mount, --tmpfs, limits and --network are parsed first in run.ts.)
 */
export function checkRunOptions(o: RunOptions): RunOptions {
  publishedPorts(o.publish, false, undefined);
  if (o.workdir !== undefined) checkWorkdir(o.workdir);
  checkDnsOptions(o.dns);
  return { ...o, env: userEnv(o), envFiles: [] };
}
