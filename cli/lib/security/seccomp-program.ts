import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { PACKAGE_ROOT } from "../package-root";
import type { Paths } from "../paths";
import { tmpName } from "../store/tmp-name";
import { hostSeccompArch, type LinuxSeccomp } from "./seccomp-profile";

/** What a compiled program depends on besides the profile: the compiler (the WASM core and its glue) and the tables. */
const COMPILER = ["core-as/build/core.wasm", "cli/lib/security/seccomp-compile.ts", "cli/lib/security/syscall-table.ts"];

function compilerIdentity(): string {
  return COMPILER.map((f) => {
    try {
      const st = statSync(join(PACKAGE_ROOT, f));
      return `${st.size}:${st.mtimeMs}`;
    } catch {
      return "-";
    }
  }).join("|");
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

/** Written in the store's tmp/ first (named for this process: what a kill -9 leaves there, the next sweep removes), then renamed in. */
function writeCached(dir: string, path: string, prog: Uint8Array, tmp: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    mkdirSync(dirname(tmp), { recursive: true, mode: 0o700 });
    const out = new Uint8Array(prog.length + 8);
    out.set(prog);
    new DataView(out.buffer).setBigUint64(prog.length, BigInt(Bun.hash(prog)), true);
    writeFileSync(tmp, out, { flag: "wx", mode: 0o600 });
    renameSync(tmp, path);
    prune(dir);
  } catch {
    // A cache that cannot be written costs a compile next time, nothing more.
    try {
      unlinkSync(tmp);
    } catch {}
  }
}

/** Programs of other profiles and of earlier builds pile up: keep the newest few. */
const KEEP = 32;
function prune(dir: string): void {
  const files = readdirSync(dir).filter((f) => f.endsWith(".bpf"));
  if (files.length <= KEEP) return;
  const byAge = files.map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => a.t - b.t);
  for (const { f } of byAge.slice(0, files.length - KEEP)) unlinkSync(join(dir, f));
}

/**
 * The BPF program of a container's resolved profile, for the host's architecture. Compiling loads the
 * WASM core and the syscall tables (milliseconds at a command's start: they are imported only then);
 * with `store`, a program compiled before is read back from its seccomp/ cache instead, keyed by the
 * profile, the architecture and the compiler's files.
 */
export async function seccompProgram(s: LinuxSeccomp, store?: Paths): Promise<Uint8Array> {
  const arch = hostSeccompArch()!;
  const compile = async () => (await import("./seccomp-compile")).compileProfile(s, arch);
  if (!store) return compile();
  const cacheDir = join(store.data, "seccomp");
  const key = Bun.hash(`${arch}|${compilerIdentity()}|${JSON.stringify(s)}`).toString(16);
  const path = join(cacheDir, `${key}.bpf`);
  const cached = readCached(path);
  if (cached) return cached;
  const prog = await compile();
  writeCached(cacheDir, path, prog, tmpName(store, "seccomp"));
  return prog;
}
