import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PACKAGE_ROOT } from "../package-root";
import { compileProfile } from "./seccomp-compile";
import type { LinuxSeccomp } from "./seccomp-profile";
import { AARCH64_SYSCALLS, X86_64_SYSCALLS } from "./syscall-table";
import { hostSeccompArch } from "./syscalls";

const CORE = join(PACKAGE_ROOT, "core-as", "build", "core.wasm");

/** What a compiled program depends on besides the profile: the compiler (the WASM core) and the tables. */
function compilerIdentity(): string {
  let core = "";
  try {
    const st = statSync(CORE);
    core = `${st.size}:${st.mtimeMs}`;
  } catch {}
  return `${core}|${Bun.hash(X86_64_SYSCALLS.join() + AARCH64_SYSCALLS.join()).toString(16)}`;
}

/** A cached program ends with the hash of its instructions: a damaged file is compiled again. */
function readCached(path: string): Uint8Array | undefined {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch {
    return undefined;
  }
  if (bytes.length < 16 || bytes.length % 8 !== 0) return undefined;
  const prog = bytes.subarray(0, bytes.length - 8);
  const sum = new DataView(bytes.buffer, bytes.byteOffset + prog.length, 8).getBigUint64(0, true);
  return BigInt(Bun.hash(prog)) === sum ? prog : undefined;
}

function writeCached(dir: string, path: string, prog: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const out = new Uint8Array(prog.length + 8);
    out.set(prog);
    new DataView(out.buffer).setBigUint64(prog.length, BigInt(Bun.hash(prog)), true);
    writeFileSync(tmp, out, { flag: "wx", mode: 0o600 });
    renameSync(tmp, path);
  } catch {
    // A cache that cannot be written costs a compile next time, nothing more.
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

/**
 * The BPF program of a container's resolved profile, for the host's architecture. Compiling loads the
 * WASM core (milliseconds at a command's start); with `cacheDir`, a program compiled before is read
 * back instead, keyed by the profile, the architecture and the compiler.
 */
export function seccompProgram(s: LinuxSeccomp, cacheDir?: string): Uint8Array {
  const arch = hostSeccompArch()!;
  if (!cacheDir) return compileProfile(s, arch);
  const key = Bun.hash(`${arch}|${compilerIdentity()}|${JSON.stringify(s)}`).toString(16);
  const path = join(cacheDir, `${key}.bpf`);
  const cached = readCached(path);
  if (cached) return cached;
  const prog = compileProfile(s, arch);
  writeCached(cacheDir, path, prog);
  return prog;
}
