/**
 * Streaming SHA-256 digesters. Every digest rl computes goes through `newDigester()`; two engines sit
 * behind it: Bun's native hasher and the WASM core's. Comparing a digest with the one a descriptor or
 * config names, and computing chain ids, are done by the WASM core (core-as/index.ts).
 */
import { chainIdsOf, compareDigest, WasmSha256 } from "../../../core-as/index";
import { RlError } from "../errors";
import { digestEngine, type DigestEngine } from "./digest-engine";

export interface Digester {
  update(bytes: Uint8Array): void;
  /** The 32-byte digest; the digester cannot be updated after this. */
  sum(): Uint8Array;
  /** "sha256:<hex>"; the digester cannot be updated after this. */
  digest(): string;
}

function finish(sum: () => Uint8Array): Pick<Digester, "sum" | "digest"> {
  let raw: Uint8Array | undefined;
  const once = () => (raw ??= sum());
  return { sum: once, digest: () => `sha256:${Buffer.from(once().buffer, once().byteOffset, 32).toString("hex")}` };
}

function nativeDigester(): Digester {
  const h = new Bun.CryptoHasher("sha256");
  return { update: (bytes) => void h.update(bytes), ...finish(() => new Uint8Array(h.digest())) };
}

function wasmDigester(): Digester {
  const h = new WasmSha256();
  return { update: (bytes) => h.update(bytes), ...finish(() => h.sum()) };
}

/** A digester on `engine`, by default the one chosen for this host (see digest-engine.ts). */
export function newDigester(engine: DigestEngine = digestEngine()): Digester {
  return engine === "wasm" ? wasmDigester() : nativeDigester();
}

/**
 * Whether what `d` hashed is the digest `expected` ("sha256:<64 lowercase hex>"). A malformed
 * `expected` never matches. The comparison runs in the WASM core.
 */
export function digestMatches(d: Digester, expected: string): boolean {
  return compareDigest(d.sum(), expected) === "match";
}

/** "sha256:<hex>" of a whole buffer. */
export function digestOf(bytes: Uint8Array, engine?: DigestEngine): string {
  const d = newDigester(engine);
  d.update(bytes);
  return d.digest();
}

/** Whether `bytes` hash to `expected`. */
export function bytesMatch(bytes: Uint8Array, expected: string): boolean {
  const d = newDigester();
  d.update(bytes);
  return digestMatches(d, expected);
}

export function sha256Hex(bytes: Uint8Array): string {
  return digestOf(bytes).slice("sha256:".length);
}

/** Chain ids of a layer stack, as the OCI image spec defines them (computed in the WASM core). */
export function chainIds(diffIds: string[]): string[] {
  const bad = diffIds.find((d) => !/^sha256:[0-9a-f]{64}$/.test(d));
  if (bad !== undefined) throw new RlError(`the config lists an invalid diff_id ${JSON.stringify(bad)}`);
  return chainIdsOf(diffIds);
}
