import { RlError } from "../errors";

/** What `--security-opt` asked for (podman's syntax: `KEY=VALUE`, or docker's older `KEY:VALUE`). */
export interface SecurityOpts {
  /** "default", "unconfined", or a profile file. */
  seccomp: string;
  noNewPrivileges: boolean;
  /** Paths to mask besides the default ones. */
  mask: string[];
  /** Paths (globs allowed) to take out of the masked and read-only ones; "ALL" for every one. */
  unmask: string[];
}

/** Options rl accepts and ignores: it applies no SELinux label and no AppArmor profile. */
const IGNORED = new Set(["label=disable", "apparmor=unconfined"]);

export function parseSecurityOpts(opts: string[]): SecurityOpts {
  const out: SecurityOpts = { seccomp: "default", noNewPrivileges: false, mask: [], unmask: [] };
  for (const raw of opts) {
    const m = /^([a-z-]+)(?:[=:](.*))?$/s.exec(raw);
    const key = m?.[1], value = m?.[2];
    if (IGNORED.has(`${key}=${value}`)) continue;
    const paths = () => {
      const list = (value ?? "").split(":").filter(Boolean);
      if (!list.length) throw new RlError(`invalid --security-opt ${JSON.stringify(raw)}: give ${key}=PATH[:PATH...]`);
      return list;
    };
    switch (key) {
      case "seccomp":
        if (!value) throw new RlError(`invalid --security-opt ${JSON.stringify(raw)}: give seccomp=unconfined or seccomp=PROFILE.json`);
        out.seccomp = value;
        break;
      case "no-new-privileges":
        if (value !== undefined && value !== "true" && value !== "false") throw new RlError(`invalid --security-opt ${JSON.stringify(raw)}: no-new-privileges takes true or false`);
        out.noNewPrivileges = value !== "false";
        break;
      case "mask":
        for (const p of paths()) {
          if (!p.startsWith("/")) throw new RlError(`invalid --security-opt ${JSON.stringify(raw)}: ${p} is not an absolute path`);
          out.mask.push(p);
        }
        break;
      case "unmask":
        out.unmask.push(...paths());
        break;
      default:
        throw new RlError(`unsupported --security-opt ${JSON.stringify(raw)}: rl knows seccomp=, no-new-privileges, mask=, unmask= (and ignores label=disable, apparmor=unconfined)`);
    }
  }
  return out;
}
