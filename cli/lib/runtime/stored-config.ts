import { RlError } from "../errors";
import type { ContainerRow } from "../store/containers-table";
import type { RunOptions } from "./run-options";
import { userEnv } from "./spec";

/**
 * A container's options as `rl start` runs it again: what `rl run` or `rl create` were given, with the
 * environment resolved as it was then (env files read, `-e KEY` taken from rl's environment) and nothing of
 * how the image was fetched (credentials stay out of the store: start uses the stored image).
 */
export function storedConfig(o: RunOptions): string {
  const kept: RunOptions = { ...o, env: userEnv(o), envFiles: [], imageOptions: {}, detach: false, streams: undefined };
  return JSON.stringify(kept);
}

/** The options to start a stored container with (see storedConfig). */
export function loadConfig(c: ContainerRow): RunOptions {
  if (!c.config) throw new RlError(`container ${c.name} was made by an older rl, which kept no configuration: it cannot be started again (rl run a new one)`);
  return JSON.parse(c.config) as RunOptions;
}
