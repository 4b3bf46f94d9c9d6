import { createContainer } from "../lib/engine/create-container";
import type { Session } from "../lib/engine/session";
import { startCreated } from "../lib/engine/start-created";
import { RlError } from "../lib/errors";
import { attachStdio, detachStdio } from "../lib/runtime/attach-stdio";
import type { RunOptions } from "../lib/runtime/run-options";
import { forwardSignals } from "../lib/runtime/signal-forwarding";

/**
 * `rl run` in the foreground: the engine creates and starts the container; this rl relays its stdio (or
 * its terminal), forwards the signals it receives to it, waits for its end and exits with its code.
 */
export async function runForeground(o: RunOptions, s: Session): Promise<number> {
  const created = await createContainer(o, s);
  // Signals that arrive while it starts are delivered once it runs.
  const signals = forwardSignals();
  let started;
  try {
    started = await startCreated(created);
  } catch (err) {
    signals.stop();
    throw err;
  }
  if (started.kind !== "foreground") throw new RlError(`container ${created.name} started under a monitor`);
  signals.to(started.pid);
  const term = attachStdio(started, o.interactive, o.streams);
  const code = await started.exited;
  await detachStdio(term);
  signals.stop();
  return started.finish(code);
}
