import type { SeccompArch } from "./seccomp-profile";
import { AARCH64_SYSCALLS, X86_64_SYSCALLS } from "./syscall-table";

const tables = new Map<SeccompArch, Map<string, number>>();

/** Syscall name → number on an architecture (the kernel's uapi table, see gen-syscall-table.ts). */
export function syscallTable(arch: SeccompArch): Map<string, number> {
  let t = tables.get(arch);
  if (!t) {
    t = new Map();
    for (const line of arch === "x86_64" ? X86_64_SYSCALLS : AARCH64_SYSCALLS) {
      const f = line.split(" ");
      for (let i = 0; i < f.length; i += 2) t.set(f[i]!, Number(f[i + 1]));
    }
    tables.set(arch, t);
  }
  return t;
}
