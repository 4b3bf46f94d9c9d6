import { readFileSync } from "node:fs";
import { hostname as outerHostname } from "node:os";
import { warnOnce } from "../log";
import { writeSingleMapping } from "../security/idmap";
import { abortChild, releaseChild, spawnChild } from "../sys/executor";
import { CLONE } from "../sys/clone-flags";
import { encodeOps, type Op } from "../sys/ops";
import { waitForExit } from "../sys/wait";

// What the container rl itself runs in (a CI job, a devcontainer, a toolbox) refuses, and the flag of
// that outer container which lifts it: rl cannot lift these from inside.

const EPERM = 1;

const read = (path: string): string => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
};

/**
 * Mounts on paths under /proc (podman's and docker's masks: /proc/kcore on /dev/null, /proc/acpi a
 * tmpfs, /proc/sys read-only...). The kernel refuses a new proc mount in a user namespace while the
 * proc it would reveal has such mounts over files or non-empty directories.
 */
export function procOvermounts(mountinfo: string): string[] {
  const out: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const target = line.split(" ")[4];
    if (target?.startsWith("/proc/") && target !== "/proc/sys/fs/binfmt_misc") out.push(target.replace(/\\040/g, " "));
  }
  return out;
}

/** A seccomp filter on this process (the outer runtime's profile): "Seccomp: 2" in /proc/self/status. */
export function seccompFiltered(status: string): boolean {
  return /^Seccomp:\s*2$/m.test(status);
}

export const MASKED_PROC_HINT =
  "the container rl runs in masks paths under /proc, so the kernel refuses a new proc: run that container with " +
  "--security-opt unmask=/proc/* (podman) or --security-opt systempaths=unconfined (docker)";

export const HOSTNAME_HINT =
  "the seccomp filter of the container rl runs in refuses sethostname (podman's default profile allows it only with CAP_SYS_ADMIN): " +
  "run that container with --security-opt seccomp=unconfined";

/** Why an op failed when the outer container is the cause, as " (cause: flag)"; "" otherwise. */
export function outerRefusal(op: Op, errno: number, files: { mountinfo: string; status: string } = { mountinfo: read("/proc/self/mountinfo"), status: read("/proc/self/status") }): string {
  if (errno !== EPERM) return "";
  if (op.op === "mountIn" && op.fstype === "proc" && procOvermounts(files.mountinfo).length) return `: ${MASKED_PROC_HINT}`;
  if (op.op === "hostname" && seccompFiltered(files.status)) return `: ${HOSTNAME_HINT}`;
  return "";
}

/** Whether sethostname works in a new user and UTS namespace: a real attempt in a throwaway child. */
async function sethostnameRefused(): Promise<boolean> {
  let child;
  try {
    child = spawnChild(CLONE.NEWUSER | CLONE.NEWUTS, false);
  } catch {
    return false; // no namespaces at all: the container's own start reports that
  }
  try {
    writeSingleMapping(child.pid, { uid: process.getuid!(), gid: process.getgid!() });
  } catch {
    abortChild(child);
    await waitForExit(child.pid);
    return false;
  }
  const exited = waitForExit(child.pid);
  const ops: Op[] = [{ op: "hostname", name: "rl-probe" }, { op: "exec", argv: ["/bin/true"], env: [] }];
  const r = releaseChild(child, encodeOps(ops));
  await exited;
  return r.failedOp === 0 && r.errno === EPERM;
}

/**
 * The container's hostname. When rl runs under a seccomp filter that refuses sethostname and no
 * hostname was asked for, the container keeps the outer one (its UTS namespace is still its own),
 * with one warning, as podman keeps what it cannot set. An asked-for hostname is never dropped: the
 * hostname step then fails naming the flag.
 */
export async function containerHostname(asked: string | undefined, byDefault: string): Promise<string> {
  if (asked !== undefined || byDefault === outerHostname()) return asked ?? byDefault;
  if (!seccompFiltered(read("/proc/self/status")) || !(await sethostnameRefused())) return byDefault;
  const kept = outerHostname();
  warnOnce(`cannot set the container's hostname to ${byDefault}: ${HOSTNAME_HINT}; it keeps the hostname ${kept}`);
  return kept;
}

/** Setting the hostname a new UTS namespace already has is left out (it may be refused for nothing). */
export const inheritedHostname = (name: string): boolean => name === outerHostname();
