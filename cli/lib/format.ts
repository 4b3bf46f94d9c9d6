/** Output helpers shared by the listing commands (ps, images, history, system df). */

/** How long ago, in the words podman and docker use ("Less than a second ago", "About a minute ago", "3 days ago"). */
export function ago(ms: number): string {
  return `${duration(Math.max(0, Date.now() - ms))} ago`;
}

/** podman's STATUS of a running container: "Up 3 minutes" (since it started). */
export function upFor(since: number): string {
  return `Up ${duration(Math.max(0, Date.now() - since))}`;
}

/** A duration in podman's words ("Less than a second", "About a minute", "3 hours"). */
export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return "Less than a second";
  if (s === 1) return "1 second";
  if (s < 60) return `${s} seconds`;
  const m = Math.floor(s / 60);
  if (m === 1) return "About a minute";
  if (m < 60) return `${m} minutes`;
  const h = Math.round(s / 3600);
  if (h === 1) return "About an hour";
  if (h < 48) return `${h} hours`;
  if (h < 24 * 14) return `${Math.floor(h / 24)} days`;
  if (h < 24 * 60) return `${Math.floor(h / (24 * 7))} weeks`;
  if (h < 24 * 730) return `${Math.floor(h / (24 * 30))} months`;
  return `${Math.floor(s / (3600 * 24 * 365))} years`;
}

/** Sizes as podman prints them: decimal units, 3 significant digits ("7.62 MB"). */
export function humanSize(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = bytes;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v : Number(v.toPrecision(3))} ${units[u]}`;
}

/** Left-aligned columns two spaces apart, the first row being the header. */
export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]! + 2) : c)).join("").trimEnd()).join("\n");
}

/** A short id as docker and podman print it: 12 hex digits. */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

const DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

function goUnits(bytes: number, base: number, units: string[]): string {
  let v = bytes;
  let u = 0;
  while (v >= base && u < units.length - 1) {
    v /= base;
    u++;
  }
  return `${Number(v.toPrecision(4))}${units[u]}`;
}

/** Sizes as podman stats prints them (go-units HumanSize): decimal, 4 significant digits, no space ("3.092MB"). */
export const goHumanSize = (bytes: number) => goUnits(bytes, 1000, DECIMAL);

/** go-units BytesSize: binary units, 4 significant digits ("64MiB"). */
export const goBytesSize = (bytes: number) => goUnits(bytes, 1024, BINARY);

/** `whole.fraction` of v/div, the fraction's trailing zeros dropped, as Go prints a duration's last unit. */
function decimal(v: bigint, div: bigint): string {
  const rest = v % div;
  if (!rest) return String(v / div);
  return `${v / div}.${String(rest).padStart(String(div).length - 1, "0").replace(/0+$/, "")}`;
}

/** A duration as Go's time.Duration prints it: "4.933ms", "1m39.5s", "2h0m0s". */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  if (ns < 0n) return `-${goDuration(-ns)}`;
  if (ns < 1000n) return `${ns}ns`;
  if (ns < 1_000_000n) return `${decimal(ns, 1000n)}µs`;
  if (ns < 1_000_000_000n) return `${decimal(ns, 1_000_000n)}ms`;
  const h = ns / 3_600_000_000_000n;
  const m = (ns / 60_000_000_000n) % 60n;
  return `${h ? `${h}h` : ""}${h || m ? `${m}m` : ""}${decimal(ns % 60_000_000_000n, 1_000_000_000n)}s`;
}

/** A Go duration as docker's flags take it (1h30m, 10m, 45s, 500ms, 1.5s), in milliseconds; undefined if it is none. */
export function parseDurationMs(text: string): number | undefined {
  const d = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(text);
  if (!d || !text) return undefined;
  return Math.round((Number(d[1] ?? 0) * 3600 + Number(d[2] ?? 0) * 60 + Number(d[3] ?? 0)) * 1000 + Number(d[4] ?? 0));
}
