#!/usr/bin/env bun
/**
 * Pulling a large image from a loopback registry into an empty store: rl against rootless podman
 * (vfs and overlay storage) and skopeo + umoci. Run it as an ordinary user (not root):
 *
 *   bun bench/pull.ts [--rounds N] [--layout DIR:REF] [--mib N] [--json] [--no-podman] [--settle SECONDS]
 *
 * Without --layout it writes an OCI layout of --mib MiB (default 320) of random content in 4 gzip
 * layers. Debian's docker-registry serves it on 127.0.0.1 (plain HTTP). Each round runs every tool once,
 * in rotated order, each into a fresh empty store, after a `sync`. No store is removed before the end:
 * this VM's ext4 has no journal, and without one the kernel does not reuse an inode freed less than 60 s
 * ago, or 360 s ago while its inode table block is dirty (which new files in the same block make it), so
 * every file created then scans past them. Removing the stores between rounds, even with a 65 s wait,
 * made each round slower than the one before, for every tool. Start it at least 6 minutes after anything
 * removed many files (a test run, an earlier benchmark), or give --settle SECONDS. The default of 4
 * rounds puts every tool once in every position of the rotation.
 * Wall time is performance.now() around the spawn, peak RSS is GNU time's %M (largest process of the tree).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, loadavg, release } from "node:os";
import { join, resolve } from "node:path";
import { runWorkerJob } from "../cli/lib/rootfs/worker-job";
import { fill, startRegistry } from "../test/integration/registry-harness";
import { RL, rlStartMode } from "./rl-command";

const REPO = resolve(import.meta.dir, "..");

interface Options {
  rounds: number;
  layout?: string;
  mib: number;
  json: boolean;
  podman: boolean;
  /** Seconds to wait before the first round (see above). */
  settle: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { rounds: 4, mib: 320, json: false, podman: true, settle: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? usage(`${a} needs a value`);
    if (a === "--rounds") o.rounds = Number(next());
    else if (a === "--layout") o.layout = next();
    else if (a === "--mib") o.mib = Number(next());
    else if (a === "--json") o.json = true;
    else if (a === "--no-podman") o.podman = false;
    else if (a === "--settle") o.settle = Number(next());
    else usage(a === "-h" || a === "--help" ? undefined : `unknown option ${a}`);
  }
  if (!(o.rounds >= 1) || !(o.mib >= 8) || !(o.settle >= 0)) usage("--rounds must be >= 1, --mib >= 8 and --settle >= 0");
  return o;
}

function usage(error?: string): never {
  (error ? process.stderr : process.stdout).write(`${error ? `bench/pull.ts: ${error}\n` : ""}usage: bun bench/pull.ts [--rounds N] [--layout DIR:REF] [--mib N] [--json] [--no-podman] [--settle SECONDS]\n`);
  process.exit(error ? 64 : 0);
}

function sha256(bytes: Uint8Array): string {
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

/** An OCI layout with `layers` gzip layers of random files (incompressible, like real binaries); returns DIR:REF. */
async function makeLayout(dir: string, mib: number, layers = 4): Promise<string> {
  mkdirSync(join(dir, "blobs/sha256"), { recursive: true });
  const put = (bytes: Uint8Array) => {
    const d = sha256(bytes);
    writeFileSync(join(dir, "blobs/sha256", d.slice(7)), bytes);
    return d;
  };
  const descs: { mediaType: string; digest: string; size: number }[] = [];
  const diffIds: string[] = [];
  for (let l = 0; l < layers; l++) {
    const root = join(dir, `rootfs-${l}`);
    mkdirSync(join(root, `layer${l}`), { recursive: true });
    const perFile = 4 << 20;
    const files = Math.max(1, Math.round((mib << 20) / layers / perFile));
    const buf = new Uint8Array(perFile);
    for (let f = 0; f < files; f++) {
      for (let off = 0; off < buf.length; off += 65536) crypto.getRandomValues(buf.subarray(off, off + 65536));
      writeFileSync(join(root, `layer${l}`, `file${f}.bin`), buf);
    }
    const tar = Bun.spawnSync(["tar", "-C", root, "-cf", "-", "."], { stdout: "pipe" });
    rmSync(root, { recursive: true, force: true });
    const plain = new Uint8Array(tar.stdout);
    diffIds.push(sha256(plain));
    const gz = Bun.gzipSync(plain, { level: 1 });
    descs.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: put(gz), size: gz.length });
  }
  const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["/bin/sh"] }, rootfs: { type: "layers", diff_ids: diffIds } }));
  const manifest = new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: put(config), size: config.length }, layers: descs }),
  );
  const md = put(manifest);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: md, size: manifest.length, annotations: { "org.opencontainers.image.ref.name": "big" } }] }));
  return `${dir}:big`;
}

interface Tool {
  name: string;
  /** Commands to run in sequence into the empty directory `store`. */
  steps(store: string, image: string): string[][];
  env?(store: string): Record<string, string>;
}

const TOOLS: Tool[] = [
  {
    name: "rl",
    steps: (_s, image) => [[RL, "pull", "-q", "--tls-verify=false", image]],
    env: (s) => ({ RL_ROOT: join(s, "data"), RL_RUNROOT: join(s, "run") }),
  },
  {
    name: "podman-overlay",
    steps: (s, image) => [["podman", "--runtime", "runc", "--root", join(s, "root"), "--runroot", join(s, "runroot"), "--storage-driver", "overlay", "pull", "-q", "--tls-verify=false", image]],
  },
  {
    name: "podman-vfs",
    steps: (s, image) => [["podman", "--runtime", "runc", "--root", join(s, "root"), "--runroot", join(s, "runroot"), "--storage-driver", "vfs", "pull", "-q", "--tls-verify=false", image]],
  },
  {
    name: "skopeo+umoci",
    steps: (s, image) => [
      ["skopeo", "copy", "--quiet", "--src-tls-verify=false", `docker://${image}`, `oci:${join(s, "oci")}:big`],
      ["umoci", "unpack", "--rootless", "--image", `${join(s, "oci")}:big`, join(s, "bundle")],
    ],
  },
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function timeTool(t: Tool, image: string, stores: string): Promise<{ ms: number; rss: number; error?: string }> {
  // Short: podman refuses a --runroot longer than 50 characters.
  const store = mkdtempSync(join(stores, `${TOOLS.indexOf(t)}`));
  Bun.spawnSync(["sync"]); // what the tool before wrote is on disk: its writeback is not timed here
  {
    let ms = 0;
    let rss = 0;
    for (const argv of t.steps(store, image)) {
      // GNU time reports the largest resident set of the process tree it waited for (KiB).
      const rssFile = `${store}.rss`;
      const start = performance.now();
      const p = Bun.spawn(["/usr/bin/time", "-f", "%M", "-o", rssFile, ...argv], { env: { ...process.env, ...t.env?.(store) } as Record<string, string>, stdout: "ignore", stderr: "pipe" });
      const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
      ms += performance.now() - start;
      rss = Math.max(rss, 1024 * Number((await Bun.file(rssFile).text()).trim().split("\n").pop()));
      rmSync(rssFile, { force: true });
      if (code !== 0) return { ms, rss, error: `${argv.join(" ")}: exit ${code}: ${err.trim().split("\n").pop()}` };
    }
    return { ms, rss };
  }
}

/** Stores hold files owned by subordinate ids: remove them from inside a user namespace. */
async function removeStores(stores: string): Promise<void> {
  await runWorkerJob(`${stores}-rm.json`, { kind: "remove", paths: [stores] }).catch(() => rmSync(stores, { recursive: true, force: true }));
  Bun.spawnSync(["sync"]);
}

const o = parseArgs(process.argv.slice(2));
if (process.getuid!() === 0) usage("run it as an ordinary user with subordinate id ranges, not as root");
const work = mkdtempSync(join(tmpdir(), "bench-pull-"));
const registry = await startRegistry();
try {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const layout = o.layout ?? (log(`writing a ${o.mib} MiB layout...`), await makeLayout(join(work, "layout"), o.mib));
  const image = `${registry.host}/bench/big:1`;
  await fill(`oci:${layout}`, image);
  const tools = TOOLS.filter((t) => o.podman || !t.name.startsWith("podman"));
  const samples = new Map<string, { ms: number[]; rss: number[]; error?: string }>(tools.map((t) => [t.name, { ms: [], rss: [] }]));
  log(`load average ${loadavg()[0]!.toFixed(2)}; ${o.rounds} rounds; rl runs its ${rlStartMode()}`);
  const stores = join(work, "s");
  mkdirSync(stores, { recursive: true });
  if (o.settle > 0) {
    log(`waiting ${o.settle} s (--settle)`);
    await Bun.sleep(o.settle * 1000);
  }
  for (let r = 0; r < o.rounds; r++) {
    const order = tools.map((_, i) => tools[(i + r) % tools.length]!);
    for (const t of order) {
      const s = samples.get(t.name)!;
      if (s.error) continue;
      const res = await timeTool(t, image, stores);
      if (res.error) s.error = res.error;
      else {
        s.ms.push(res.ms);
        s.rss.push(res.rss);
      }
      log(`round ${r + 1} ${t.name}: ${res.error ?? `${(res.ms / 1000).toFixed(2)} s, peak RSS ${(res.rss / (1 << 20)).toFixed(0)} MiB`}`);
    }
  }
  const rl = median(samples.get("rl")!.ms);
  const rows = [...samples].map(([name, s]) => ({
    name,
    medianS: s.ms.length ? median(s.ms) / 1000 : undefined,
    peakRssMiB: s.rss.length ? Math.max(...s.rss) / (1 << 20) : undefined,
    speedupOfRl: s.ms.length ? median(s.ms) / rl : undefined,
    error: s.error,
  }));
  if (o.json) process.stdout.write(`${JSON.stringify({ kernel: release(), bun: Bun.version, rounds: o.rounds, mib: o.mib, rows }, null, 2)}\n`);
  else {
    process.stdout.write(`| tool | median | peak RSS | tool time / rl time |\n|---|---|---|---|\n`);
    for (const r of rows) {
      process.stdout.write(r.error ? `| ${r.name} | failed: ${r.error} | | |\n` : `| ${r.name} | ${r.medianS!.toFixed(2)} s | ${r.peakRssMiB!.toFixed(0)} MiB | ${r.speedupOfRl!.toFixed(2)}x |\n`);
    }
  }
} finally {
  await registry.stop();
  await removeStores(join(work, "s"));
  rmSync(work, { recursive: true, force: true });
}
