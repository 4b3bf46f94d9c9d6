import { RlError } from "../errors";
import { parseDurationMs } from "../format";

/** A container's healthcheck, as docker's and podman's --health-* flags give it. */
export interface HealthConfig {
  /** Run by `sh -c` in the container (--health-cmd). */
  command: string;
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

export interface HealthFlags {
  cmd?: string;
  interval: string;
  timeout: string;
  retries: number;
  startPeriod: string;
  none: boolean;
}

function duration(flag: string, text: string, min: number): number {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < min) throw new RlError(`invalid ${flag} ${JSON.stringify(text)}: use a duration such as 30s, 1m30s or 500ms${min ? ` (at least ${min} ms)` : ""}`);
  return ms;
}

/** The healthcheck asked for, or undefined (no --health-cmd, --health-interval disable, or --no-healthcheck). */
export function parseHealth(f: HealthFlags): HealthConfig | undefined {
  if (f.none || f.cmd === undefined || f.cmd === "" || f.cmd === "none" || f.interval === "disable") return undefined;
  if (!Number.isInteger(f.retries) || f.retries < 1) throw new RlError(`invalid --health-retries ${f.retries}: use 1 or more`);
  return { command: f.cmd, intervalMs: duration("--health-interval", f.interval, 100), timeoutMs: duration("--health-timeout", f.timeout, 100), retries: f.retries, startPeriodMs: duration("--health-start-period", f.startPeriod, 0) };
}
