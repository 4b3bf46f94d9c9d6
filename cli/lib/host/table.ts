import { span } from "../security/idmap";
import type { Check } from "./check";
import type { HostInfo } from "./info";

type Row = [key: string, value: string];

/** "ok", "ok (detail)", or "<word>: reason". */
function state(c: Check & { note?: string | null }, detail = "", word = "missing"): string {
  if (!c.ok) return `${word}: ${c.reason ?? "unknown reason"}`;
  const extra = [detail, c.note ?? ""].filter(Boolean).join("; ");
  return extra ? `ok (${extra})` : "ok";
}

const ranges = (r: { start: number; count: number }[]) => (r.length ? r.map((x) => `${x.start}:${x.count}`).join(", ") : "none");

const triples = (t: [number, number, number][]) => t.map((x) => x.join(" ")).join(", ");
const idCount = (t: [number, number, number][]) => t.reduce((n, x) => n + x[2], 0);

/** Grouped, aligned "key: value" lines for people; `--format json` is for programs. */
export function formatHostInfo(i: HostInfo): string {
  const { storage: s, network: n, cgroups: c, idMapping: m } = i;
  const groups: [string, Row[]][] = [
    ["host", [
      ["kernel", i.host.kernel],
      ["os", i.host.os ?? "unknown"],
      ["platform", i.host.platform],
      ["bun", i.host.bun],
      ["rl runs from", i.start],
      ["containers start", i.containerStart],
      ["seccomp", state(i.seccomp, i.seccomp.ok ? `default filter for ${i.seccomp.arch}; kernel actions: ${i.seccomp.actions.join(" ")}` : "", "unavailable")],
    ]],
    ["user namespaces", [
      ["user namespaces", state(i.userNamespaces, "", "unavailable")],
      ["user", `${m.user} (uid ${m.uid}, gid ${m.gid})`],
      ["subuid", ranges(m.subuid)],
      ["subgid", ranges(m.subgid)],
      ["newuidmap", state(m.newuidmap, m.newuidmap.path ?? "")],
      ["newgidmap", state(m.newgidmap, m.newgidmap.path ?? "")],
      ["ids here", m.existing.uids.length === 1 && m.existing.uids[0]!.count === 4294967295 ? "all (the initial user namespace)" : `uids ${span(m.existing.uids)}; gids ${span(m.existing.gids)} (rl runs in a user namespace: a container?)`],
      ["id mapping", state(m, `container ids 0-${Math.min(idCount(m.uidMap), idCount(m.gidMap)) - 1}`, "partial")],
      ["uid map", triples(m.uidMap)],
      ["gid map", triples(m.gidMap)],
    ]],
    ["storage", [
      ["kernel overlayfs", state(s.overlay, "", "unavailable")],
      ["fuse-overlayfs", s.fuseOverlayfs.path ? state(s.fuseOverlayfs, [s.fuseOverlayfs.path, s.fuseOverlayfs.version].filter(Boolean).join(", ")) : state(s.fuseOverlayfs)],
      ["/dev/fuse", state(s.fuseOverlayfs.devFuse, "", "unusable")],
      ["driver", s.driver === "vfs" ? "vfs (plain copies: slow and large)" : s.driver],
      ["store log", i.storeLog],
    ]],
    ["digest", [
      ["sha256 native", `${i.digest.speeds.native} MB/s`],
      ["sha256 wasm", `${i.digest.speeds.wasm} MB/s`],
      ["sha256 engine", `${i.digest.engine} (${i.digest.forced ? "set by RL_DIGEST_ENGINE" : "the faster here"})`],
    ]],
    ["network", [
      ["slirp4netns", state(n.slirp4netns, n.slirp4netns.version ?? "")],
      ["/dev/net/tun", state(n.devNetTun, "", "unusable")],
    ]],
    ["cgroups", [
      ["version", c.version],
      ["cgroup", c.ownPath ?? "unknown"],
      ...(c.delegatedPath ? [["delegated", `${c.delegatedPath}${c.writable ? "" : " (not writable)"}`] as Row, ["controllers", c.controllers.join(" ") || "none"] as Row] : []),
      ["cgroup limits", state(c, "", "unavailable")],
    ]],
    ["paths", [
      ["storage", i.paths.data],
      ["runtime", i.paths.runtime],
    ]],
  ];
  const width = Math.max(...groups.flatMap(([, rows]) => rows.map(([k]) => k.length))) + 1;
  const lines: string[] = [];
  for (const [title, rows] of groups) {
    lines.push(`${title}:`);
    for (const [k, v] of rows) lines.push(`  ${`${k}:`.padEnd(width)} ${v}`);
  }
  return lines.join("\n");
}
