import { RlError } from "../errors";

/** Where a detached container's output goes: its log (rl logs), or nowhere. */
export type LogDriver = "k8s-file" | "none";

export function parseLogDriver(text: string): LogDriver {
  if (text === "k8s-file" || text === "none") return text;
  throw new RlError(`unknown log driver ${JSON.stringify(text)}: choose k8s-file or none`);
}

/** --log-opt: rotation as docker's json-file does it (max-size 0: no limit; max-file: the log and its rotated files). */
export interface LogOptions {
  maxSize: number;
  maxFiles: number;
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, ki: 1024, kib: 1024, mi: 1024 ** 2, mib: 1024 ** 2, gi: 1024 ** 3, gib: 1024 ** 3 };

/** `--log-opt max-size=10m --log-opt max-file=3` (or `max-size=10m,max-file=3`), as docker and podman spell them. */
export function parseLogOpts(opts: string[]): LogOptions {
  const out: LogOptions = { maxSize: 0, maxFiles: 1 };
  for (const opt of opts.flatMap((o) => o.split(","))) {
    const [key, value] = [opt.slice(0, opt.indexOf("=")), opt.slice(opt.indexOf("=") + 1)];
    const bad = () => new RlError(`invalid --log-opt ${JSON.stringify(opt)}: use max-size=SIZE (10m, 512k) and max-file=N (1 or more)`);
    if (!opt.includes("=")) throw bad();
    if (key === "max-size") {
      const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(value);
      const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
      if (!m || unit === undefined) throw bad();
      out.maxSize = Math.floor(Number(m[1]) * unit);
      if (out.maxSize < 1) throw bad();
    } else if (key === "max-file") {
      if (!/^[1-9]\d{0,3}$/.test(value)) throw bad();
      out.maxFiles = Number(value);
    } else throw new RlError(`unsupported --log-opt ${JSON.stringify(key)}: rl knows max-size and max-file`);
  }
  return out;
}
