import { closeSync, openSync, readSync } from "node:fs";

/** Where --init's binary appears in the container (/dev is the container's own tmpfs, always writable). */
export const INIT_PATH = "/dev/init";

const CANDIDATES = ["catatonit", "/usr/libexec/podman/catatonit", "tini-static", "docker-init"];

/** A statically linked ELF runs in any image; a dynamic one would need the host's libc inside. */
export function isStaticElf(path: string): boolean {
  const head = new Uint8Array(4096);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return false;
  }
  try {
    const n = readSync(fd, head, 0, head.length, 0);
    const v = new DataView(head.buffer, 0, n);
    if (n < 64 || v.getUint32(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return false; // ELF64 LE
    const phoff = Number(v.getBigUint64(32, true)), phentsize = v.getUint16(54, true), phnum = v.getUint16(56, true);
    if (phoff + phentsize * phnum > n) return false;
    for (let i = 0; i < phnum; i++) if (v.getUint32(phoff + i * phentsize, true) === 3) return false; // PT_INTERP
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * The host's init for --init, as podman uses it: catatonit (or tini), bound into the container as
 * PID 1 so `ps` shows a real init. Undefined when there is none that is static: rl's executor then
 * forks its own init.
 */
export function hostInitBinary(): string | undefined {
  const found = process.env.RL_INIT_BINARY !== undefined ? [process.env.RL_INIT_BINARY] : CANDIDATES.map((c) => (c.startsWith("/") ? c : Bun.which(c)));
  return found.find((p): p is string => Boolean(p) && isStaticElf(p!));
}
