import { errnoName, strerror } from "../sys/errno";
import { kernelAtLeast } from "./kernel-version";
import type { OverlayProbe } from "./overlay-probe";

export interface OverlayInfo {
  ok: boolean;
  reason: string | null;
  /** The mount's error name (EINVAL, EPERM…) when the kernel refused it. */
  errno: string | null;
  /** Directory the probe mounted in (removed afterwards). */
  testedIn: string | null;
}

const FALLBACK = "rl falls back to fuse-overlayfs (Debian/Ubuntu: apt install fuse-overlayfs)";

function hint(errno: string, dir: string): string {
  switch (errno) {
    case "ENODEV": return "the overlay module is not loaded (sudo modprobe overlay)";
    case "ENOTSUP":
    case "EOPNOTSUPP": return `the filesystem of ${dir} does not support user.* xattrs`;
    case "EPERM": return "this kernel does not allow overlayfs in a user namespace";
    case "EINVAL": return `the kernel rejected the options (userxattr needs Linux 5.11), or the filesystem of ${dir} cannot hold an overlay upper directory`;
    default: return "";
  }
}

export function overlayInfo(p: OverlayProbe, kernel: string): OverlayInfo {
  const base = { ok: false, reason: null, errno: null, testedIn: p.dir };
  if (p.mounted) return { ...base, ok: true, reason: null };
  if (p.mounted === null) {
    const why = p.userns.works === false ? "user namespaces are unusable" : p.userns.detail;
    return { ...base, ok: false, reason: `not tested: ${why}; ${FALLBACK}` };
  }
  const name = errnoName(p.errno ?? 0);
  const old = kernelAtLeast(kernel, 5, 11) === false ? `Linux ${kernel} is older than 5.11, the first with overlayfs in user namespaces` : "";
  const why = old || hint(name, p.dir ?? "the store");
  return {
    ...base,
    ok: false,
    errno: name,
    reason: `mounting overlayfs in a user namespace failed: ${strerror(p.errno ?? 0)}${why ? ` (${why})` : ""}; ${FALLBACK}`,
  };
}
