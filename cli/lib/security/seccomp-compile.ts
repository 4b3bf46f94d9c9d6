import { compileSeccomp, type BpfPolicy, type BpfRule } from "../../../core-as/index";
import { RlError } from "../errors";
import { COMPARISONS, type LinuxSeccomp, type SeccompArch } from "./seccomp-profile";
import { syscallTable } from "./syscalls";

const AUDIT_ARCH: Record<SeccompArch, number> = { x86_64: 0xc000003e, aarch64: 0xc00000b7 };
/** x32's syscalls reach the x86_64 entry point with this bit set: refused like a foreign architecture. */
const X32_SYSCALL_BIT = 0x40000000;
const EPERM = 1;
const ENOSYS = 38;

/** SECCOMP_RET_* for an action; `errno` for ERRNO and TRACE (EPERM when the profile gives none, as runc). */
export function actionValue(action: string, errno: number | undefined): number {
  const data = (errno ?? EPERM) & 0xffff;
  switch (action) {
    case "SCMP_ACT_KILL":
    case "SCMP_ACT_KILL_THREAD": return 0;
    case "SCMP_ACT_KILL_PROCESS": return 0x80000000;
    case "SCMP_ACT_TRAP": return 0x00030000;
    case "SCMP_ACT_ERRNO": return 0x00050000 | data;
    case "SCMP_ACT_TRACE": return 0x7ff00000 | data;
    case "SCMP_ACT_LOG": return 0x7ffc0000;
    case "SCMP_ACT_ALLOW": return 0x7fff0000;
  }
  throw new RlError(`unknown seccomp action ${JSON.stringify(action)}`);
}

/**
 * Compile a resolved profile for one architecture into the BPF program the executor loads. Names the
 * architecture does not have are skipped (profiles name syscalls of every architecture), as runc does.
 * A syscall the table does not name gets ENOSYS when the profile refuses by errno (libc then falls
 * back to an older call), else the default action; a foreign architecture or x32 kills the process.
 */
export function compileProfile(s: LinuxSeccomp, arch: SeccompArch): Uint8Array {
  const table = syscallTable(arch);
  const defaultAction = actionValue(s.defaultAction, s.defaultErrnoRet);
  const rules: BpfRule[] = [];
  for (const r of s.syscalls) {
    const action = actionValue(r.action, r.errnoRet);
    const args = (r.args ?? []).map((a) => ({ index: a.index, op: COMPARISONS.indexOf(a.op) + 1, value: BigInt(a.value), valueTwo: BigInt(a.valueTwo ?? 0) }));
    for (const name of r.names) {
      const nr = table.get(name);
      if (nr !== undefined) rules.push({ nr, action, args });
    }
  }
  const policy: BpfPolicy = {
    arch: AUDIT_ARCH[arch],
    badArchAction: 0x80000000,
    defaultAction,
    unknownAction: s.defaultAction === "SCMP_ACT_ERRNO" ? actionValue("SCMP_ACT_ERRNO", ENOSYS) : defaultAction,
    refuseFrom: arch === "x86_64" ? X32_SYSCALL_BIT : 0,
    known: [...table.values()],
    rules,
  };
  try {
    return compileSeccomp(policy);
  } catch (err) {
    throw new RlError((err as Error).message.replace(/^Cannot/, "cannot"));
  }
}
