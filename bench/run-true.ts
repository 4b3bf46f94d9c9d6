#!/usr/bin/env bun
/**
 * Start-up latency of `run --rm IMAGE true`: rl against rootless podman (runc) and the floor,
 * a bare `unshare` into the same kinds of namespaces, and (for reference) Bun's own share: a Bun program
 * that loads what rl loads and exits (bench/bun-floor.ts). Run it as an ordinary user (not root):
 *
 *   bun bench/run-true.ts [--rounds N] [--image oci:PATH[:REF]] [--json] [--check] [--no-podman] [--network none|slirp4netns] [--rl-also "OPTS"] [--baseline RL]
 *
 * Each round times every command once, rotating their order so that none always runs first or
 * right after the same neighbour. Wall time is measured with performance.now() around
 * Bun.spawnSync, stdout discarded, stderr kept only to report failures.
 * See bench/README.md for hygiene notes.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, release, tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { RL, rlStartMode } from "./rl-command";

const REPO = resolve(import.meta.dir, "..");
const DEFAULT_IMAGE = "oci:../shared/fixtures/oci/busybox-1.38.0-musl-amd64";
const GOAL_VS_PODMAN = 0.15;
const GOAL_VS_UNSHARE = 4;

interface Options {
  rounds: number;
  image: string;
  json: boolean;
  check: boolean;
  podman: boolean;
  /** --network for rl and podman: none (the goal's setting) or slirp4netns (both tools' default). */
  network: string;
  /** More rl rows, each with these run options (e.g. "--security-opt seccomp=unconfined"), in the same rounds. */
  rlAlso: string[];
  /** Another rl executable (a build of an earlier commit), timed in the same rounds with a store of its own. */
  baseline?: string;
}

function usage(code: number): never {
  const text = `usage: bun bench/run-true.ts [options]
  --rounds N      timed rounds (default 20)
  --image IMAGE   image for rl and podman (default ${DEFAULT_IMAGE});
                  a relative oci: path is taken from the current directory
  --json          print the results as JSON instead of a table
  --check         exit 2 if a goal is missed (rl <= ${GOAL_VS_PODMAN}x podman, <= ${GOAL_VS_UNSHARE}x unshare)
  --no-podman     leave podman out
  --network MODE  none (default: the goals are set for it) or slirp4netns (both tools' default network)
  --rl-also OPTS  also time rl with these run options, e.g. "--security-opt seccomp=unconfined" (repeatable)
  --baseline RL   also time another rl executable (e.g. an earlier commit's helpers/build/rl), with its own store
`;
  (code === 0 ? process.stdout : process.stderr).write(text);
  process.exit(code);
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { rounds: 20, image: "", json: false, check: false, podman: true, network: "none", rlAlso: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) {
        process.stderr.write(`Cannot parse arguments: ${flag} needs a value\n`);
        usage(64);
      }
      return v;
    };
    switch (flag) {
      case "--rounds": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) {
          process.stderr.write("Cannot parse arguments: --rounds needs a positive integer\n");
          usage(64);
        }
        opts.rounds = n;
        break;
      }
      case "--image":
        opts.image = value();
        break;
      case "--json":
        opts.json = true;
        break;
      case "--check":
        opts.check = true;
        break;
      case "--no-podman":
        opts.podman = false;
        break;
      case "--rl-also":
        opts.rlAlso.push(value());
        break;
      case "--baseline":
        opts.baseline = resolve(value());
        break;
      case "--network": {
        const n = value();
        if (n !== "none" && n !== "slirp4netns") {
          process.stderr.write("Cannot parse arguments: --network is none or slirp4netns\n");
          usage(64);
        }
        opts.network = n;
        break;
      }
      case "-h":
      case "--help":
        usage(0);
      default:
        process.stderr.write(`Cannot parse arguments: unknown option ${a}\n`);
        usage(64);
    }
  }
  return opts;
}

/** Make an `oci:PATH[:REF]` image absolute (PATH relative to `base`); other images are left alone. */
function absoluteOci(image: string, base: string): string {
  if (!image.startsWith("oci:")) return image;
  const rest = image.slice(4);
  // PATH may not contain ':'; the first ':' after it starts the ref (which may itself hold ':').
  const colon = rest.indexOf(":");
  const path = colon < 0 ? rest : rest.slice(0, colon);
  const ref = colon < 0 ? "" : rest.slice(colon);
  return `oci:${isAbsolute(path) ? path : resolve(base, path)}${ref}`;
}

interface Cmd {
  name: string;
  argv: string[];
  note?: string;
  env?: Record<string, string | undefined>;
}

interface Result {
  name: string;
  argv: string[];
  ok: boolean;
  error?: string;
  note?: string;
  samplesMs: number[];
  medianMs?: number;
  p10Ms?: number;
  p90Ms?: number;
  minMs?: number;
  meanMs?: number;
}

interface Outcome {
  code: number;
  ms: number;
  stdout: string;
  stderr: string;
}

function exec(argv: string[], keepStdout = false, env: Record<string, string | undefined> = process.env): Outcome {
  const t0 = performance.now();
  const p = Bun.spawnSync(argv, {
    cwd: REPO,
    stdin: "ignore",
    stdout: keepStdout ? "pipe" : "ignore",
    stderr: "pipe",
    env,
  });
  const ms = performance.now() - t0;
  return {
    code: p.exitCode ?? 128 + 9,
    ms,
    stdout: keepStdout && p.stdout ? p.stdout.toString() : "",
    stderr: p.stderr ? p.stderr.toString() : "",
  };
}

function tryExec(argv: string[], keepStdout = false, env?: Record<string, string | undefined>): Outcome {
  try {
    return exec(argv, keepStdout, env);
  } catch (e) {
    return { code: 127, ms: 0, stdout: "", stderr: String((e as Error).message ?? e) };
  }
}

function lastLines(s: string, n = 4): string {
  return s.trim().split("\n").slice(-n).join(" | ");
}

/** Linear-interpolated percentile of sorted data, q in [0,1]. */
function percentile(sorted: number[], q: number): number {
  if (sorted.length === 1) return sorted[0]!;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function summarize(r: Result): void {
  if (r.samplesMs.length === 0) return;
  const s = [...r.samplesMs].sort((a, b) => a - b);
  r.medianMs = percentile(s, 0.5);
  r.p10Ms = percentile(s, 0.1);
  r.p90Ms = percentile(s, 0.9);
  r.minMs = s[0]!;
  r.meanMs = s.reduce((a, b) => a + b, 0) / s.length;
}

function version(argv: string[]): string {
  const o = tryExec(argv, true);
  return o.code === 0 ? o.stdout.trim().split("\n")[0]! : "unavailable";
}

const opts = parseArgs(Bun.argv.slice(2));
const log = (s: string) => {
  if (!opts.json) process.stdout.write(s + "\n");
  else process.stderr.write(s + "\n");
};

if (process.getuid?.() === 0) {
  process.stderr.write("Cannot benchmark: run this as an ordinary (non-root) user; rootless is the point\n");
  process.exit(64);
}

const image = opts.image ? absoluteOci(opts.image, process.cwd()) : absoluteOci(DEFAULT_IMAGE, REPO);
if (image.startsWith("oci:")) {
  const dir = image.slice(4).split(":")[0]!;
  if (!existsSync(dir)) {
    process.stderr.write(`Cannot find image layout: ${dir}\n`);
    process.exit(66);
  }
}

/** The config digest (image id) of the single image in an oci: layout, or undefined. */
function storedIdOf(ref: string): string | undefined {
  try {
    const dir = ref.replace(/^oci:/, "").replace(/:[^/]*$/, "");
    const blob = (d: string) => JSON.parse(readFileSync(`${dir}/blobs/${d.replace(":", "/")}`, "utf8"));
    const index = JSON.parse(readFileSync(`${dir}/index.json`, "utf8"));
    const manifest = blob(index.manifests[0].digest);
    return manifest.config?.digest?.replace(/^sha256:/, "");
  } catch {
    return undefined;
  }
}

const bun = process.execPath;
const loadavgBefore = loadavg().map((x) => Math.round(x * 100) / 100);
const results: Result[] = [];
const cmds: Cmd[] = [];
const newResult = (c: Cmd): Result => ({ name: c.name, argv: c.argv, ok: true, note: c.note, samplesMs: [] });

// (a) rl: warm the store with one untimed run.
const rl: Cmd = { name: "rl", argv: [RL, "run", "--rm", "--network", opts.network, image, "true"] };
{
  log(`warming rl store: ${rl.argv.slice(1).join(" ")}`);
  const r = newResult(rl);
  const w = tryExec(rl.argv);
  if (w.code !== 0) {
    r.ok = false;
    r.error = `warm-up exited ${w.code}: ${lastLines(w.stderr)}`;
    log(`rl failed: ${r.error}`);
  } else {
    // Run by the stored image's id, as podman does below: the timed runs do not read the layout again.
    const ids = tryExec([RL, "images", "-q"]).stdout.trim().split("\n");
    const id = storedIdOf(image);
    if (id && ids.some((i) => id.startsWith(i))) rl.argv = [RL, "run", "--rm", "--network", opts.network, id.slice(0, 12), "true"];
    r.argv = rl.argv;
    cmds.push(rl);
  }
  results.push(r);
  // The same run with other options: its own row, timed in the same rounds.
  for (const extra of r.ok ? opts.rlAlso : []) {
    const argv = [...rl.argv.slice(0, 3), ...extra.split(/\s+/).filter(Boolean), ...rl.argv.slice(3)];
    const w = tryExec(argv);
    const also: Result = { name: `rl ${extra}`, argv, ok: w.code === 0, samplesMs: [], ...(w.code === 0 ? {} : { error: `warm-up exited ${w.code}: ${lastLines(w.stderr)}` }) };
    results.push(also);
    if (also.ok) cmds.push({ name: also.name, argv });
  }
}

// (a') an earlier build of rl, on a store of its own (its schema may be older), timed in the same rounds.
if (opts.baseline) {
  const dir = mkdtempSync(join(tmpdir(), "rl-bench-baseline-"));
  const env = { ...process.env, RL_ROOT: join(dir, "root"), RL_RUNROOT: join(dir, "run") };
  process.on("exit", () => {
    Bun.spawnSync([opts.baseline!, "system", "reset", "-f"], { env, stdout: "ignore", stderr: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  });
  const argv = [opts.baseline, "run", "--rm", "--network", opts.network, image, "true"];
  const w = tryExec(argv, false, env);
  const r: Result = { name: "rl (baseline)", argv, ok: w.code === 0, samplesMs: [], note: opts.baseline, ...(w.code === 0 ? {} : { error: `warm-up exited ${w.code}: ${lastLines(w.stderr)}` }) };
  const id = storedIdOf(image);
  if (r.ok && id) r.argv = [opts.baseline, "run", "--rm", "--network", opts.network, id.slice(0, 12), "true"];
  results.push(r);
  if (r.ok) cmds.push({ name: r.name, argv: r.argv, note: r.note, env });
}

// (b) podman: pull the same image into podman's own store (kept afterwards as a cache), run by id.
let podmanInfo = "";
if (opts.podman) {
  const r: Result = { name: "podman", argv: [], ok: false, samplesMs: [] };
  results.push(r);
  const which = Bun.which("podman");
  if (!which) {
    r.error = "podman not found on PATH";
    log(`podman skipped: ${r.error}`);
  } else {
    log(`pulling into podman: podman pull -q ${image}`);
    const pull = tryExec(["podman", "pull", "-q", image], true);
    const id = pull.stdout.trim().split("\n").pop()?.trim() ?? "";
    if (pull.code !== 0 || !/^[0-9a-f]{12,64}$/.test(id)) {
      r.error = `podman pull exited ${pull.code}: ${lastLines(pull.stderr || pull.stdout)}`;
      log(`podman skipped: ${r.error}`);
    } else {
      const argv = ["podman", "--runtime", "runc", "run", "--rm", "--network", opts.network, id, "true"];
      r.argv = argv;
      const w = tryExec(argv);
      if (w.code !== 0) {
        r.error = `warm-up exited ${w.code}: ${lastLines(w.stderr)}`;
        log(`podman skipped: ${r.error}`);
      } else {
        r.ok = true;
        const inf = tryExec(["podman", "info", "--format", "{{.Store.GraphDriverName}}"], true);
        podmanInfo = inf.code === 0 ? `storage driver ${inf.stdout.trim()}` : "";
        r.note = `image ${id.slice(0, 12)}${podmanInfo ? ", " + podmanInfo : ""}`;
        cmds.push({ name: "podman", argv, note: r.note });
      }
    }
  }
}

// (c) unshare: the floor (same namespaces minus UTS/IPC, same newuidmap-based id maps with --map-auto).
{
  const base = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "true"];
  const auto = ["unshare", "--user", "--map-auto", "--map-root-user", "--mount", "--pid", "--fork", "true"];
  let argv = auto;
  let note: string | undefined = "--map-auto (subuid ranges via newuidmap)";
  // The probe doubles as the warm-up run; fall back only if the plain form works where --map-auto did not.
  const probe = tryExec(auto);
  let w = probe;
  if (probe.code !== 0) {
    const plain = tryExec(base);
    if (plain.code === 0) {
      argv = base;
      w = plain;
      note = `--map-auto failed (${lastLines(probe.stderr, 1)}); fell back to --map-root-user only`;
      log(`unshare: ${note}`);
    }
  }
  const r: Result = { name: "unshare", argv, ok: true, note, samplesMs: [] };
  if (w.code !== 0) {
    r.ok = false;
    r.error = `exited ${w.code}: ${lastLines(w.stderr)}`;
    log(`unshare failed: ${r.error}`);
  } else cmds.push({ name: "unshare", argv, note });
  results.push(r);
}

// (d) bun: Bun's share of rl's start-up (start, node:fs, SQLite with one write, bun:ffi loading the
// executor, exit), compiled into an executable as rl is; for reference: no goal is set against it.
{
  const dir = mkdtempSync(join(tmpdir(), "rl-bench-floor-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const exe = join(dir, "bun-floor");
  const built = tryExec([bun, "build", "--compile", "--bytecode", "--format=esm", "--define", `RL_PACKAGE_ROOT=${JSON.stringify(REPO)}`, join(REPO, "bench/bun-floor.ts"), "--outfile", exe]);
  const argv = [exe, join(dir, "floor.db")];
  const w = built.code === 0 ? tryExec(argv) : built;
  const r: Result = { name: "bun", argv, ok: w.code === 0, note: "reference: a Bun executable (compiled as rl's) that starts, loads node:fs, writes to SQLite, loads the executor through bun:ffi and exits", samplesMs: [] };
  if (w.code !== 0) {
    r.error = `exited ${w.code}: ${lastLines(w.stderr)}`;
    log(`bun floor failed: ${r.error}`);
  } else cmds.push({ name: "bun", argv, note: r.note });
  results.push(r);
}

// Timed rounds, rotating the order.
const byName = new Map(results.map((r) => [r.name, r]));
let active = [...cmds];
log(`timing ${opts.rounds} rounds of: ${active.map((c) => c.name).join(", ")} (order rotates each round)`);
for (let round = 0; round < opts.rounds && active.length > 0; round++) {
  const order = active.map((_, i) => active[(i + round) % active.length]!);
  for (const c of order) {
    const r = byName.get(c.name)!;
    if (!r.ok) continue;
    const o = tryExec(c.argv, false, c.env);
    if (o.code !== 0) {
      r.ok = false;
      r.error = `round ${round + 1} exited ${o.code}: ${lastLines(o.stderr)}`;
      log(`${c.name} failed: ${r.error}`);
      continue;
    }
    r.samplesMs.push(o.ms);
  }
  active = active.filter((c) => byName.get(c.name)!.ok);
}
for (const r of results) summarize(r);

// Ratios and goals.
const med = (n: string) => {
  const r = byName.get(n);
  return r && r.ok && r.medianMs !== undefined ? r.medianMs : undefined;
};
const rlMs = med("rl");
const podmanMs = med("podman");
const unshareMs = med("unshare");
const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
const rlOverPodman = ratio(rlMs, podmanMs);
const rlOverUnshare = ratio(rlMs, unshareMs);
const goals = {
  rlOverPodman: { goal: GOAL_VS_PODMAN, value: rlOverPodman, met: rlOverPodman === undefined ? null : rlOverPodman <= GOAL_VS_PODMAN },
  rlOverUnshare: { goal: GOAL_VS_UNSHARE, value: rlOverUnshare, met: rlOverUnshare === undefined ? null : rlOverUnshare <= GOAL_VS_UNSHARE },
};

const host = {
  kernel: release(),
  bun: Bun.version,
  rl: rlStartMode(),
  podman: opts.podman ? version(["podman", "--version"]) : "podman not run",
  runc: opts.podman ? version(["runc", "--version"]) : "runc not run",
  unshare: version(["unshare", "--version"]),
  loadavgBefore,
  uid: process.getuid?.(),
};

if (opts.json) {
  const round2 = (x?: number) => (x === undefined ? undefined : Math.round(x * 100) / 100);
  process.stdout.write(
    JSON.stringify(
      {
        benchmark: "run-true",
        network: opts.network,
        rounds: opts.rounds,
        image,
        host,
        results: results.map((r) => ({
          ...r,
          samplesMs: r.samplesMs.map((x) => round2(x)),
          medianMs: round2(r.medianMs),
          p10Ms: round2(r.p10Ms),
          p90Ms: round2(r.p90Ms),
          minMs: round2(r.minMs),
          meanMs: round2(r.meanMs),
        })),
        goals,
      },
      null,
      2,
    ) + "\n",
  );
} else {
  const f = (x?: number) => (x === undefined ? "-" : x.toFixed(1));
  const fr = (x?: number) => (x === undefined ? "-" : x.toFixed(3) + "x");
  const rows: string[][] = [["command", "n", "median ms", "p10 ms", "p90 ms", "rl/this"]];
  for (const r of results) {
    rows.push([
      r.name,
      String(r.samplesMs.length),
      r.ok ? f(r.medianMs) : "failed",
      f(r.p10Ms),
      f(r.p90Ms),
      r.name === "rl" ? "1.000x" : fr(ratio(rlMs, r.ok ? r.medianMs : undefined)),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log("");
  console.log(`image ${image}; --network ${opts.network}; ${opts.rounds} rounds; kernel ${host.kernel}; bun ${host.bun}; rl runs its ${host.rl}; ${host.podman}; load ${host.loadavgBefore.join(" ")}`);
  console.log(line(rows[0]!));
  for (const row of rows.slice(1)) console.log(line(row));
  console.log("");
  for (const r of results) {
    if (r.argv.length) console.log(`${r.name}: ${r.argv.map((a) => (a === bun ? "bun" : a)).join(" ")}`);
    if (r.note) console.log(`  note: ${r.note}`);
    if (r.error) console.log(`  error: ${r.error}`);
  }
  console.log("");
  const verdict = (g: { goal: number; value?: number; met: boolean | null }) =>
    g.met === null ? "not measured" : `${fr(g.value)} ${g.met ? "MET" : "MISSED"}`;
  console.log(`goal rl/podman  <= ${GOAL_VS_PODMAN}x: ${verdict(goals.rlOverPodman)}`);
  console.log(`goal rl/unshare <= ${GOAL_VS_UNSHARE}x:    ${verdict(goals.rlOverUnshare)}`);
}

const rlResult = byName.get("rl")!;
if (!rlResult.ok) process.exit(1);
if (opts.check && (goals.rlOverPodman.met === false || goals.rlOverUnshare.met === false)) process.exit(2);
