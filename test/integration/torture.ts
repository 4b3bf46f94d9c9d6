import { Database } from "bun:sqlite";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runInUserNamespace } from "../../cli/lib/rootfs/userns-job";
import { BUSYBOX, FIXTURES, makeEnv, rl, RL_BIN, type TestEnv } from "./harness";
import { fill, startRegistry, type Registry } from "./registry-harness";

// kill -9 of every command that writes the store, at random moments, and what the store looks like
// after the next command: test/integration/torture.test.ts runs a few trials of each, bench/torture.ts
// as many as asked.

export const COMMANDS = ["pull", "load", "import", "rmi", "prune", "reset", "run", "rm"] as const;
export type Command = (typeof COMMANDS)[number];

export interface Figures {
  command: Command;
  trials: number;
  /** Trials in which rl was killed before it ended by itself. */
  kills: number;
  /** Trials after which every check held. */
  consistent: number;
  failures: string[];
}

const IMAGE = "localhost/t:1";
const ALPINE_LAYOUT = `oci:${FIXTURES}/oci/alpine-3.20.3:3.20.3`;
const ROOTFS = `${FIXTURES}/rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz`;

/** The store's files as a size: how many and their bytes (not the database, its lock files and reserve, which a command may keep). */
async function storeSize(t: TestEnv): Promise<{ files: number; bytes: number; paths: Set<string> }> {
  const data = t.env.RL_ROOT!;
  if (!existsSync(data)) return { files: 0, bytes: 0, paths: new Set() };
  const out = join(t.root, "size.txt");
  // Unpacked files belong to subordinate ids: counted from inside the user namespace.
  const script = `find '${data}' -type f ! -path '${data}/rl.db*' ! -path '${data}/locks/*' ! -path '${data}/reserve' -printf '%s %P\\n' > '${out}'`;
  const code = await runInUserNamespace(["/bin/sh", "-c", script]);
  if (code !== 0) throw new Error(`find in the store failed (${code})`);
  const lines = readFileSync(out, "utf8").split("\n").filter(Boolean);
  rmSync(out);
  const sizes = lines.map((l) => Number(l.slice(0, l.indexOf(" "))));
  return { files: sizes.length, bytes: sizes.reduce((a, b) => a + b, 0), paths: new Set(lines.map((l) => l.slice(l.indexOf(" ") + 1))) };
}

const sha256 = (bytes: Uint8Array) => `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;

/** What must hold after any kill and the next command; returns what did not. */
async function check(t: TestEnv): Promise<string[]> {
  const bad: string[] = [];
  const data = t.env.RL_ROOT!;
  if (existsSync(join(data, "rl.db"))) {
    const db = new Database(join(data, "rl.db"), { readonly: true });
    try {
      const integrity = (db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check;
      if (integrity !== "ok") bad.push(`integrity_check: ${integrity}`);
      const images = db.query("SELECT id, manifest_digest, layers FROM images").all() as { id: string; manifest_digest: string; layers: string }[];
      for (const img of images) {
        const blob = (digest: string) => {
          const file = join(data, "blobs/sha256", digest.slice(7));
          if (!existsSync(file)) return void bad.push(`image ${img.id.slice(7, 19)}: blob ${digest} missing`);
          const bytes = readFileSync(file);
          if (sha256(bytes) !== digest) bad.push(`image ${img.id.slice(7, 19)}: blob ${digest} does not match its digest`);
          return bytes;
        };
        blob(img.id);
        const manifest = blob(img.manifest_digest);
        if (manifest) for (const l of JSON.parse(manifest.toString()).layers) blob(l.digest);
        for (const chain of JSON.parse(img.layers) as string[]) {
          if (!db.query("SELECT 1 FROM layers WHERE chain_id = ?").get(chain)) bad.push(`image ${img.id.slice(7, 19)}: layer ${chain} not recorded`);
          if (!existsSync(join(data, "layers", chain.slice(7)))) bad.push(`image ${img.id.slice(7, 19)}: layer ${chain} missing`);
        }
      }
    } finally {
      db.close();
    }
  }
  if (existsSync(join(data, "tmp")) && readdirSync(join(data, "tmp")).length) bad.push(`tmp/ not empty: ${readdirSync(join(data, "tmp")).join(" ")}`);
  const listed = await rl(["images", "--format", "json"], { env: t.env });
  if (listed.code !== 0) return [...bad, `rl images: ${listed.stderr}`];
  for (const img of JSON.parse(listed.stdout) as { Id: string }[]) {
    const r = await rl(["run", "--rm", "--network", "none", img.Id, "true"], { env: t.env });
    if (r.code !== 0) bad.push(`image ${img.Id.slice(0, 12)} does not run: ${r.stderr.trim()}`);
  }
  return bad;
}

/** Wait (up to 10 s) until the container processes of a killed rl are gone: their parent's death ends them, not at once. */
async function containersGone(t: TestEnv): Promise<void> {
  const file = join(t.env.RL_ROOT!, "rl.db");
  if (!existsSync(file)) return;
  const db = new Database(file, { readonly: true });
  let rows: { pid: number; pid_start: string }[];
  try {
    rows = db.query("SELECT pid, pid_start FROM containers WHERE pid IS NOT NULL AND pid_start IS NOT NULL").all() as typeof rows;
  } finally {
    db.close();
  }
  const alive = (r: { pid: number; pid_start: string }) => {
    try {
      const stat = readFileSync(`/proc/${r.pid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] === r.pid_start;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 500 && rows.some(alive); i++) await Bun.sleep(20);
}

/** The store as a command expects it before it runs (a busybox image that nothing touches is always there). */
async function prepare(t: TestEnv, c: Command, files: { archive: string; base: string }): Promise<void> {
  const must = async (args: string[]) => {
    const r = await rl(args, { env: t.env });
    if (r.code !== 0) throw new Error(`rl ${args.join(" ")}: ${r.stderr}`);
  };
  await must(["system", "reset", "-f"]);
  await must(["load", "-i", files.base]);
  if (c === "pull" || c === "load" || c === "import") return;
  await must(["load", "-i", files.archive]);
  if (c === "rm") await must(["run", "--name", "victim", "--network", "none", IMAGE, "sh", "-c", "head -c 3000000 /dev/zero > /f"]);
}

function argv(c: Command, registry: Registry, archive: string): string[] {
  switch (c) {
    case "pull":
      return ["pull", "-q", "--tls-verify=false", `${registry.host}/t:1`];
    case "load":
      return ["load", "-i", archive];
    case "import":
      return ["import", ROOTFS, "localhost/imported:1"];
    case "rmi":
      return ["rmi", IMAGE];
    case "prune":
      return ["image", "prune", "-a"];
    case "reset":
      return ["system", "reset", "-f"];
    case "run":
      return ["run", "--rm", "--network", "none", IMAGE, "sh", "-c", "head -c 3000000 /dev/zero > /f"];
    case "rm":
      return ["rm", "victim"];
  }
}

/**
 * For each command: one run to completion (how long it takes, and how it changes the store's size), then
 * `trials` runs killed with SIGKILL at a random moment of that time. After each, the next commands
 * (`rl ps -a`, `rl images`) run and the store is checked: the database's integrity, every image's
 * blobs against their digests, its layers recorded and present, every image runs, tmp/ empty, and the
 * store's size that of before the command or of after a complete one (nothing leaked).
 */
export async function torture(o: { trials: number; commands?: readonly Command[]; log?: (line: string) => void }): Promise<Figures[]> {
  const t = makeEnv();
  const registry = await startRegistry();
  const log = o.log ?? (() => {});
  try {
    const archive = join(t.root, "alpine.tar");
    const base = join(t.root, "base.tar");
    for (const [src, file, name] of [[ALPINE_LAYOUT, archive, IMAGE], [BUSYBOX, base, "localhost/base:1"]]) {
      const r = Bun.spawnSync(["skopeo", "copy", "-q", src!, `docker-archive:${file}:${name}`], { stderr: "pipe" });
      if (r.exitCode !== 0) throw new Error(`skopeo: ${r.stderr}`);
    }
    await fill(ALPINE_LAYOUT, `${registry.host}/t:1`);
    const out: Figures[] = [];
    for (const c of o.commands ?? COMMANDS) {
      const f: Figures = { command: c, trials: 0, kills: 0, consistent: 0, failures: [] };
      await prepare(t, c, { archive, base });
      const before = await storeSize(t);
      const start = performance.now();
      const whole = await rl(argv(c, registry, archive), { env: t.env });
      const took = performance.now() - start;
      if (whole.code !== 0) throw new Error(`rl ${c} failed: ${whole.stderr}`);
      await rl(["ps", "-a"], { env: t.env });
      const after = await storeSize(t);
      for (let i = 0; i < o.trials; i++) {
        await prepare(t, c, { archive, base });
        const pre = await storeSize(t);
        const p = Bun.spawn([RL_BIN, ...argv(c, registry, archive)], { env: t.env, stdout: "ignore", stderr: "ignore" });
        await Bun.sleep(Math.random() * took * 0.9);
        const killed = p.exitCode === null;
        p.kill("SIGKILL");
        await p.exited;
        await containersGone(t);
        const next = [await rl(["ps", "-a"], { env: t.env }), await rl(["images"], { env: t.env })];
        const bad = next.filter((r) => r.code !== 0).map((r) => `next command failed: ${r.stderr.trim()}`);
        const size = await storeSize(t);
        const complete = { files: pre.files + after.files - before.files, bytes: pre.bytes + after.bytes - before.bytes };
        if (!(size.files === pre.files && size.bytes === pre.bytes) && !(size.files === complete.files && size.bytes === complete.bytes)) {
          const added = [...size.paths].filter((x) => !pre.paths.has(x)).slice(0, 5);
          const gone = [...pre.paths].filter((x) => !size.paths.has(x)).slice(0, 5);
          const shown = (x: { files: number; bytes: number }) => `${x.files} files, ${x.bytes} bytes`;
          bad.push(`store size ${shown(size)}: before ${shown(pre)}, complete ${shown(complete)} (new: ${added.join(" ")}; gone: ${gone.join(" ")})`);
        }
        bad.push(...(await check(t)));
        f.trials++;
        if (killed) f.kills++;
        if (!bad.length) f.consistent++;
        else f.failures.push(`${killed ? "killed" : "ended"} trial ${i + 1}: ${bad.join("; ")}`);
        log(`${c} ${i + 1}/${o.trials}: ${killed ? "killed" : "ended first"}, ${bad.length ? `INCONSISTENT: ${bad.join("; ")}` : "consistent"}`);
      }
      out.push(f);
    }
    return out;
  } finally {
    await registry.stop();
    await t.cleanup();
  }
}
