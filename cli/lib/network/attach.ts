import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { RlError } from "../errors";
import { forkForwarder, listenOn, makePipe, readByte, waitReadable } from "../sys/net";
import { closeFd, killPid } from "../sys/executor";
import { pidStartTime } from "../sys/pid-start-time";
import { waitForExit } from "../sys/wait";
import { slirpAddresses, type NetworkConfig } from "./options";
import { formatHostAddress, type PortMapping } from "./ports";
import { slirpAddHostfwd, startSlirp, stopSlirp, type Slirp } from "./slirp4netns";

/** A helper process that must end with its container (recorded so a stale sweep can end it too). */
export interface HelperPid {
  role: "slirp4netns" | "forwarder";
  pid: number;
  start: string | null;
}

function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8"));
  } catch {
    return 1024;
  }
}

/** Bind one published port on the host, or say in one line which port and why not. */
function bindPort(p: PortMapping): { fd: number; port: number } {
  try {
    return listenOn(p.hostIp, p.hostPort, p.proto);
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    const where = `${formatHostAddress(p)}/${p.proto}`;
    if (errno === 98) throw new RlError(`cannot publish port ${where}: the address is already in use`);
    if (errno === 13) throw new RlError(`cannot publish port ${where}: ports below ${unprivilegedPortStart()} are privileged (net.ipv4.ip_unprivileged_port_start)`);
    if (errno === 99) throw new RlError(`cannot publish port ${where}: ${p.hostIp} is not an address of this host`);
    if (errno === 97) throw new RlError(`cannot publish port ${where}: this host has no IPv6`);
    throw new RlError(`cannot publish port ${where}: errno ${errno}`);
  }
}

/** How long the port forwarder may take to send on what a container wrote before it ended. */
const FORWARDER_DRAIN_MS = 5000;

/**
 * The network side of one container: host ports bound before anything starts (so "in use" fails early
 * and leaves nothing behind), then slirp4netns and the port forwarder attached to the held child.
 */
export class ContainerNetwork {
  private listeners: { fd: number; port: number }[] = [];
  private slirp?: Slirp;
  private forwarder?: { pid: number; exited: Promise<number> };

  constructor(readonly config: NetworkConfig, readonly ports: PortMapping[], private readonly runDir: string) {}

  /** Bind the published ports; ports asked as 0 get the free port the kernel chose. */
  bindPorts(): void {
    try {
      for (const p of this.ports) {
        const l = bindPort(p);
        this.listeners.push(l);
        p.hostPort = l.port;
      }
    } catch (err) {
      this.closeListeners();
      throw err;
    }
  }

  /**
   * Connect the held child `pid` (network namespace created, ids mapped) before it is released.
   * `detached`: the helpers outlive rl (see handOver).
   */
  async attach(pid: number, detached = false): Promise<void> {
    if (this.config.mode !== "slirp4netns") return;
    const o = this.config.slirp;
    const viaSlirp = o.portHandler === "slirp4netns" && this.ports.length > 0;
    this.slirp = await startSlirp(pid, o, this.runDir, viaSlirp ? join(this.runDir, "slirp4netns.sock") : undefined);
    if (!this.ports.length) return;
    if (viaSlirp) {
      // slirp4netns binds the ports itself: give them up just before it does.
      this.closeListeners();
      await slirpAddHostfwd(this.slirp.apiSocket!, this.ports);
      return;
    }
    this.forwarder = await startForwarder(pid, slirpAddresses(o.cidr).container, this.ports, this.listeners, detached);
  }

  /** The listeners are the forwarder's now (kept until the container runs, for a retry). */
  closeListeners(): void {
    for (const l of this.listeners) closeFd(l.fd);
    this.listeners = [];
  }

  helpers(): HelperPid[] {
    const out: HelperPid[] = [];
    if (this.slirp?.proc.pid) out.push({ role: "slirp4netns", pid: this.slirp.proc.pid, start: pidStartTime(this.slirp.proc.pid) ?? null });
    if (this.forwarder) out.push({ role: "forwarder", pid: this.forwarder.pid, start: pidStartTime(this.forwarder.pid) ?? null });
    return out;
  }

  /**
   * A detached container's helpers stay when rl exits: the descriptors its monitor keeps instead of rl
   * (slirp4netns ends when the last copy of its exit pipe closes); rl lets go of the processes, which
   * the container's exit command ends (they are recorded: see helpers()).
   */
  handOver(): number[] {
    const fds = this.slirp ? [this.slirp.exitWrite] : [];
    this.slirp?.proc.unref();
    return fds;
  }

  /** After handOver, once the monitor has its copies: rl's own go, and the helpers are no longer rl's to stop. */
  letGo(): void {
    if (this.slirp) closeFd(this.slirp.exitWrite);
    this.slirp = undefined;
    this.forwarder = undefined;
  }

  /**
   * Stop the forwarder and slirp4netns and wait until both are gone. The forwarder first sends on what
   * the container wrote before it ended (a slow client may still be reading a response), for at most
   * FORWARDER_DRAIN_MS.
   */
  async detach(): Promise<void> {
    if (this.forwarder) {
      const { pid, exited } = this.forwarder;
      killPid(pid, 15);
      const ended = await Promise.race([exited.then(() => true), Bun.sleep(FORWARDER_DRAIN_MS).then(() => false)]);
      if (!ended) {
        killPid(pid, 9);
        await exited;
      }
      this.forwarder = undefined;
    }
    if (this.slirp) {
      await stopSlirp(this.slirp);
      this.slirp = undefined;
    }
  }
}

async function startForwarder(pid: number, containerIp: string, ports: PortMapping[], listeners: { fd: number }[], detached: boolean): Promise<{ pid: number; exited: Promise<number> }> {
  const userns = openSync(`/proc/${pid}/ns/user`, "r");
  const netns = openSync(`/proc/${pid}/ns/net`, "r");
  const ready = makePipe();
  let fpid: number;
  try {
    fpid = forkForwarder(ports.map((p, i) => ({ fd: listeners[i]!.fd, proto: p.proto, containerPort: p.containerPort })), containerIp, userns, netns, ready.write, detached);
  } finally {
    closeSync(userns);
    closeSync(netns);
    closeFd(ready.write);
  }
  const exited = waitForExit(fpid);
  const ok = waitReadable(ready.read, 10_000) && readByte(ready.read) === "1".charCodeAt(0);
  closeFd(ready.read);
  if (!ok) {
    killPid(fpid, 9);
    await exited;
    throw new RlError("cannot start the port forwarder: it could not join the container's network namespace");
  }
  return { pid: fpid, exited };
}
