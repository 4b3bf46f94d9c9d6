import { ptr } from "bun:ffi";
import { lazyC } from "./compile-c";
import { cstr } from "./libc";

/** helpers/net.c, compiled on first use (only runs that need a network helper pay for it). */
const net = lazyC("net.c", {
  rl_pipe: { args: ["ptr"], returns: "i32" },
  rl_wait_readable: { args: ["i32", "i32"], returns: "i32" },
  rl_read_byte: { args: ["i32"], returns: "i32" },
  rl_listen: { args: ["ptr", "i32", "i32", "ptr"], returns: "i32" },
  rl_forwarder: { args: ["ptr", "ptr", "ptr", "i32", "ptr", "i32", "i32", "i32", "i32"], returns: "i32" },
});

const errnoError = (call: string, errno: number) => Object.assign(new Error(`${call} failed: errno ${errno}`), { errno });

/** A close-on-exec pipe with both ends at fd >= 64. */
export function makePipe(): { read: number; write: number } {
  const out = new Int32Array(2);
  const r = net().rl_pipe(ptr(out));
  if (r < 0) throw errnoError("pipe", -r);
  return { read: out[0]!, write: out[1]! };
}

/** Wait until fd is readable: true, or false after timeoutMs. */
export function waitReadable(fd: number, timeoutMs: number): boolean {
  const r = net().rl_wait_readable(fd, timeoutMs);
  if (r < 0) throw errnoError("poll", -r);
  return r > 0;
}

/** One byte from fd, or -1 at end of file. */
export function readByte(fd: number): number {
  const r = net().rl_read_byte(fd);
  if (r < -1) throw errnoError("read", -r);
  return r;
}

/** Bind a host socket (port 0: any free port). Returns its fd and port, or throws with .errno. */
export function listenOn(ip: string, port: number, proto: "tcp" | "udp"): { fd: number; port: number } {
  const bound = new Int32Array(1);
  const fd = net().rl_listen(ptr(cstr(ip)), port, proto === "udp" ? 1 : 0, ptr(bound));
  if (fd < 0) throw errnoError("bind", -fd);
  return { fd, port: bound[0]! };
}

export interface ForwardedSocket {
  fd: number;
  proto: "tcp" | "udp";
  containerPort: number;
}

/**
 * Fork the port forwarder: it keeps `sockets`, joins the namespaces behind userns/netns fds and relays
 * to containerIp:containerPort inside (the container's interface address, so that a service bound to
 * its loopback stays private). Returns its pid (a child of this process); it writes a byte to readyFd
 * once inside the namespaces. `detached`: it does not die with rl (a detached container's).
 */
export function forkForwarder(sockets: ForwardedSocket[], containerIp: string, usernsFd: number, netnsFd: number, readyFd: number, detached = false): number {
  const fds = Int32Array.from(sockets.map((s) => s.fd));
  const udp = Int32Array.from(sockets.map((s) => (s.proto === "udp" ? 1 : 0)));
  const ports = Int32Array.from(sockets.map((s) => s.containerPort));
  const pid = net().rl_forwarder(ptr(fds), ptr(udp), ptr(ports), sockets.length, ptr(cstr(containerIp)), usernsFd, netnsFd, readyFd, detached ? 1 : 0);
  if (pid < 0) throw errnoError("fork", -pid);
  return pid;
}
