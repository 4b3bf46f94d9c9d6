#!/usr/bin/env bun
/**
 * SHA-256 throughput of rl's two digest engines (Bun's native hasher and the WASM core) against
 * coreutils' `sha256sum`, all hashing the same file:
 *
 *   bun bench/digest.ts [--size MiB] [--rounds N] [--json]
 *
 * The file (default 256 MiB of pseudo-random bytes) is written once to a temp dir and read once
 * before timing, so every round reads it from the page cache. rl's engines read it the way a layer
 * is read (Bun.file().stream()) and hash through the Digester interface; sha256sum is a process of
 * its own. Each round runs all three once, order rotated. Prints medians, MB/s (10^6 bytes/s) and
 * each one's speed over sha256sum's.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newDigester } from "../cli/lib/image/digest";
import type { DigestEngine } from "../cli/lib/image/digest-engine";

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

type Tool = DigestEngine | "sha256sum";
const TOOLS: Tool[] = ["native", "wasm", "sha256sum"];

async function hashFile(tool: Tool, file: string): Promise<string> {
  if (tool === "sha256sum") {
    const r = Bun.spawnSync(["sha256sum", file], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`sha256sum failed: ${r.stderr.toString()}`);
    return `sha256:${r.stdout.toString().split(" ")[0]}`;
  }
  const d = newDigester(tool);
  for await (const chunk of Bun.file(file).stream()) d.update(chunk);
  return d.digest();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
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
  const expected = `sha256:${new Bun.CryptoHasher("sha256").update(data).digest("hex")}`;
  process.stderr.write(`file: ${o.sizeMiB} MiB in ${dir}; ${o.rounds} rounds\n`);

  const samples: Record<Tool, number[]> = { native: [], wasm: [], sha256sum: [] };
  for (const t of TOOLS) if ((await hashFile(t, file)) !== expected) throw new Error(`${t} gave a wrong digest`); // warm-up + check
  for (let round = 0; round < o.rounds; round++) {
    const order = TOOLS.map((_, i) => TOOLS[(i + round) % TOOLS.length]!);
    for (const t of order) {
      const t0 = performance.now();
      const got = await hashFile(t, file);
      samples[t].push(performance.now() - t0);
      if (got !== expected) throw new Error(`${t} gave a wrong digest`);
    }
    process.stderr.write(`round ${round + 1}: ${order.map((t) => `${t} ${samples[t].at(-1)!.toFixed(0)} ms`).join(", ")}\n`);
  }
  const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
  const base = mbps(median(samples.sha256sum));
  const rows = TOOLS.map((t) => ({ tool: t, medianMs: median(samples[t]), mbps: mbps(median(samples[t])), vsSha256sum: mbps(median(samples[t])) / base, samplesMs: samples[t] }));
  if (o.json) {
    console.log(JSON.stringify({ sizeMiB: o.sizeMiB, rounds: o.rounds, results: rows }, null, 2));
  } else {
    console.log("tool        median ms      MB/s   vs sha256sum");
    for (const r of rows) console.log(`${r.tool.padEnd(10)} ${r.medianMs.toFixed(0).padStart(10)} ${r.mbps.toFixed(0).padStart(9)} ${r.vsSha256sum.toFixed(2).padStart(13)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
