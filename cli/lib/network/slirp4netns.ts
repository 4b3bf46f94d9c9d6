import { closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import { atomicWriteFile } from "../atomic-write";
import { closeFd } from "../sys/executor";
import { makePipe, readByte, waitReadable } from "../sys/net";
import type { SlirpOptions } from "./options";
import type { PortMapping } from "./ports";

export const SLIRP_MISSING = "slirp4netns is not installed, so containers cannot get a network of their own (Debian/Ubuntu: apt install slirp4netns; or use --network none or host)";

export interface Slirp {
  proc: ReturnType<typeof Bun.spawn>;
  /** Closing it makes slirp4netns exit (--exit-fd); it also closes when rl dies, however it dies. */
  exitWrite: number;
  apiSocket?: string;
}

interface Features {
  sandbox: boolean;
  seccomp: boolean;
}

/** Which hardening flags this slirp4netns has: read from its --help once, cached by binary identity. */
function features(bin: string, runtimeDir: string): Features {
  const st = statSync(bin);
  const key = `${bin}:${st.size}:${st.mtimeMs}`;
  const cache = join(runtimeDir, "slirp4netns-features.json");
  try {
    const c = JSON.parse(readFileSync(cache, "utf8"));
    if (c.key === key) return c.features;
  } catch {}
  const help = Bun.spawnSync([bin, "--help"], { stdout: "pipe", stderr: "pipe" });
  const text = help.stdout.toString() + help.stderr.toString();
  const f = { sandbox: text.includes("--enable-sandbox"), seccomp: text.includes("--enable-seccomp") };
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  atomicWriteFile(cache, JSON.stringify({ key, features: f }));
  return f;
}

export function slirpBinary(): string {
  const bin = process.env.RL_SLIRP4NETNS ?? Bun.which("slirp4netns");
  if (!bin || !existsSync(bin)) throw new RlError(SLIRP_MISSING);
  return bin;
}

/**
 * Start slirp4netns for the network namespace of `pid` and wait until tap0 is configured. The
 * container is still held before its workload, so the workload starts with the network up.
 */
export async function startSlirp(pid: number, o: SlirpOptions, runtimeDir: string, apiSocket?: string): Promise<Slirp> {
  const bin = slirpBinary();
  const f = features(bin, runtimeDir);
  const ready = makePipe();
  const exit = makePipe();
  const args = [bin, "--configure", `--mtu=${o.mtu}`, "--ready-fd=3", "--exit-fd=4", `--cidr=${o.cidr}`];
  if (!o.allowHostLoopback) args.push("--disable-host-loopback");
  if (o.enableIpv6) args.push("--enable-ipv6");
  if (f.sandbox) args.push("--enable-sandbox");
  if (f.seccomp) args.push("--enable-seccomp");
  if (apiSocket) args.push(`--api-socket=${apiSocket}`);
  args.push(String(pid), "tap0");
  // Its messages go to a log file: a pipe nobody reads could fill up and stall it.
  const log = join(runtimeDir, "slirp4netns.log");
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  // O_NOFOLLOW: a link in its place is not rl's, and must not send slirp4netns's output elsewhere.
  const logFd = openSync(log, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn(args, { stdio: ["ignore", logFd, logFd, ready.write, exit.read] });
  } finally {
    closeFd(ready.write);
    closeFd(exit.read);
    closeSync(logFd);
  }
  const up = waitReadable(ready.read, 10_000) && readByte(ready.read) === "1".charCodeAt(0);
  closeFd(ready.read);
  if (!up) {
    closeFd(exit.write);
    proc.kill(9);
    await proc.exited;
    // Its last words, but for the warnings it prints at every start ("Support for seccomp is experimental").
    const err = readFileSync(log, "utf8").trim().split("\n").filter((l) => l && !l.startsWith("WARNING:")).pop();
    // Inside a container (a CI job): rootless podman and docker give none unless asked.
    const tun = existsSync("/dev/net/tun") ? "" : " (there is no /dev/net/tun: if rl runs in a container, run that container with --device /dev/net/tun, or use --network none or host)";
    throw new RlError(`cannot start slirp4netns: ${err ?? "it did not report ready"}${tun}`);
  }
  return { proc, exitWrite: exit.write, apiSocket };
}

/**
 * Stop slirp4netns and wait until it is gone. Its exit takes ~20 ms here (the kernel tears tap0 and the
 * network namespace down), so callers start this first and do other cleanup meanwhile.
 */
export async function stopSlirp(s: Slirp): Promise<void> {
  closeFd(s.exitWrite);
  const t = setTimeout(() => s.proc.kill(9), 2000);
  await s.proc.exited;
  clearTimeout(t);
}

/** Publish ports through slirp4netns's own forwarding (its API socket, add_hostfwd). */
export async function slirpAddHostfwd(socketPath: string, ports: PortMapping[]): Promise<void> {
  const { connect } = await import("node:net");
  for (const p of ports) {
    const request = { execute: "add_hostfwd", arguments: { proto: p.proto, host_addr: p.hostIp || "0.0.0.0", host_port: p.hostPort, guest_port: p.containerPort } };
    const reply = await new Promise<string>((resolve, reject) => {
      let data = "";
      const s = connect(socketPath, () => s.end(JSON.stringify(request)));
      s.on("data", (d) => (data += d));
      s.on("end", () => resolve(data));
      s.on("error", reject);
    });
    const parsed = JSON.parse(reply || "{}");
    if (parsed.error) throw new RlError(`cannot publish port ${p.hostPort}/${p.proto} through slirp4netns: ${parsed.error.desc ?? JSON.stringify(parsed.error)}`);
  }
}
