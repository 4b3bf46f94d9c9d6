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
