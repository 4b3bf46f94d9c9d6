import { RlError } from "../errors";
import type { ContainerRow } from "../store/containers-table";
import { attachContainer, lostAttach, type AttachOptions } from "../runtime/attach-client";
import type { RunOptions } from "../runtime/run-options";
import { createContainer } from "./create-container";
import type { Session } from "./session";
import { startCreated, type DetachedStart } from "./start-created";

/** Create (or claim `existing`, a stopped container) and start it under its monitor. */
async function startUnderMonitor(options: RunOptions, s: Session, existing?: ContainerRow): Promise<{ id: string; name: string; started: DetachedStart }> {
  const created = await createContainer({ ...options, detach: true }, s, existing);
  const started = await startCreated(created);
  if (started.kind !== "detached") throw new RlError(`cannot start container ${created.name} under a monitor`);
  return { id: created.id, name: created.name, started };
}

/** rl run -d, rl start: the container runs on under its monitor; its id. */
export async function runDetached(options: RunOptions, s: Session, existing?: ContainerRow): Promise<string> {
  const { id, started } = await startUnderMonitor(options, s, existing);
  started.handOver();
  return id;
}

/**
 * rl run -it, rl start -a: under its monitor, and attached to it from its first byte: its exit code once
 * it ended and its exit command ran (--rm done), or 0 when the user detached (it runs on).
 */
export async function runAttached(options: RunOptions, attach: Omit<AttachOptions, "signalsTo">, s: Session, existing?: ContainerRow): Promise<number> {
  const { name, started } = await startUnderMonitor(options, s, existing);
  const end = await attachContainer(started.handOver({ attach: true }), { ...attach, signalsTo: started.pid });
  if ("detached" in end) return 0;
  await started.monitor.gone();
  if ("lost" in end) throw lostAttach(name, false); // its monitor is gone: so is the container
  return end.exited;
}
