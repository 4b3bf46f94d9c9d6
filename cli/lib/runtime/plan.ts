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
 * the user's mounts, then pivot_root. `seccomp`: the compiled program of spec.linux.seccomp.
 */
export function planOps(spec: Spec, rootOps: Op[], o: { interactive: boolean; init: boolean; seccomp?: Uint8Array }): Op[] {
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
    // rl's own /dev and devpts only: a bind the user asked for is not filled with device placeholders.
    if (m.destination === "/dev" && m.type === "tmpfs") {
      for (const d of HOST_DEVICES) ops.push({ op: "bindIn", src: `/dev/${d}`, target: `/dev/${d}`, flags: 0, recursive: false });
      ops.push({ op: "symlinkIn", target: "/proc/self/fd", path: "/dev/fd" });
      ["stdin", "stdout", "stderr"].forEach((s, i) => ops.push({ op: "symlinkIn", target: `/proc/self/fd/${i}`, path: `/dev/${s}` }));
    }
    if (m.destination === "/dev/pts" && m.type === "devpts") ops.push({ op: "symlinkIn", target: "pts/ptmx", path: "/dev/ptmx" });
  }
  for (const p of spec.linux.maskedPaths) ops.push({ op: "maskIn", path: p });
  for (const p of spec.linux.readonlyPaths) ops.push({ op: "readonlyIn", path: p, optional: true });
  if (spec.root.readonly) ops.push({ op: "remountReadOnlyIn", path: "/" });
  if (has("uts") && !inheritedHostname(spec.hostname)) ops.push({ op: "hostname", name: spec.hostname });
  if (has("network")) ops.push({ op: "loopbackUp" });
  ops.push({ op: "mkdirIn", path: spec.process.cwd, mode: 0o755, optional: spec.root.readonly });
  ops.push({ op: "pivot" });
  ops.push({ op: "chdir", path: spec.process.cwd });
  ops.push({ op: "umask", mask: 0o022 });
  if (spec.process.noNewPrivileges) ops.push({ op: "noNewPrivs" });
  // Before the capabilities go: without no_new_privs the kernel wants CAP_SYS_ADMIN for it. The ops
  // after it run under the filter: they may only make syscalls the default profile allows.
  if (o.seccomp) ops.push({ op: "seccomp", program: o.seccomp });
  const { uid, gid, additionalGids } = spec.process.user;
  const caps = spec.process.capabilities;
  ops.push({ op: "dropCaps", keep: capMask(caps.bounding), staysRoot: uid === 0, ambient: capMask(caps.ambient) });
  ops.push({ op: "user", uid, gid, groups: additionalGids });
  // Before init, so that no process of the container keeps rl's stdin; init forks after the user switch,
  // so that it runs with the workload's user, capabilities and filter (as catatonit).
  if (!spec.process.terminal && !o.interactive) ops.push({ op: "stdinNull" });
  if (o.init) ops.push({ op: "init" });
  if (spec.process.terminal) ops.push({ op: "console" });
  ops.push({ op: "exec", argv: spec.process.args, env: spec.process.env });
  return ops;
}
