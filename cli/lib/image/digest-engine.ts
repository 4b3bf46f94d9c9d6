/**
 * Which SHA-256 engine rl uses: `RL_DIGEST_ENGINE=native|wasm` forces one; otherwise the faster one
 * on this host, measured once and remembered in the runtime dir (a tmpfs: measured again after a
 * reboot, which is when the CPU could have changed).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WasmSha256 } from "../../../core-as/index";
import { RlError } from "../errors";
import { paths } from "../paths";
import { atomicWriteFile } from "../atomic-write";

export type DigestEngine = "native" | "wasm";
export const DIGEST_ENGINES: readonly DigestEngine[] = ["native", "wasm"];

export interface EngineSpeeds {
  /** MB/s (10^6 bytes per second) of each engine on this host. */
  native: number;
  wasm: number;
}

export interface EngineChoice {
  engine: DigestEngine;
  /** Set when RL_DIGEST_ENGINE chose the engine. */
  forced: boolean;
  speeds: EngineSpeeds;
}

const CACHE_FILE = "digest-engines.json";
// 2 MiB per engine after a short warm-up: about 15 ms in all here, once per boot.
const SAMPLE = 2 << 20;
const WARMUP = 256 << 10;

let chosen: DigestEngine | undefined;

function forcedEngine(env: NodeJS.ProcessEnv): DigestEngine | undefined {
  const v = env.RL_DIGEST_ENGINE;
  if (v === undefined || v === "") return undefined;
  if (v === "native" || v === "wasm") return v;
  throw new RlError(`RL_DIGEST_ENGINE must be "native" or "wasm", not ${JSON.stringify(v)}`);
}

function hashWith(engine: DigestEngine, data: Uint8Array): void {
  if (engine === "wasm") {
    const h = new WasmSha256();
    h.update(data);
    h.sum();
  } else {
    new Bun.CryptoHasher("sha256").update(data).digest();
  }
}

/** Hashes `bytes` bytes with each engine and returns their speeds in MB/s. */
export function measureEngines(bytes = SAMPLE): EngineSpeeds {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < data.length; i += 4096) data[i] = i >> 12;
  const speeds = { native: 0, wasm: 0 };
  for (const engine of DIGEST_ENGINES) {
    hashWith(engine, data.subarray(0, WARMUP));
    const t0 = Bun.nanoseconds();
    // Chunks as a layer stream delivers them.
    const h = engine === "wasm" ? new WasmSha256() : new Bun.CryptoHasher("sha256");
    for (let off = 0; off < data.length; off += 1 << 18) h.update(data.subarray(off, off + (1 << 18)));
    if (h instanceof WasmSha256) h.sum();
    else h.digest();
    const secs = (Bun.nanoseconds() - t0) / 1e9;
    speeds[engine] = Math.round(bytes / 1e6 / secs);
  }
  return speeds;
}

function cachePath(env: NodeJS.ProcessEnv): string {
  return join(paths(env).runtime, CACHE_FILE);
}

function readCache(env: NodeJS.ProcessEnv): EngineSpeeds | undefined {
  try {
    const v = JSON.parse(readFileSync(cachePath(env), "utf8")) as EngineSpeeds;
    return v.native > 0 && v.wasm > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(env: NodeJS.ProcessEnv, speeds: EngineSpeeds): void {
  const file = cachePath(env);
  try {
    atomicWriteFile(file, JSON.stringify(speeds));
  } catch {
    // No writable runtime dir: measure again next time.
  }
}

/** The measured speeds (from the cache, or measured now and cached). */
export function engineSpeeds(env: NodeJS.ProcessEnv = process.env): EngineSpeeds {
  const cached = readCache(env);
  if (cached) return cached;
  const speeds = measureEngines();
  writeCache(env, speeds);
  return speeds;
}

export function engineChoice(env: NodeJS.ProcessEnv = process.env): EngineChoice {
  const speeds = engineSpeeds(env);
  const forced = forcedEngine(env);
  return { engine: forced ?? (speeds.wasm > speeds.native ? "wasm" : "native"), forced: forced !== undefined, speeds };
}

/** The engine new digesters use in this process. */
export function digestEngine(): DigestEngine {
  chosen ??= forcedEngine(process.env) ?? engineChoice().engine;
  return chosen;
}
