import type { Database } from "bun:sqlite";
import { RlError } from "../errors";
import type { Paths } from "../paths";
import type { ContainerRow } from "../store/containers-table";
import { rlCommand } from "../runtime/rl-command";
import { readHealth, writeHealth, type HealthState } from "../runtime/health-state";
import { loadConfig } from "../runtime/stored-config";
import { processRuns } from "../store/container-state";

const KEPT_RESULTS = 5;
const OUTPUT_LIMIT = 4096;

/**
 * Run a container's healthcheck once (`rl healthcheck run`, and every --health-interval its monitor): its
 * command in the container (`rl exec … sh -c CMD`), killed after --health-timeout; the result goes into
 * State.Health. Failures in the start period do not count; --health-retries failures in a row make it
 * unhealthy, one success healthy. Returns whether it passed.
 */
export async function runHealthcheck(_d: Database, p: Paths, c: ContainerRow): Promise<boolean> {
  const health = c.config ? loadConfig(c).health : undefined;
  if (!health) throw new RlError(`container ${c.name} has no healthcheck (rl run --health-cmd …)`);
  if (!processRuns(c)) throw new RlError(`container ${c.name} is not running`);
  const start = new Date();
  // process.env, not the environment rl started with: run from the sources, rl dropped BUN_BE_BUN from it.
  const proc = Bun.spawn([...rlCommand(), "exec", c.id, "sh", "-c", health.command], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: process.env });
  let timedOut = false, exited = false, timer: Timer | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      timedOut = !exited;
      if (timedOut) proc.kill("SIGKILL");
      resolve();
    }, health.timeoutMs);
  });
  void proc.exited.then(() => (exited = true));
  // The container decides how much its check prints: only what is kept is held, the rest is read and
  // dropped; and till when: a process the check left (`cmd &`) holds its output open, read up to the timeout.
  const [out, err, code] = await Promise.all([readCapped(proc.stdout, OUTPUT_LIMIT * 4, deadline), readCapped(proc.stderr, OUTPUT_LIMIT * 4, deadline), proc.exited]);
  clearTimeout(timer);
  const passed = !timedOut && code === 0;
  const before = readHealth(p, c.id) ?? { Status: "starting", FailingStreak: 0, Log: [] };
  const inStartPeriod = Date.now() - (c.started ?? c.created) < health.startPeriodMs;
  const streak = passed ? 0 : inStartPeriod ? before.FailingStreak : before.FailingStreak + 1;
  const state: HealthState = {
    Status: passed ? "healthy" : streak >= health.retries ? "unhealthy" : before.Status,
    FailingStreak: streak,
    Log: [...before.Log, { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: timedOut ? -1 : code, Output: (timedOut ? `Health check exceeded timeout (${health.timeoutMs} ms)` : out + err).slice(0, OUTPUT_LIMIT) }].slice(-KEPT_RESULTS),
  };
  writeHealth(p, c.id, state);
  return passed;
}

/** A stream's first `limit` bytes as text (enough for OUTPUT_LIMIT characters of UTF-8), read to its end or until `stop`. */
async function readCapped(stream: ReadableStream<Uint8Array>, limit: number, stop: Promise<void>): Promise<string> {
  const kept: Uint8Array[] = [];
  const reader = stream.getReader();
  void stop.then(() => reader.cancel());
  for (let got = 0; ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    if (got < limit) kept.push(value.subarray(0, limit - got));
    got += value.length;
  }
  return new TextDecoder().decode(Buffer.concat(kept));
}
