#!/usr/bin/env bun
/**
 * SHA-256 throughput of rl's two digest engines (Bun's native hasher and the WASM core) against
 * coreutils' `sha256sum`, all hashing the same file:
 *
 *   bun bench/digest.ts [--size MiB] [--rounds N] [--json]
 *
 * The file (default 256 MiB of pseudo-random bytes) is written once to a temp dir; the timing is
 * measureDigests' (bench/measure-digests.ts, shared with bench/load.ts). Prints medians, MB/s
 * (10^6 bytes/s) and each one's speed over sha256sum's.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestTable, measureDigests } from "./measure-digests";

interface Options {
  sizeMiB: number;
  rounds: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { sizeMiB: 256, rounds: 5, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) {
        process.stderr.write(`Cannot parse arguments: ${a} needs a positive integer\n`);
        process.exit(64);
      }
      return n;
    };
    if (a === "--size") o.sizeMiB = num();
    else if (a === "--rounds") o.rounds = num();
    else if (a === "--json") o.json = true;
    else {
      process.stderr.write(`usage: bun bench/digest.ts [--size MiB] [--rounds N] [--json]\n`);
      process.exit(a === "--help" || a === "-h" ? 0 : 64);
    }
  }
  return o;
}

const o = parseArgs(process.argv.slice(2));
const dir = mkdtempSync(join(tmpdir(), "rl-bench-digest-"));
try {
  const file = join(dir, "data");
  const bytes = o.sizeMiB << 20;
  const data = new Uint8Array(bytes);
  let x = 2463534242;
  const words = new Uint32Array(data.buffer);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  writeFileSync(file, data);
  process.stderr.write(`file: ${o.sizeMiB} MiB in ${dir}; ${o.rounds} rounds\n`);
  const rows = await measureDigests([file], o.rounds);
  if (o.json) console.log(JSON.stringify({ sizeMiB: o.sizeMiB, rounds: o.rounds, results: rows }, null, 2));
  else for (const line of digestTable(rows)) console.log(line);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
