import { RlError } from "../errors";

const NAMES = [
  "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
  "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
  "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
  "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
  "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
  "CHECKPOINT_RESTORE",
];

export function capNumber(name: string): number {
  const n = NAMES.indexOf(name.toUpperCase().replace(/^CAP_/, ""));
  if (n < 0) throw new RlError(`unknown capability ${JSON.stringify(name)}`);
  return n;
}

/** The capabilities of a mask (as /proc/PID/status shows them in hex), without CAP_, sorted; then the bits rl has no name for, as numbers. */
export function capNames(mask: bigint): string[] {
  const set = (bit: number) => ((mask >> BigInt(bit)) & 1n) === 1n;
  const unnamed = Array.from({ length: 64 - NAMES.length }, (_, i) => NAMES.length + i).filter(set);
  return [...NAMES.filter((_, bit) => set(bit)).sort(), ...unnamed.map(String)];
}

export function allCaps(): string[] {
  return NAMES.map((n) => `CAP_${n}`);
}

export function capMask(names: string[]): bigint {
  return names.reduce((m, n) => m | (1n << BigInt(capNumber(n))), 0n);
}

/** Apply --cap-add / --cap-drop (ALL allowed) to a base set. */
export function adjustCaps(base: string[], add: string[], drop: string[]): string[] {
  const norm = (n: string) => `CAP_${n.toUpperCase().replace(/^CAP_/, "")}`;
  let set = new Set(base.map(norm));
  if (drop.some((d) => d.toUpperCase() === "ALL")) set = new Set();
  else
    for (const d of drop) {
      capNumber(d);
      set.delete(norm(d));
    }
  if (add.some((a) => a.toUpperCase() === "ALL")) return allCaps();
  for (const a of add) {
    capNumber(a);
    set.add(norm(a));
  }
  return [...set];
}
