/**
 * A streaming SHA-256 digester. Every digest rl computes goes through `newDigester()`, so the engine
 * behind it (Bun's native hasher, or the WASM core's) can be chosen in one place.
 */
export interface Digester {
  update(bytes: Uint8Array): void;
  /** "sha256:<hex>"; the digester cannot be used after this. */
  digest(): string;
}

export function newDigester(): Digester {
  const h = new Bun.CryptoHasher("sha256");
  return {
    update: (bytes) => void h.update(bytes),
    digest: () => `sha256:${h.digest("hex")}`,
  };
}

/** "sha256:<hex>" of a whole buffer. */
export function digestOf(bytes: Uint8Array): string {
  const d = newDigester();
  d.update(bytes);
  return d.digest();
}

export function sha256Hex(bytes: Uint8Array): string {
  return digestOf(bytes).slice("sha256:".length);
}

/** Chain id of a layer stack, as the OCI image spec defines it. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev ? digestOf(new TextEncoder().encode(`${prev} ${d}`)) : d);
  }
  return out;
}
