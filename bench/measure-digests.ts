/**
 * SHA-256 throughput of rl's two digest engines (Bun's native hasher and the WASM core) against
 * coreutils' `sha256sum`, all hashing the same files: what bench/digest.ts (one generated file) and
 * bench/load.ts (the large image's layer blobs) print. rl's engines read each file the way a layer is
 * read (Bun.file().stream()) and hash through the Digester interface; sha256sum is one process of its
 * own for all the files. Every tool runs once untimed (a warm-up that also loads the files into the
 * page cache, and checks that all tools give the same digests), then once per round, order rotated.
 */
import { statSync } from "node:fs";
import { newDigester } from "../cli/lib/image/digest";
import type { DigestEngine } from "../cli/lib/image/digest-engine";

export type DigestTool = DigestEngine | "sha256sum";
export const DIGEST_TOOLS: DigestTool[] = ["native", "wasm", "sha256sum"];

export interface DigestResult {
  tool: DigestTool;
  medianMs: number;
  /** 10^6 bytes per second. */
  mbps: number;
  vsSha256sum: number;
  samplesMs: number[];
}

async function hashFiles(tool: DigestTool, files: string[]): Promise<string[]> {
  if (tool === "sha256sum") {
    const r = Bun.spawnSync(["sha256sum", ...files], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`sha256sum failed: ${r.stderr.toString()}`);
    return r.stdout.toString().trim().split("\n").map((l) => `sha256:${l.split(" ")[0]}`);
  }
  const out: string[] = [];
  for (const file of files) {
    const d = newDigester(tool);
    for await (const chunk of Bun.file(file).stream()) d.update(chunk);
    out.push(d.digest());
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Time every tool over `files`, `rounds` times; progress lines go to `log`. */
export async function measureDigests(files: string[], rounds: number, log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<DigestResult[]> {
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const expected = (await hashFiles("sha256sum", files)).join();
  for (const t of DIGEST_TOOLS) if ((await hashFiles(t, files)).join() !== expected) throw new Error(`${t} gave a wrong digest`);
  const samples: Record<DigestTool, number[]> = { native: [], wasm: [], sha256sum: [] };
  for (let round = 0; round < rounds; round++) {
    const order = DIGEST_TOOLS.map((_, i) => DIGEST_TOOLS[(i + round) % DIGEST_TOOLS.length]!);
    for (const t of order) {
      const t0 = performance.now();
      const got = await hashFiles(t, files);
      samples[t].push(performance.now() - t0);
      if (got.join() !== expected) throw new Error(`${t} gave a wrong digest`);
    }
    log(`digest round ${round + 1}: ${order.map((t) => `${t} ${samples[t].at(-1)!.toFixed(0)} ms`).join(", ")}`);
  }
  const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
  const base = mbps(median(samples.sha256sum));
  return DIGEST_TOOLS.map((t) => ({ tool: t, medianMs: median(samples[t]), mbps: mbps(median(samples[t])), vsSha256sum: mbps(median(samples[t])) / base, samplesMs: samples[t] }));
}

/** The results as a table: median time, MB/s and speed over sha256sum's. */
export function digestTable(rows: DigestResult[]): string[] {
  return ["tool        median ms      MB/s   vs sha256sum", ...rows.map((r) => `${r.tool.padEnd(10)} ${r.medianMs.toFixed(0).padStart(10)} ${r.mbps.toFixed(0).padStart(9)} ${r.vsSha256sum.toFixed(2).padStart(13)}x`)];
}
