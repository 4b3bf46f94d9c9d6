#!/usr/bin/env bun
/**
 * Loading a large image: `rl load` of an oci-archive against `podman load` of the same archive
 * (runc, overlay, a private --root) and `umoci unpack --rootless` of the same OCI layout. Run it as
 * an ordinary user (not root):
 *
 *   bun bench/load.ts [--rounds N] [--work DIR] [--settle SECONDS]
 *
 * The image comes from bench/large-image.ts (4 gzip layers, 300+ MiB, 20k+ files, whiteouts, opaque
 * directories). Every round runs each tool once on an empty store, in a rotated order, after a `sync`.
 * No store is removed before the end: ext4 without a journal (this VM's) does not reuse an inode freed
 * less than 60 s ago, or 360 s while its inode table block is dirty, and every new file scans past those
 * (see bench/pull.ts). Start it at least 6 minutes after anything removed many files, or give --settle
 * SECONDS. Peak RSS is GNU time's %M (the
 * largest process of the tool's tree, rl's user-namespace worker included). A last run loads a
 * quarter-size image to show rl's memory does not grow with layer size. Last, the same run times
 * SHA-256 over the image's layer blobs (the bytes rl verifies on load) with both of rl's digest
 * engines and with `sha256sum` (bench/measure-digests.ts, as bench/digest.ts does).
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeLargeImage, writeOciArchive } from "./large-image";
import { digestTable, measureDigests } from "./measure-digests";
import { runWorkerJob } from "../cli/lib/rootfs/worker-job";
import { RL, rlStartMode } from "./rl-command";
import { endPodmanPause, median, option, timed as run, type Sample } from "./timed";

const REPO = resolve(import.meta.dir, "..");
const ROUNDS = Number(option("--rounds", "3"));
const WORK = resolve(option("--work", join(process.env.HOME ?? "/tmp", "rl-bench-load")));
const SETTLE = Number(option("--settle", "0"));

if (process.getuid!() === 0) {
  process.stderr.write("run bench/load.ts as an ordinary user with subordinate id ranges, not as root\n");
  process.exit(64);
}

const timed = (argv: string[], env?: Record<string, string>): Sample => run(argv, join(WORK, "rss"), env);

const image = join(WORK, "image");
const archive = join(WORK, "image.tar");
const small = join(WORK, "image-quarter");
const smallArchive = join(WORK, "image-quarter.tar");
mkdirSync(WORK, { recursive: true });
if (!existsSync(archive)) {
  process.stderr.write("generating the large image...\n");
  const info = await makeLargeImage(image);
  await writeOciArchive(image, archive);
  process.stderr.write(`${info.files} files, ${(info.bytes / 2 ** 20).toFixed(0)} MiB uncompressed\n`);
}
if (!existsSync(smallArchive)) {
  await makeLargeImage(small, 0.25);
  await writeOciArchive(small, smallArchive);
}

const stores = join(WORK, "stores");
const podmanXdg = join(WORK, "podman-xdg");
mkdirSync(podmanXdg, { recursive: true, mode: 0o700 });
const podmanEnv = { ...process.env, XDG_RUNTIME_DIR: podmanXdg } as Record<string, string>;

const TOOLS: Record<string, (dir: string) => Sample> = {
  rl: (dir) => timed([RL, "load", "-i", archive], { ...process.env, RL_ROOT: join(dir, "data"), RL_RUNROOT: join(dir, "run") } as Record<string, string>),
  podman: (dir) => timed(["podman", "--root", join(dir, "root"), "--runroot", join(dir, "run"), "--runtime", "runc", "--storage-driver", "overlay", "load", "-q", "-i", archive], podmanEnv),
  umoci: (dir) => timed(["umoci", "unpack", "--rootless", "--image", `${image}:large:1`, join(dir, "bundle")]),
};

/** Stores hold files owned by subordinate ids: remove them from inside a user namespace. */
async function clean(): Promise<void> {
  if (existsSync(stores)) await runWorkerJob(join(WORK, "clean.json"), { kind: "remove", paths: [stores] });
  Bun.spawnSync(["sync"]);
}

const samples: Record<string, Sample[]> = { rl: [], podman: [], umoci: [] };
const names = Object.keys(TOOLS);
await clean();
if (SETTLE > 0) {
  process.stderr.write(`waiting ${SETTLE} s (--settle)\n`);
  await Bun.sleep(SETTLE * 1000);
}
for (let round = 0; round < ROUNDS; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]!);
  for (const name of order) {
    const dir = join(stores, `${name}-${round}`);
    mkdirSync(dir, { recursive: true });
    Bun.spawnSync(["sync"]); // what the tool before wrote is on disk: its writeback is not timed here
    const s = TOOLS[name]!(dir);
    samples[name]!.push(s);
    process.stderr.write(`  ${name}: ${(s.ms / 1000).toFixed(2)} s, peak RSS ${(s.rssKiB / 1024).toFixed(0)} MiB\n`);
  }
}
const quarterDir = join(stores, "rl-quarter");
mkdirSync(quarterDir, { recursive: true });
const quarter = timed([RL, "load", "-i", smallArchive], { ...process.env, RL_ROOT: join(quarterDir, "data"), RL_RUNROOT: join(quarterDir, "run") } as Record<string, string>);
await clean();
rmSync(join(WORK, "rss"), { force: true });
endPodmanPause(podmanXdg);

/** The large image's layer blobs, in its OCI layout. */
function layerBlobs(layout: string): string[] {
  const blob = (digest: string) => join(layout, "blobs", digest.replace(":", "/"));
  const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), "utf8"));
  return manifest.layers.map((l: { digest: string }) => blob(l.digest));
}
const blobs = layerBlobs(image);
const digests = await measureDigests(blobs, ROUNDS);

const med = Object.fromEntries(names.map((n) => [n, median(samples[n]!.map((s) => s.ms))]));
const rss = Object.fromEntries(names.map((n) => [n, median(samples[n]!.map((s) => s.rssKiB))]));
console.log(`load of a ${(Bun.file(archive).size / 2 ** 20).toFixed(0)} MiB oci-archive, ${ROUNDS} rounds, rl runs its ${rlStartMode()}, medians:`);
console.log("| tool | wall time | peak RSS | rl / tool |");
console.log("|---|---|---|---|");
for (const n of names) console.log(`| ${n} | ${(med[n]! / 1000).toFixed(2)} s | ${(rss[n]! / 1024).toFixed(0)} MiB | ${(med.rl! / med[n]!).toFixed(2)}x |`);
console.log(`rl on the quarter-size image: ${(quarter.ms / 1000).toFixed(2)} s, peak RSS ${(quarter.rssKiB / 1024).toFixed(0)} MiB`);
const blobMiB = blobs.reduce((n, f) => n + Bun.file(f).size, 0) / 2 ** 20;
console.log(`SHA-256 of the image's ${blobs.length} layer blobs (${blobMiB.toFixed(0)} MiB, page cache), ${ROUNDS} rounds, medians:`);
for (const line of digestTable(digests)) console.log(line);
