#!/usr/bin/env bun
/**
 * Writing archives of a large image and container: `rl export` against `podman export` of a container
 * of the same image, and `rl save` against `podman save` (docker-archive and oci-archive), same run,
 * the tools' order rotated every round. Run it as an ordinary user (not root):
 *
 *   bun bench/export-save.ts [--rounds N] [--work DIR]
 *
 * The image is bench/large-image.ts's (4 gzip layers, 300+ MiB, 20k+ files) with the busybox fixture's
 * layer on top, so a container can be made from it (`rl run --name big IMAGE true`; `podman create`).
 * podman uses its overlay driver with a private --root. Every archive goes to a file in --work, removed
 * after its run; a `sync` before each run keeps the writeback of the one before out of its time. Wall time is `performance.now()` around the command; peak RSS is GNU time's %M (the
 * largest process of the tool's tree: rl's user-namespace export worker included). A last run exports
 * and saves a quarter-size image with rl, to show that its memory does not grow with the image.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { makeLargeImage } from "./large-image";
import { runWorkerJob } from "../cli/lib/rootfs/worker-job";
import { RL, rlStartMode } from "./rl-command";
import { endPodmanPause, median, must, option, timed as run, type Sample } from "./timed";

const REPO = resolve(import.meta.dir, "..");
const FIXTURES = resolve(REPO, "../shared/fixtures");
const ROUNDS = Number(option("--rounds", "5"));
const WORK = resolve(option("--work", join(process.env.HOME ?? "/tmp", "rl-bench-export")));

if (process.getuid!() === 0) {
  process.stderr.write("run bench/export-save.ts as an ordinary user with subordinate id ranges, not as root\n");
  process.exit(64);
}

const OUT = join(WORK, "out.tar");

/** A timed run that writes OUT: the archive's size too (then it is removed). */
function timed(argv: string[], env: Record<string, string>): Sample & { bytes: number } {
  rmSync(OUT, { force: true });
  Bun.spawnSync(["sync"]); // what the command before wrote is on disk: its writeback is not timed here
  const s = run(argv, join(WORK, "rss"), env);
  const bytes = existsSync(OUT) ? Bun.file(OUT).size : 0;
  rmSync(OUT, { force: true });
  return { ...s, bytes };
}

const blob = (layout: string, digest: string) => join(layout, "blobs", digest.replace(":", "/"));
const sha256 = (b: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(b).digest("hex")}`;

/** The large image with the busybox fixture's layer on top (so it has /bin/true), as an OCI layout (ref large:1). */
async function runnableLargeImage(dir: string, scale: number): Promise<void> {
  if (existsSync(join(dir, "index.json"))) return;
  await makeLargeImage(dir, scale);
  const bb = join(FIXTURES, "oci/busybox-1.38.0-musl-amd64");
  const bbIndex = JSON.parse(readFileSync(join(bb, "index.json"), "utf8"));
  const bbManifest = JSON.parse(readFileSync(blob(bb, bbIndex.manifests[0].digest), "utf8"));
  const bbConfig = JSON.parse(readFileSync(blob(bb, bbManifest.config.digest), "utf8"));
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
  const manifest = JSON.parse(readFileSync(blob(dir, index.manifests[0].digest), "utf8"));
  const config = JSON.parse(readFileSync(blob(dir, manifest.config.digest), "utf8"));
  copyFileSync(blob(bb, bbManifest.layers[0].digest), blob(dir, bbManifest.layers[0].digest));
  config.rootfs.diff_ids.push(bbConfig.rootfs.diff_ids[0]);
  config.history.push({ created: config.created, created_by: "busybox" });
  const cfg = new TextEncoder().encode(JSON.stringify(config));
  writeFileSync(blob(dir, sha256(cfg)), cfg);
  manifest.config = { ...manifest.config, digest: sha256(cfg), size: cfg.length };
  manifest.layers.push(bbManifest.layers[0]);
  const man = new TextEncoder().encode(JSON.stringify(manifest));
  writeFileSync(blob(dir, sha256(man)), man);
  index.manifests = [{ ...index.manifests[0], digest: sha256(man), size: man.length }];
  writeFileSync(join(dir, "index.json"), JSON.stringify(index));
}

mkdirSync(WORK, { recursive: true });
const image = join(WORK, "image"), quarterImage = join(WORK, "image-quarter");
process.stderr.write("preparing the images...\n");
await runnableLargeImage(image, 1);
await runnableLargeImage(quarterImage, 0.25);

const stores = join(WORK, "stores");
const rlEnv = (name: string) => ({ ...process.env, RL_ROOT: join(stores, name, "data"), RL_RUNROOT: join(stores, name, "run") }) as Record<string, string>;
const podmanXdg = join(WORK, "podman-xdg");
mkdirSync(podmanXdg, { recursive: true, mode: 0o700 });
const podmanEnv = { ...process.env, XDG_RUNTIME_DIR: podmanXdg } as Record<string, string>;
const podman = ["podman", "--root", join(stores, "podman", "root"), "--runroot", join(stores, "podman", "run"), "--runtime", "runc", "--storage-driver", "overlay"];

/** Stores hold files owned by subordinate ids: remove them from inside a user namespace. */
async function clean(): Promise<void> {
  if (existsSync(stores)) await runWorkerJob(WORK, { kind: "remove", paths: [stores] });
}


await clean();
process.stderr.write("loading the image into rl and podman...\n");
const rlId: Record<string, string> = {};
for (const [name, layout] of [["rl", image], ["rl-quarter", quarterImage]] as const) {
  must([RL, "run", "--name", "big", `oci:${layout}:large:1`, "true"], rlEnv(name));
  rlId[name] = must([RL, "images", "-q"], rlEnv(name)).trim();
}
// podman names what it pulls from a layout after its path: its id is what the timed commands use.
const podmanId = must([...podman, "pull", "-q", `oci:${image}:large:1`], podmanEnv).trim();
must([...podman, "create", "--name", "big", podmanId, "true"], podmanEnv);

const TOOLS: Record<string, () => ReturnType<typeof timed>> = {
  "rl export": () => timed([RL, "export", "-o", OUT, "big"], rlEnv("rl")),
  "podman export": () => timed([...podman, "export", "-o", OUT, "big"], podmanEnv),
  "rl save (docker)": () => timed([RL, "save", "-o", OUT, rlId.rl!], rlEnv("rl")),
  "podman save (docker)": () => timed([...podman, "save", "-q", "-o", OUT, podmanId], podmanEnv),
  "rl save (oci)": () => timed([RL, "save", "--format", "oci-archive", "-o", OUT, rlId.rl!], rlEnv("rl")),
  "podman save (oci)": () => timed([...podman, "save", "-q", "--format", "oci-archive", "-o", OUT, podmanId], podmanEnv),
};
const names = Object.keys(TOOLS);
const samples: Record<string, ReturnType<typeof timed>[]> = Object.fromEntries(names.map((n) => [n, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = names.map((_, i) => names[(i + round) % names.length]!);
  for (const name of order) {
    const s = TOOLS[name]!();
    samples[name]!.push(s);
    process.stderr.write(`  ${name}: ${(s.ms / 1000).toFixed(2)} s, peak RSS ${(s.rssKiB / 1024).toFixed(0)} MiB, ${(s.bytes / 2 ** 20).toFixed(0)} MiB written\n`);
  }
}
const quarter = {
  export: timed([RL, "export", "-o", OUT, "big"], rlEnv("rl-quarter")),
  save: timed([RL, "save", "-o", OUT, rlId["rl-quarter"]!], rlEnv("rl-quarter")),
};

await clean();
rmSync(join(WORK, "rss"), { force: true });
endPodmanPause(podmanXdg);

const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`export and save of the large image (+ busybox), ${ROUNDS} rounds, rl runs its ${rlStartMode()}, load average at the end ${load}, medians:`);
console.log("| command | wall time | peak RSS | archive | rl / podman |");
console.log("|---|---|---|---|---|");
for (const n of names) {
  const ms = median(samples[n]!.map((s) => s.ms));
  const peer = n.startsWith("rl ") ? median(samples[n.replace(/^rl /, "podman ")]!.map((s) => s.ms)) : undefined;
  const rss = median(samples[n]!.map((s) => s.rssKiB));
  const bytes = median(samples[n]!.map((s) => s.bytes));
  console.log(`| ${n} | ${(ms / 1000).toFixed(2)} s | ${(rss / 1024).toFixed(0)} MiB | ${(bytes / 2 ** 20).toFixed(0)} MiB | ${peer ? `${(ms / peer).toFixed(2)}x` : ""} |`);
}
console.log(`rl on the quarter-size image: export ${(quarter.export.ms / 1000).toFixed(2)} s, peak RSS ${(quarter.export.rssKiB / 1024).toFixed(0)} MiB; save ${(quarter.save.ms / 1000).toFixed(2)} s, peak RSS ${(quarter.save.rssKiB / 1024).toFixed(0)} MiB`);
