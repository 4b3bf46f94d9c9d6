import { capMask } from "../security/capabilities";
import { MS } from "./clone-flags";
import type { Op } from "./ops";
import { inheritedHostname } from "./outer-container";
import type { Spec } from "./spec";

const HOST_DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];

function mountFlags(options: string[]): { flags: number; data: string[] } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    switch (o) {
      case "ro": flags |= MS.RDONLY; break;
      case "nosuid": flags |= MS.NOSUID; break;
      case "nodev": flags |= MS.NODEV; break;
      case "noexec": flags |= MS.NOEXEC; break;
      case "strictatime": flags |= MS.STRICTATIME; break;
      case "rw": case "bind": case "rbind": case "private": break;
      default: data.push(o);
    }
  }
  return { flags, data };
}

/**
 * Turn a runtime spec into the executor's setup steps, after `rootOps` made spec.root.path the
 * container's root. Mount order as measured in DESIGN.md: proc, /dev, devpts, shm, mqueue, sys, then
 * the user's mounts, then pivot_root.
 */
export function planOps(spec: Spec, rootOps: Op[], o: { interactive: boolean; init: boolean }): Op[] {
  const has = (t: Spec["linux"]["namespaces"][number]["type"]) => spec.linux.namespaces.some((n) => n.type === t);
  const ops: Op[] = [{ op: "mount", src: "", target: "/", fstype: "", flags: MS.REC | MS.PRIVATE, data: "" }, ...rootOps];
  ops.push({ op: "setRoot", path: spec.root.path });
  for (const m of spec.mounts) {
    const { flags, data } = mountFlags(m.options);
    if (m.type === "bind") {
      ops.push({ op: "bindIn", src: m.source, target: m.destination, flags, recursive: m.options.includes("rbind") });
    } else if (m.type === "sysfs") {
      ops.push({ op: "sysfsIn", path: m.destination });
    } else {
      ops.push({ op: "mountIn", src: m.source, target: m.destination, fstype: m.type, flags, data: data.join(",") });
    }
    if (m.destination === "/dev") {
      for (const d of HOST_DEVICES) ops.push({ op: "bindIn", src: `/dev/${d}`, target: `/dev/${d}`, flags: 0, recursive: false });
      ops.push({ op: "symlinkIn", target: "/proc/self/fd", path: "/dev/fd" });
      ["stdin", "stdout", "stderr"].forEach((s, i) => ops.push({ op: "symlinkIn", target: `/proc/self/fd/${i}`, path: `/dev/${s}` }));
    }
    if (m.destination === "/dev/pts") ops.push({ op: "symlinkIn", target: "pts/ptmx", path: "/dev/ptmx" });
  }
  for (const p of spec.linux.maskedPaths) ops.push({ op: "maskIn", path: p });
  for (const p of spec.linux.readonlyPaths) {
    ops.push({ op: "bindIn", src: `${spec.root.path}${p}`, target: p, flags: MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, recursive: true, optional: true });
  }
  if (spec.root.readonly) ops.push({ op: "remountReadOnlyIn", path: "/" });
  if (has("uts") && !inheritedHostname(spec.hostname)) ops.push({ op: "hostname", name: spec.hostname });
  if (has("network")) ops.push({ op: "loopbackUp" });
  ops.push({ op: "mkdirIn", path: spec.process.cwd, mode: 0o755, optional: spec.root.readonly });
  ops.push({ op: "pivot" });
  ops.push({ op: "chdir", path: spec.process.cwd });
  ops.push({ op: "umask", mask: 0o022 });
  if (o.init) ops.push({ op: "init" });
  if (spec.process.terminal) ops.push({ op: "console" });
  else if (!o.interactive) ops.push({ op: "stdinNull" });
  const { uid, gid, additionalGids } = spec.process.user;
  ops.push({ op: "dropCaps", keep: capMask(spec.process.capabilities.bounding), staysRoot: uid === 0 });
  ops.push({ op: "user", uid, gid, groups: additionalGids });
  ops.push({ op: "exec", argv: spec.process.args, env: spec.process.env });
  return ops;
}
