/** Output helpers shared by the listing commands (ps, images, history, system df). */

export function ago(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s} seconds ago`;
  if (s < 3600) return `${Math.round(s / 60)} minutes ago`;
  if (s < 86400) return `${Math.round(s / 3600)} hours ago`;
  if (s < 14 * 86400) return `${Math.round(s / 86400)} days ago`;
  if (s < 60 * 86400) return `${Math.round(s / (7 * 86400))} weeks ago`;
  if (s < 730 * 86400) return `${Math.round(s / (30 * 86400))} months ago`;
  return `${Math.round(s / (365 * 86400))} years ago`;
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
