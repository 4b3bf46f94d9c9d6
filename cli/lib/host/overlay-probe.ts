import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { messageOf } from "../errors";
import { paths } from "../paths";
import { CLONE, MS } from "../sys/clone-flags";
import { encodeOps, type Op } from "../sys/ops";
import { waitForExit } from "../sys/wait";
import { abortChild, releaseChild, spawnChild, START } from "../sys/executor";
import { strerror } from "../sys/errno";

/** What a real attempt says about user namespaces: null when the attempt never got that far. */
export interface UsernsEvidence {
  works: boolean | null;
  detail: string;
}

export interface OverlayProbe {
  userns: UsernsEvidence;
  /** true: mounted; false: the kernel refused (errno set); null: not tried. */
  mounted: boolean | null;
  errno: number | null;
  /** Where the probe's directories were made (the store's filesystem when possible). */
  dir: string | null;
}

const notTried = (detail: string): OverlayProbe => ({ userns: { works: null, detail }, mounted: null, errno: null, dir: null });

/** Index of each step in probeOps(): releaseChild reports which one failed. */
const STEP = { privateRoot: 0, overlay: 1, exec: 2 } as const;

function probeOps(dir: string): Op[] {
  const d = (name: string) => join(dir, name);
  return [
    { op: "mount", src: "", target: "/", fstype: "", flags: MS.REC | MS.PRIVATE, data: "" },
    {
      op: "mount", src: "overlay", target: d("merged"), fstype: "overlay", flags: 0,
      data: `lowerdir=${d("lower")},upperdir=${d("upper")},workdir=${d("work")},userxattr`,
    },
    { op: "exec", argv: ["/bin/true"], env: [] },
  ];
}

/** A probe directory on the store's filesystem (what layers will really sit on), else in /tmp. */
function makeProbeDir(): string {
  for (const base of [paths().tmp, tmpdir()]) {
    try {
      mkdirSync(base, { recursive: true, mode: 0o700 });
      const dir = mkdtempSync(join(base, "probe-overlay-"));
      for (const sub of ["lower", "upper", "work", "merged"]) mkdirSync(join(dir, sub));
      return dir;
    } catch {}
  }
  throw new Error(`Cannot create a probe directory under ${paths().tmp} or ${tmpdir()}`);
}

function removeProbeDir(dir: string): void {
  // The kernel leaves work/work behind with mode 000.
  try {
    chmodSync(join(dir, "work/work"), 0o700);
  } catch {}
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Only the user's own id, mapped to root: enough to mount, and it needs neither newuidmap nor
 * subordinate ids, so this probe answers for the kernel alone.
 */
function mapSelfAsRoot(pid: number): void {
  writeFileSync(`/proc/${pid}/uid_map`, `0 ${process.getuid!()} 1\n`);
  writeFileSync(`/proc/${pid}/setgroups`, "deny\n");
  writeFileSync(`/proc/${pid}/gid_map`, `0 ${process.getgid!()} 1\n`);
}

/** Really mount kernel overlayfs (with userxattr) in a new user + mount namespace, then clean up. */
export async function probeKernelOverlay(): Promise<OverlayProbe> {
  let dir: string;
  try {
    dir = makeProbeDir();
  } catch (err) {
    return notTried(messageOf(err));
  }
  try {
    return { ...(await runProbe(dir)), dir };
  } finally {
    try {
      removeProbeDir(dir);
    } catch {}
  }
}

async function runProbe(dir: string): Promise<Omit<OverlayProbe, "dir">> {
  let child;
  try {
    child = spawnChild(CLONE.NEWUSER | CLONE.NEWNS, false);
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    const detail = errno ? `clone(CLONE_NEWUSER) failed: ${strerror(errno)}` : messageOf(err);
    return { userns: { works: false, detail }, mounted: null, errno: null };
  }
  try {
    mapSelfAsRoot(child.pid);
  } catch (err) {
    abortChild(child);
    await waitForExit(child.pid);
    return { userns: { works: false, detail: `Cannot write the id map: ${messageOf(err)}` }, mounted: null, errno: null };
  }
  const exited = waitForExit(child.pid);
  const r = releaseChild(child, encodeOps(probeOps(dir)));
  await exited;
  if (r.failedOp === START.execed || r.failedOp === STEP.exec) return { userns: { works: true, detail: "" }, mounted: true, errno: null };
  if (r.failedOp === STEP.overlay) return { userns: { works: true, detail: "" }, mounted: false, errno: r.errno };
  if (r.failedOp === STEP.privateRoot) {
    return { userns: { works: false, detail: `mount in a new user namespace failed: ${strerror(r.errno)}` }, mounted: null, errno: null };
  }
  return { userns: { works: null, detail: "the probe process could not be started" }, mounted: null, errno: null };
}
