import { capMask } from "../security/capabilities";
import { MS } from "../sys/clone-flags";
import type { Op } from "../sys/ops";
import { inheritedHostname } from "./outer-container";
import type { Spec } from "./spec";
import { RLIMIT_NUMBER } from "./process-options";

/** bind-propagation values past the default (private), as mount(2) flags: MS_SHARED, MS_SLAVE, MS_REC. */
const PROPAGATION: Record<string, number> = { shared: 1 << 20, rshared: (1 << 20) | MS.REC, slave: 1 << 19, rslave: (1 << 19) | MS.REC };

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
      case "rw": case "bind": case "rbind": case "private": case "rprivate": break;
      default: data.push(o);
    }
  }
  return { flags, data };
}

/**
 * Turn a runtime spec into the executor's setup steps, after `rootOps` made spec.root.path the
 * container's root. Mount order as measured in DESIGN.md: proc, /dev, devpts, shm, mqueue, sys, then
 * the user's mounts, then pivot_root. `seccomp`: the compiled program of spec.linux.seccomp.
 * `becomeRoot`: the process starts as another id than 0 (--userns=keep-id, nomap) and switches once it
 * holds the root and the bind sources (see hostSourcesFirst).
 */
export function planOps(spec: Spec, rootOps: Op[], o: { interactive: boolean; init: boolean; seccomp?: Uint8Array; becomeRoot?: boolean }): Op[] {
  const has = (t: Spec["linux"]["namespaces"][number]["type"]) => spec.linux.namespaces.some((n) => n.type === t);
  const keepGroups = spec.annotations["run.oci.keep_original_groups"] === "1";
  const ops: Op[] = [{ op: "mount", src: "", target: "/", fstype: "", flags: MS.REC | MS.PRIVATE, data: "" }, ...rootOps];
  ops.push({ op: "setRoot", path: spec.root.path });
  const setupStart = ops.length;
  for (const m of spec.mounts) {
    const { flags, data } = mountFlags(m.options);
    if (m.type === "bind") {
      ops.push({ op: "bindIn", src: m.source, target: m.destination, flags, recursive: m.options.includes("rbind") });
      const propagation = m.options.find((opt) => Object.hasOwn(PROPAGATION, opt));
      if (propagation) ops.push({ op: "mountIn", src: "", target: m.destination, fstype: "", flags: PROPAGATION[propagation]!, data: "" });
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
  // Before /proc/sys turns read-only.
  for (const [key, value] of Object.entries(spec.linux.sysctl ?? {})) ops.push({ op: "sysctlIn", key, value });
  for (const p of spec.linux.maskedPaths) ops.push({ op: "maskIn", path: p });
  for (const p of spec.linux.readonlyPaths) ops.push({ op: "readonlyIn", path: p, optional: true });
  if (spec.root.readonly) ops.push({ op: "remountReadOnlyIn", path: "/" });
  if (has("uts") && !inheritedHostname(spec.hostname)) ops.push({ op: "hostname", name: spec.hostname });
  if (has("network")) ops.push({ op: "loopbackUp" });
  ops.push({ op: "mkdirIn", path: spec.process.cwd, mode: 0o755, optional: spec.root.readonly });
  ops.push({ op: "pivot" });
  ops.push(...processOps(spec.process, { interactive: o.interactive, fork: o.init ? "init" : undefined, seccomp: o.seccomp, keepGroups }));
  if (o.becomeRoot) ops.splice(setupStart, 0, ...hostSourcesFirst(ops.slice(setupStart)));
  return ops;
}

/** How a process starts once set up (see processOps). */
export interface ProcessStart {
  interactive: boolean;
  /**
   * init: fork a tiny init that forwards signals and exits as the workload does (--init; for exec, the
   * process that stays outside the container's pid namespace). detach: fork and leave the workload to
   * the container (exec -d).
   */
  fork?: "init" | "detach";
  /** The compiled program of the process's seccomp profile. */
  seccomp?: Uint8Array;
  /** --group-add keep-groups: the supplementary groups stay rl's. */
  keepGroups: boolean;
}

/**
 * A process's own setup, in the container's root: working directory, umask, limits, no_new_privs,
 * seccomp, capabilities, user, stdio, then the exec. The container's first process and exec's both.
 */
export function processOps(proc: Spec["process"], o: ProcessStart): Op[] {
  const ops: Op[] = [{ op: "chdir", path: proc.cwd }, { op: "umask", mask: proc.user.umask ?? 0o022 }];
  for (const r of proc.rlimits ?? []) ops.push({ op: "rlimit", resource: RLIMIT_NUMBER[r.type]!, name: r.type, soft: r.soft, hard: r.hard });
  if (proc.noNewPrivileges) ops.push({ op: "noNewPrivs" });
  // Before the capabilities go: without no_new_privs the kernel wants CAP_SYS_ADMIN for it. The ops
  // after it run under the filter: they may only make syscalls the default profile allows.
  if (o.seccomp) ops.push({ op: "seccomp", program: o.seccomp });
  const { uid, gid, additionalGids } = proc.user;
  const caps = proc.capabilities;
  ops.push({ op: "dropCaps", keep: capMask(caps.bounding), staysRoot: uid === 0, ambient: capMask(caps.ambient) });
  ops.push({ op: "user", uid, gid, groups: additionalGids, keepGroups: o.keepGroups });
  // Before the fork, so that no process of the container keeps rl's stdin, nor (for a terminal of its
  // own, or none) rl's fds 0-2; the fork comes after the user switch, so that the init runs with the
  // workload's user, capabilities and filter (as catatonit).
  if (proc.terminal || o.fork === "detach") ops.push({ op: "nullStdio" });
  else if (!o.interactive) ops.push({ op: "stdinNull" });
  if (o.fork) ops.push({ op: o.fork });
  if (proc.terminal) ops.push({ op: "console" });
  ops.push({ op: "exec", argv: proc.args, env: proc.env });
  return ops;
}

/** First descriptor number for bind sources opened before the switch to root. */
const SOURCE_FDS = 200;

/**
 * The ops that switch a process that is not the container's root (keep-id: the user's uid; nomap: an
 * unmapped id) to root before it sets the container up, after opening every bind source: as the
 * container's root it may not enter the user's own 0700 directories (under nomap it is a subordinate
 * id), while as an unmapped id it could not create files on the container's tmpfs (EOVERFLOW). The
 * binds then take their sources from /proc/self/fd, which no directory's permissions stand in front of.
 */
function hostSourcesFirst(setup: Op[]): Op[] {
  const out: Op[] = [];
  for (const op of setup) {
    if (op.op !== "bindIn") continue;
    const fd = SOURCE_FDS + out.length;
    out.push({ op: "openFd", path: op.src, fd });
    op.src = `/proc/self/fd/${fd}`;
  }
  out.push({ op: "user", uid: 0, gid: 0, groups: [], keepGroups: true });
  return out;
}
