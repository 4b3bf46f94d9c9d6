import { RlError } from "../errors";

/**
 * A seccomp profile as docker and podman read it (`--security-opt seccomp=FILE`): rules may depend on
 * the container's capabilities, the architecture and the kernel (`includes`/`excludes`). The OCI
 * runtime spec's `linux.seccomp` is the same without those conditions: resolveProfile turns the
 * first into the second for one container.
 */
export interface SeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures: string[] | null }[];
  syscalls?: SeccompRule[];
}

export interface SeccompRule {
  names?: string[];
  /** docker's older form: one name per rule. */
  name?: string;
  action: string;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  includes?: RuleFilter;
  excludes?: RuleFilter;
  comment?: string;
}

export interface SeccompArg {
  index: number;
  value: number | bigint;
  valueTwo?: number | bigint;
  op: string;
}

interface RuleFilter {
  caps?: string[];
  arches?: string[];
  minKernel?: string;
}

/** The OCI runtime spec's linux.seccomp: what rl compiles and records in config.json. */
export interface LinuxSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: { names: string[]; action: string; errnoRet?: number; args?: { index: number; value: number; valueTwo: number; op: string }[] }[];
}

export type SeccompArch = "x86_64" | "aarch64";

/** The architecture rl runs on, as seccomp names it; undefined where rl has no syscall table for it. */
export function hostSeccompArch(): SeccompArch | undefined {
  return process.arch === "x64" ? "x86_64" : process.arch === "arm64" ? "aarch64" : undefined;
}

/** Go's architecture names (docker's `includes.arches`) and libseccomp's, per architecture. */
const ARCH_NAMES: Record<SeccompArch, { go: string; scmp: string }> = {
  x86_64: { go: "amd64", scmp: "SCMP_ARCH_X86_64" },
  aarch64: { go: "arm64", scmp: "SCMP_ARCH_AARCH64" },
};

export const ACTIONS = ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG"];
export const COMPARISONS = ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"];

function checkAction(action: unknown, where: string): void {
  if (action === "SCMP_ACT_NOTIFY") throw new RlError(`${where}: SCMP_ACT_NOTIFY needs a seccomp agent, which rl does not run`);
  if (typeof action !== "string" || !ACTIONS.includes(action)) throw new RlError(`${where}: unknown action ${JSON.stringify(action)}`);
}

/** Checks a parsed profile's shape (a user's file): one clear error for the first thing wrong. */
export function validateProfile(p: unknown): SeccompProfile {
  if (typeof p !== "object" || p === null || Array.isArray(p)) throw new RlError("the profile is not a JSON object");
  const prof = p as SeccompProfile;
  checkAction(prof.defaultAction, "defaultAction");
  const checkErrno = (v: unknown, where: string) => {
    if (v !== undefined && v !== null && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 4095)) throw new RlError(`${where}: an errno must be a number from 0 to 4095`);
  };
  checkErrno(prof.defaultErrnoRet, "defaultErrnoRet");
  if (prof.syscalls !== undefined && prof.syscalls !== null && !Array.isArray(prof.syscalls)) throw new RlError("syscalls is not a list");
  (prof.syscalls ?? []).forEach((r, i) => {
    const where = `syscalls[${i}]`;
    if (typeof r !== "object" || r === null) throw new RlError(`${where} is not an object`);
    const names = r.names ?? (r.name !== undefined ? [r.name] : undefined);
    if (!Array.isArray(names) || !names.every((n) => typeof n === "string")) throw new RlError(`${where}: names must be a list of syscall names`);
    checkAction(r.action, where);
    checkErrno(r.errnoRet, where);
    for (const a of r.args ?? []) {
      if (typeof a !== "object" || a === null || !Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw new RlError(`${where}: an argument index must be 0 to 5`);
      if (!COMPARISONS.includes(a.op)) throw new RlError(`${where}: unknown comparison ${JSON.stringify(a.op)}`);
      for (const v of [a.value, a.valueTwo ?? 0]) {
        if (!(typeof v === "bigint" || (Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER))) throw new RlError(`${where}: argument values must be unsigned integers`);
      }
    }
    if ((r.args?.length ?? 0) > 6) throw new RlError(`${where}: more than 6 argument conditions`);
  });
  return prof;
}

/** "6.18.44-fc" → [6, 18]. */
function kernelAtLeast(kernel: string, min: string): boolean {
  const [a = 0, b = 0] = kernel.split(/[.-]/).map(Number);
  const [x = 0, y = 0] = min.split(".").map(Number);
  return a > x || (a === x && b >= y);
}

/**
 * The rules that apply to one container: docker's semantics for includes (all of its caps held, one
 * of its arches, kernel at least minKernel) and excludes (none of its caps, none of its arches).
 */
export function resolveProfile(p: SeccompProfile, o: { caps: string[]; arch: SeccompArch; kernel: string }): LinuxSeccomp {
  const caps = new Set(o.caps);
  const go = ARCH_NAMES[o.arch].go;
  const applies = (r: SeccompRule) => {
    const inc = r.includes ?? {}, exc = r.excludes ?? {};
    if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) return false;
    if (inc.arches?.length && !inc.arches.includes(go)) return false;
    if (inc.minKernel && !kernelAtLeast(o.kernel, inc.minKernel)) return false;
    if (exc.caps?.some((c) => caps.has(c))) return false;
    if (exc.arches?.includes(go)) return false;
    return true;
  };
  const out: LinuxSeccomp = { defaultAction: p.defaultAction, architectures: [ARCH_NAMES[o.arch].scmp], syscalls: [] };
  if (p.defaultErrnoRet !== undefined) out.defaultErrnoRet = p.defaultErrnoRet;
  for (const r of p.syscalls ?? []) {
    if (!applies(r)) continue;
    const rule: LinuxSeccomp["syscalls"][number] = { names: r.names ?? [r.name!], action: r.action };
    if (r.errnoRet !== undefined) rule.errnoRet = r.errnoRet;
    if (r.args?.length) rule.args = r.args.map((a) => ({ index: a.index, value: Number(a.value), valueTwo: Number(a.valueTwo ?? 0), op: a.op }));
    out.syscalls.push(rule);
  }
  return out;
}
