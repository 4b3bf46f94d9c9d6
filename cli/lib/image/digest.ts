export function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/** Chain id of a layer stack, as the OCI image spec defines it. */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev ? `sha256:${sha256Hex(new TextEncoder().encode(`${prev} ${d}`))}` : d);
  }
  return out;
}
