#!/usr/bin/env bun
/**
 * Tar header parsing on its own: how many entries a second tarEntries() reads from a tar in memory
 * (handed out in 1 MiB chunks, as a decompressor does), bodies skipped:
 *
 *   bun bench/tar-parse.ts [--entries N] [--rounds N] [--json]
 *
 * Three archives of N entries (default 200,000) with 100-byte bodies: plain ustar headers; a pax
 * header per entry (a 150-byte path, a large uid, a fractional mtime and two SCHILY.xattr records,
 * one with binary bytes); a GNU 'L' long name per entry. Prints the median and fastest round.
 */
import { tarEntries } from "../cli/lib/image/tar-entries";
import { concat, tarHeader, tarPadding } from "../cli/lib/image/tar-writer";

const args = process.argv.slice(2);
const opt = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ENTRIES = opt("--entries", 200_000);
const ROUNDS = opt("--rounds", 7);
const CHUNK = 1 << 20;
const enc = new TextEncoder();
const body = new Uint8Array(100).fill(0x61);

function record(key: string, value: Uint8Array): Uint8Array {
  const head = ` ${key}=`;
  const rest = head.length + value.length + 1;
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) len = rest + String(len).length;
  return concat([enc.encode(`${len}${head}`), value, new Uint8Array([0x0a])]);
}

/** A ustar member header (v7 fields + "ustar\0" magic) with a valid checksum. */
function ustar(name: string, typeflag: string, size: number): Uint8Array {
  const b = tarHeader({ path: "x", type: "file", size });
  b.fill(0, 0, 100);
  b.set(enc.encode(name), 0);
  b[156] = typeflag.charCodeAt(0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return b;
}

function build(kind: "ustar" | "pax" | "gnu"): Uint8Array {
  const parts: Uint8Array[] = [];
  const bin = new Uint8Array([0, 1, 2, 255, 10, 61]);
  for (let i = 0; i < ENTRIES; i++) {
    const short = `dir${i % 100}/file-${i}`;
    if (kind === "ustar") {
      parts.push(tarHeader({ path: short, type: "file", size: body.length, mtime: 1700000000 }));
    } else if (kind === "pax") {
      const long = `${"long-directory-name/".repeat(7)}file-${i}`;
      const pax = concat([
        record("path", enc.encode(long)),
        record("uid", enc.encode("3000000000")),
        record("mtime", enc.encode("1700000000.123456789")),
        record("SCHILY.xattr.user.rl", enc.encode("value")),
        record("SCHILY.xattr.security.capability", bin),
      ]);
      parts.push(ustar("PaxHeader", "x", pax.length), pax, tarPadding(pax.length), ustar(short, "0", body.length));
    } else {
      const long = enc.encode(`${"long-directory-name/".repeat(7)}file-${i}\0`);
      parts.push(ustar("././@LongLink", "L", long.length), long, tarPadding(long.length), ustar(short, "0", body.length));
    }
    parts.push(body, tarPadding(body.length));
  }
  parts.push(new Uint8Array(1024));
  return concat(parts);
}

async function* chunks(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += CHUNK) yield bytes.subarray(i, Math.min(bytes.length, i + CHUNK));
}

async function once(bytes: Uint8Array): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for await (const e of tarEntries(chunks(bytes))) {
    if (e.size !== body.length) throw new Error(`entry ${e.path}: size ${e.size}`);
    n++;
  }
  const ms = performance.now() - t0;
  if (n !== ENTRIES) throw new Error(`read ${n} entries, expected ${ENTRIES}`);
  return ms;
}

const results: Record<string, { ms: number; minMs: number; entriesPerSec: number; mib: number }> = {};
for (const kind of ["ustar", "pax", "gnu"] as const) {
  const bytes = build(kind);
  await once(bytes); // warm-up
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) times.push(await once(bytes));
  times.sort((a, b) => a - b);
  const ms = times[times.length >> 1]!;
  results[kind] = { ms, minMs: times[0]!, entriesPerSec: ENTRIES / (ms / 1000), mib: bytes.length / 2 ** 20 };
}
if (args.includes("--json")) console.log(JSON.stringify(results));
else {
  console.log(`tarEntries over ${ENTRIES} entries, 1 MiB chunks, ${ROUNDS} rounds:`);
  for (const [kind, r] of Object.entries(results)) {
    console.log(`  ${kind.padEnd(6)} ${r.mib.toFixed(0).padStart(4)} MiB  median ${r.ms.toFixed(0).padStart(5)} ms (${(r.entriesPerSec / 1e6).toFixed(3)} M entries/s), fastest ${r.minMs.toFixed(0).padStart(5)} ms`);
  }
}
