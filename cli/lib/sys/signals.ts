import { RlError } from "../errors";

/** Linux's signal numbers (x86_64 and aarch64 agree on these). */
const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11, USR2: 12,
  PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19, TSTP: 20, TTIN: 21, TTOU: 22, URG: 23,
  XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28, IO: 29, POLL: 29, PWR: 30, SYS: 31,
};
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** A signal as docker and podman take it: KILL, SIGKILL, sigkill, 9, RTMIN+3. */
export function parseSignal(text: string): number {
  const t = text.trim().toUpperCase().replace(/^SIG/, "");
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n >= 1 && n <= SIGRTMAX) return n;
  } else if (Object.hasOwn(SIGNALS, t)) return SIGNALS[t]!;
  const rt = /^RT(MIN|MAX)([+-]\d+)?$/.exec(t);
  if (rt) {
    const n = (rt[1] === "MIN" ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  throw new RlError(`invalid signal ${JSON.stringify(text)}: use a name (TERM, SIGKILL) or a number from 1 to ${SIGRTMAX}`);
}
