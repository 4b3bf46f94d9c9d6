#!/usr/bin/env bun
/**
 * TCP throughput of a container's network: rl against rootless podman (runc, slirp4netns), with
 * iperf3 (the host's Debian binary, bind-mounted into a busybox container with its libraries).
 * Run it as an ordinary user (not root):
 *
 *   bun bench/net-throughput.ts [--rounds N] [--seconds S] [--no-podman] [--json]
 *
 * Cases, each run once per round with the order rotated every round:
 * - host → container through a published port (iperf3 -s in the container, -c on the host):
 *   rl's own forwarder, rl with slirp4netns's API forwarding (at MTU 65520 and 1500), podman's default
 *   (rootlessport), podman with port_handler=slirp4netns; and rl's forwarder with a client on the host's
 *   non-loopback IPv4 address, which it passes on as the source inside (IP_TRANSPARENT). rl's forwarder and rootlessport connect to
 *   the container's address from inside its namespace (local delivery), so the MTU of tap0 does not
 *   matter to them.
 * - container → host through slirp4netns (iperf3 -s on the host's 127.0.0.1, -c in the container to
 *   10.0.2.2 with allow_host_loopback): rl and podman at MTU 65520, rl at 1500.
 * Also the resident memory of rl's forwarder (and podman's rootlessport) during the transfer.
 * Traffic stays on 127.0.0.1 and inside the containers' namespaces.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, release } from "node:os";
import { resolve } from "node:path";
import { RL, rlStartMode } from "./rl-command";

const REPO = resolve(import.meta.dir, "..");
const IMAGE_DIR = resolve(REPO, "../shared/fixtures/oci/busybox-1.38.0-musl-amd64");
const IPERF = "/usr/bin/iperf3";
const LIBDIRS = ["/lib/x86_64-linux-gnu", "/lib64"];

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const value = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROUNDS = value("--rounds", 3);
const SECONDS = value("--seconds", 3);
const PODMAN = !flag("--no-podman") && Bun.which("podman") !== null;

/** A non-loopback IPv4 address of this host, for the case where the client keeps its address. */

const mounts = [IPERF, ...LIBDIRS].flatMap((p) => ["-v", `${p}:${p}:ro`]);

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Read a process's stdout until `marker` appears. */
async function waitFor(stream: ReadableStream<Uint8Array>, marker: string): Promise<void> {
  const reader = stream.getReader();
  let text = "";
  while (!text.includes(marker)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the server ended before "${marker}": ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
}

function gbits(json: string): number {
  const r = JSON.parse(json);
  if (r.error) throw new Error(r.error);
  return r.end.sum_received.bits_per_second / 1e9;
}

function childrenNamed(name: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/comm`, "utf8").trim() === name) out.push(Number(e));
    } catch {}
  }
  return out;
}

/** VmRSS and the private part (what this process alone costs) in MiB. */
function memory(pid: number): { rss: number; private: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (text: string, key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? 0);
    return { rss: kb(status, "VmRSS") / 1024, private: (kb(rollup, "Private_Clean") + kb(rollup, "Private_Dirty")) / 1024 };
  } catch {
    return undefined;
  }
}

type Tool = "rl" | "podman";
const memSamples: Record<string, { rss: number; private: number }[]> = {};

function runCommand(tool: Tool, opts: string[], image: string, cmd: string[]): string[] {
  if (tool === "rl") return [RL, "run", "--rm", ...opts, ...mounts, image, ...cmd];
  return ["podman", "--runtime", "runc", "run", "--rm", ...opts, ...mounts, image, ...cmd];
}

/**
 * iperf3 server in the container, client on the host through a published port, from `client` (a
 * non-loopback address: rl's forwarder then connects from that address inside, IP_TRANSPARENT).
 */
async function hostToContainer(tool: Tool, network: string, image: string, memOf?: string): Promise<number> {
  const client = "127.0.0.1"; // traffic to loopback only
  const port = await freePort();
  const server = Bun.spawn(runCommand(tool, ["--network", network, "-p", `${client}:${port}:5201`], image, [IPERF, "-s", "-1", "--forceflush"]), { stdout: "pipe", stderr: "pipe" });
  try {
    await waitFor(server.stdout as ReadableStream<Uint8Array>, "Server listening");
    const iperf = Bun.spawn([IPERF, "-c", client, "-p", String(port), "-t", String(SECONDS), "-J"], { stdout: "pipe", stderr: "pipe" });
    if (memOf) {
      await Bun.sleep((SECONDS * 1000) / 2);
      for (const pid of childrenNamed(memOf)) {
        const m = memory(pid);
        if (m) (memSamples[memOf] ??= []).push(m);
      }
    }
    const out = await new Response(iperf.stdout).text();
    await iperf.exited;
    return gbits(out);
  } finally {
    const t = setTimeout(() => server.kill(9), 5000);
    await server.exited;
    clearTimeout(t);
  }
}

/** iperf3 server on the host's loopback, client in the container to 10.0.2.2. */
async function containerToHost(tool: Tool, network: string, image: string): Promise<number> {
  const port = await freePort();
  const server = Bun.spawn([IPERF, "-s", "-1", "--forceflush", "-B", "127.0.0.1", "-p", String(port)], { stdout: "pipe", stderr: "pipe" });
  try {
    await waitFor(server.stdout as ReadableStream<Uint8Array>, "Server listening");
    const client = Bun.spawn(runCommand(tool, ["--network", network], image, [IPERF, "-c", "10.0.2.2", "-p", String(port), "-t", String(SECONDS), "-J"]), { stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(client.stdout).text(), new Response(client.stderr).text()]);
    if ((await client.exited) !== 0 && !out) throw new Error(err);
    return gbits(out);
  } finally {
    const t = setTimeout(() => server.kill(9), 5000);
    await server.exited;
    clearTimeout(t);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main() {
  if (process.getuid!() === 0) throw new Error("run this as an ordinary user: rootless networking is what it measures");
  const rlImage = `oci:${IMAGE_DIR}`;
  let podmanImage = "";
  if (PODMAN) {
    const pull = Bun.spawnSync(["podman", "pull", "-q", `oci:${IMAGE_DIR}`], { stdout: "pipe", stderr: "pipe" });
    podmanImage = pull.stdout.toString().trim();
    if (!podmanImage) throw new Error(`podman pull failed: ${pull.stderr}`);
  }
  // Warm-up: rl stores the image, podman has it.
  Bun.spawnSync(runCommand("rl", ["--network", "none"], rlImage, ["true"]));

  const loop = "slirp4netns:allow_host_loopback=true";
  const cases: { name: string; run: () => Promise<number> }[] = [
    { name: "host→ctr rl (own forwarder)", run: () => hostToContainer("rl", "slirp4netns", rlImage, "rl-portfwd") },
    { name: "host→ctr rl (slirp4netns API)", run: () => hostToContainer("rl", "slirp4netns:port_handler=slirp4netns", rlImage) },
    { name: "host→ctr rl (slirp4netns API), MTU 1500", run: () => hostToContainer("rl", "slirp4netns:port_handler=slirp4netns,mtu=1500", rlImage) },
    { name: "ctr→host rl", run: () => containerToHost("rl", loop, rlImage) },
    { name: "ctr→host rl, MTU 1500", run: () => containerToHost("rl", `${loop},mtu=1500`, rlImage) },
  ];
  if (PODMAN) {
    cases.push(
      { name: "host→ctr podman (rootlessport)", run: () => hostToContainer("podman", "slirp4netns", podmanImage, "rootlessport") },
      { name: "host→ctr podman (slirp4netns API)", run: () => hostToContainer("podman", "slirp4netns:port_handler=slirp4netns", podmanImage) },
      { name: "ctr→host podman", run: () => containerToHost("podman", loop, podmanImage) },
    );
  }
  const results: Record<string, number[]> = {};
  process.stderr.write(`load average ${loadavg().map((l) => l.toFixed(2)).join(" ")}, kernel ${release()}, ${ROUNDS} rounds of ${SECONDS} s, rl runs its ${rlStartMode()}\n`);
  for (let round = 0; round < ROUNDS; round++) {
    const order = cases.map((_, i) => cases[(i + round) % cases.length]!);
    for (const c of order) {
      try {
        const v = await c.run();
        (results[c.name] ??= []).push(v);
        process.stderr.write(`round ${round + 1}: ${c.name}: ${v.toFixed(2)} Gbit/s\n`);
      } catch (err) {
        process.stderr.write(`round ${round + 1}: ${c.name}: failed: ${(err as Error).message.split("\n")[0]}\n`);
      }
    }
  }
  const med = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, median(v)]));
  const mem = Object.fromEntries(Object.entries(memSamples).map(([k, v]) => [k, { rss: median(v.map((m) => m.rss)), private: median(v.map((m) => m.private)) }]));
  if (flag("--json")) {
    console.log(JSON.stringify({ rounds: ROUNDS, seconds: SECONDS, results, medians: med, memoryMiB: mem, load: loadavg(), kernel: release() }, null, 2));
    return;
  }
  console.log("| case | median Gbit/s | runs |");
  console.log("|---|---|---|");
  for (const c of cases) if (results[c.name]) console.log(`| ${c.name} | ${med[c.name]!.toFixed(2)} | ${results[c.name]!.map((v) => v.toFixed(2)).join(", ")} |`);
  const ratio = (a: string, b: string) => (med[a] && med[b] ? `${(med[a]! / med[b]!).toFixed(2)}x` : "n/a");
  console.log(`\nrl / podman, host→container: ${ratio("host→ctr rl (own forwarder)", "host→ctr podman (rootlessport)")}`);
  console.log(`rl / podman, container→host: ${ratio("ctr→host rl", "ctr→host podman")}`);
  console.log(`MTU 65520 / 1500: host→container through slirp4netns ${ratio("host→ctr rl (slirp4netns API)", "host→ctr rl (slirp4netns API), MTU 1500")}, container→host ${ratio("ctr→host rl", "ctr→host rl, MTU 1500")}`);
  for (const [k, m] of Object.entries(mem)) {
    const all = memSamples[k]!.map((s) => `${s.rss.toFixed(1)}/${s.private.toFixed(1)}`).join(", ");
    console.log(`memory of ${k} (median during transfer): RSS ${m.rss.toFixed(1)} MiB, private ${m.private.toFixed(1)} MiB (samples rss/private: ${all})`);
  }
}

await main();
