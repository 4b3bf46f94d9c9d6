import { relayPipes } from "./stdio-relay";
import type { AttachStreams } from "./attach-streams";
import { attachTerminal } from "./tty";

export type Attached = ReturnType<typeof relayPipes>;

/** Connect rl to a started process: its pty (-t), or the pipes rl relays, or nothing (it has rl's own fds). */
export function attachStdio(s: { ptyMaster: number; pipes: readonly number[] }, interactive: boolean, streams?: AttachStreams): Attached | undefined {
  if (s.ptyMaster >= 0) return attachTerminal(s.ptyMaster, interactive);
  return s.pipes.some((fd) => fd >= 0) ? relayPipes(s.pipes, streams) : undefined;
}

/**
 * Once the process has ended: let what it wrote last come out, then stop. Half a second at most: a
 * process it left behind may hold its pipes or its terminal open.
 */
export async function detachStdio(a: Attached | undefined): Promise<void> {
  if (!a) return;
  await Promise.race([a.done, Bun.sleep(500)]);
  a.detach();
}
