import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { createConnection, createServer, type Server } from "node:net";
import { join } from "node:path";
import { BUSYBOX, makeEnv, REPO, rl, skipReason, RL_BIN, until } from "./harness";

const reason = skipReason();
if (reason) console.log(`skipping network integration tests: ${reason}`);
const hasIpv6Loopback = existsSync("/proc/net/if_inet6") && readFileSync("/proc/net/if_inet6", "utf8").includes("00000000000000000000000000000001");
if (!reason && !hasIpv6Loopback) console.log("skipping the IPv6 network tests: this host has no IPv6 loopback (::1)");

/** Pids whose parent is `ppid` (from /proc), with their command names. */
function childrenOf(ppid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === ppid) out.push({ pid: Number(e), comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) });
    } catch {}
  }
  return out;
}

/** A process is gone when /proc has no entry for it, or only a zombie's. */
function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}


async function httpGet(url: string): Promise<string | undefined> {
  try {
    const r = await fetch(url);
    return r.ok ? await r.text() : undefined;
  } catch {
    return undefined;
  }
}

function slirpPids(): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/comm`, "utf8").trim() === "slirp4netns" && !gone(Number(e))) out.push(Number(e));
    } catch {}
  }
  return out.sort();
}

describe.skipIf(Boolean(reason))("rl run networking", () => {
  const t = makeEnv();
  const run = (args: string[], env: Record<string, string> = {}) => rl(["run", ...args], { env: { ...t.env, ...env } });
  const running: ReturnType<typeof Bun.spawn>[] = [];

  /** Start `rl run ARGS` in the background (it stays the container's supervisor). */
  function start(args: string[]) {
    const p = Bun.spawn([RL_BIN, "run", ...args], { env: t.env, stdout: "pipe", stderr: "pipe" });
    running.push(p);
    return p;
  }

  async function finish(p: ReturnType<typeof Bun.spawn>) {
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout as ReadableStream).text(), new Response(p.stderr as ReadableStream).text(), p.exited]);
    return { stdout, stderr, code };
  }

  /** The host port `rl port NAME PORT` reports, once the container has published it. */
  async function hostPort(name: string, port: number | `${number}/udp`): Promise<number> {
    const line = await until("rl port", async () => {
      const r = await rl(["port", name, String(port)], { env: t.env });
      return r.code === 0 ? r.stdout.trim() : undefined;
    });
    return Number(line.split(":").pop());
  }

  /**
   * Everything a published port sends until it closes, the client having half-closed at once (retried
   * until the server in the container answers). `pauseMs`: stop reading that long after the first bytes.
   */
  async function download(port: number, pauseMs = 0): Promise<Buffer> {
    const { connect } = await import("node:net");
    return until("the download", () => new Promise<Buffer | false>((resolve) => {
      const chunks: Buffer[] = [];
      const c = connect(port, "127.0.0.1", () => c.end());
      if (pauseMs)
        c.once("data", () => {
          c.pause();
          setTimeout(() => c.resume(), pauseMs);
        });
      c.on("data", (b: Buffer) => chunks.push(b));
      c.on("close", () => resolve(chunks.length ? Buffer.concat(chunks) : false));
      c.on("error", () => resolve(false));
    }));
  }

  async function containerPid(name: string): Promise<number> {
    const r = await rl(["ps", "--format", "json"], { env: t.env });
    const c = (JSON.parse(r.stdout) as { Names: string[]; Pid: number }[]).find((c) => c.Names.includes(name));
    if (!c) throw new Error(`${name} is not running`);
    return c.Pid;
  }

  beforeAll(async () => {
    const r = await run(["--rm", "--network", "none", BUSYBOX, "true"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
  });
  afterAll(async () => {
    for (const p of running) p.kill(9);
    await Promise.all(running.map((p) => p.exited));
    await t.cleanup();
  });

  test("the default network: tap0 at 10.0.2.100, a default route, slirp4netns's DNS, the name in /etc/hosts", async () => {
    const r = await run(["--rm", "--name", "net-default", "--hostname", "h1", BUSYBOX, "sh", "-c", "ip -o -4 addr show tap0; ip route; cat /etc/resolv.conf; cat /etc/hosts"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("inet 10.0.2.100/24");
    expect(r.stdout).toMatch(/^default via 10\.0\.2\.2 dev tap0/m);
    expect(r.stdout).toMatch(/^nameserver 10\.0\.2\.3$/m);
    expect(r.stdout.indexOf("nameserver 10.0.2.3\n")).toBe(r.stdout.indexOf("nameserver "));
    expect(r.stdout).toContain("10.0.2.100\th1 net-default\n");
    expect(r.stdout).not.toContain("host.containers.internal");
  });

  test("mtu and cidr options reach the interface", async () => {
    const r = await run(["--rm", "--network", "slirp4netns:mtu=1500,cidr=10.9.0.0/24", BUSYBOX, "sh", "-c", "ip -o link show tap0; ip -o -4 addr show tap0; cat /etc/resolv.conf"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("mtu 1500");
    expect(r.stdout).toContain("inet 10.9.0.100/24");
    expect(r.stdout).toContain("nameserver 10.9.0.3");
  });

  test("--network none: only lo, up", async () => {
    const r = await run(["--rm", "--network", "none", BUSYBOX, "sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1; ip -o link show lo"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]!.trim()).toBe("lo");
    expect(lines[1]).toContain("UP");
    expect(lines).toHaveLength(2);
  });

  test("a published tcp port reaches a server in the container; rl port reports it; helpers end with the container", async () => {
    const p = start(["--rm", "--init", "--name", "web", "-p", "127.0.0.1:0:80", "-p", "8123", BUSYBOX, "sh", "-c", "echo hello-tcp > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]);
    const ports = await until("rl port", async () => {
      const r = await rl(["port", "web"], { env: t.env });
      return r.code === 0 && r.stdout.includes("80/tcp") ? r.stdout : undefined;
    });
    const m = /^80\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(ports);
    expect(m).not.toBeNull();
    expect(ports).toMatch(/^8123\/tcp -> 0\.0\.0\.0:\d+$/m);
    const one = await rl(["port", "web", "80/tcp"], { env: t.env });
    expect(one.stdout).toBe(`127.0.0.1:${m![1]}\n`);
    const body = await until("the server", () => httpGet(`http://127.0.0.1:${m![1]}/index.html`));
    expect(body).toBe("hello-tcp\n");
    const ps = await rl(["ps"], { env: t.env });
    expect(ps.stdout).toContain(`127.0.0.1:${m![1]}->80/tcp`);
    const pid = await containerPid("web");
    const helpers = childrenOf(p.pid).filter((c) => c.pid !== pid);
    expect(helpers.map((h) => h.comm).sort()).toEqual(["rl-portfwd", "slirp4netns"]);
    p.kill("SIGTERM");
    await finish(p);
    for (const h of helpers) expect({ ...h, gone: gone(h.pid) }).toEqual({ ...h, gone: true });
  });

  test("the forwarder moves 16 MiB each way intact and passes the end of the stream on", async () => {
    const { connect } = await import("node:net");
    const { createHash, randomBytes } = await import("node:crypto");
    const data = randomBytes(16 << 20);
    // host → container: the container hashes what it reads until the host half-closes.
    const up = start(["--rm", "--name", "bulk-up", "-p", "127.0.0.1:0:80", BUSYBOX, "sh", "-c", "nc -l -p 80 | sha256sum"]);
    const upPort = await hostPort("bulk-up", 80);
    // Until nc listens, the forwarder closes each connection at once: retry until one stays open. Bun's
    // client may report such a close without an error, having written only part of the data: an
    // upload counts only when every byte went out.
    await until("the upload", () => new Promise<boolean>((resolve) => {
      const c = connect(upPort, "127.0.0.1", () => c.end(data));
      c.on("close", () => resolve(c.bytesWritten === data.length));
      c.on("error", () => resolve(false));
      c.on("data", () => {});
    }));
    const r1 = await finish(up);
    expect(r1.stdout.split(" ")[0]).toBe(createHash("sha256").update(data).digest("hex"));

    // container → host: the container serves a file and closes; the host reads to the end.
    const down = start(["--rm", "--name", "bulk-down", "-p", "127.0.0.1:0:80", BUSYBOX, "sh", "-c", "head -c 16777216 /dev/urandom > /tmp/f; sha256sum /tmp/f; nc -l -p 80 < /tmp/f"]);
    const downPort = await hostPort("bulk-down", 80);
    const received = await download(downPort);
    const r2 = await finish(down);
    expect(received.length).toBe(16 << 20);
    expect(createHash("sha256").update(received).digest("hex")).toBe(r2.stdout.split(" ")[0]!);
  });

  test("what the container wrote before it ended still reaches a slow client whole", async () => {
    const { createHash } = await import("node:crypto");
    // nc sends 16 MiB and exits, and the container with it, while most of the data still waits in socket
    // buffers and in the forwarder for a client that reads slowly: the forwarder must send it all on.
    const p = start(["--rm", "--name", "slow-reader", "-p", "127.0.0.1:0:80", BUSYBOX, "sh", "-c", "head -c 16777216 /dev/urandom > /tmp/f; sha256sum /tmp/f; nc -l -p 80 < /tmp/f"]);
    const port = await hostPort("slow-reader", 80);
    const received = await download(port, 1500);
    const r = await finish(p);
    expect(received.length).toBe(16 << 20);
    expect(createHash("sha256").update(received).digest("hex")).toBe(r.stdout.split(" ")[0]!);
  });

  test("many short connections at once, each half-closed by the client: every one gets its whole answer", async () => {
    const { connect } = await import("node:net");
    const server = "head -c 20000 /dev/zero | tr '\\0' x > /tmp/f; exec tcpsvd -b 1000 -c 1000 0 80 httpd -i -h /tmp";
    const p = start(["--rm", "--init", "--name", "churn", "-p", "127.0.0.1:0:80", BUSYBOX, "sh", "-c", server]);
    const port = await hostPort("churn", 80);
    await until("the server", () => httpGet(`http://127.0.0.1:${port}/f`));
    const fetchOnce = () => new Promise<number>((resolve) => {
      let got = 0;
      const c = connect(port, "127.0.0.1", () => c.end("GET /f HTTP/1.0\r\n\r\n"));
      c.on("data", (b: Buffer) => (got += b.length));
      c.on("close", () => resolve(got));
      c.on("error", () => {});
    });
    const sizes: number[] = [];
    for (let round = 0; round < 5; round++) sizes.push(...(await Promise.all(Array.from({ length: 200 }, fetchOnce))));
    expect({ connections: sizes.length, short: sizes.filter((n) => n < 20000).length }).toEqual({ connections: 1000, short: 0 });
    p.kill("SIGTERM");
    await finish(p);
  });

  test("a container server that stops accepting does not hold up the other published ports", async () => {
    // tcpsvd -c 1 accepts one connection and no other until it ends: later ones fill its accept queue, then the
    // kernel drops their SYNs. The forwarder's connects to it must not block the connections to httpd.
    const { connect } = await import("node:net");
    const p = start(["--rm", "--init", "--name", "stuck", "-p", "127.0.0.1:0:80", "-p", "127.0.0.1:0:81", BUSYBOX, "sh", "-c", "echo fine > /tmp/index.html; httpd -p 80 -h /tmp; exec tcpsvd -c 1 -b 1 0 81 sleep 60"]);
    const ports = await until("rl port", async () => {
      const r = await rl(["port", "stuck"], { env: t.env });
      return r.code === 0 && r.stdout.includes("81/tcp") ? r.stdout : undefined;
    });
    const web = /^80\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(ports)![1];
    const stuck = Number(/^81\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(ports)![1]);
    await until("the server", () => httpGet(`http://127.0.0.1:${web}/index.html`));
    const held = Array.from({ length: 20 }, () => connect(stuck, "127.0.0.1").on("error", () => {}));
    try {
      await Bun.sleep(300);
      // Without a timeout a blocked forwarder would only show as the test's own timeout.
      const r = await fetch(`http://127.0.0.1:${web}/index.html`, { signal: AbortSignal.timeout(20_000) });
      expect(await r.text()).toBe("fine\n");
    } finally {
      for (const c of held) c.destroy();
    }
    p.kill("SIGTERM");
    await finish(p);
  });

  test("a published udp port relays datagrams both ways", async () => {
    const p = start(["--rm", "--init", "--name", "udp", "-p", "127.0.0.1:0:70/udp", BUSYBOX, "sh", "-c", "(sleep 1; echo reply) | nc -u -l -p 70"]);
    const line = await until("rl port", async () => {
      const r = await rl(["port", "udp", "70/udp"], { env: t.env });
      return r.code === 0 ? r.stdout.trim() : undefined;
    });
    const port = Number(line.split(":")[1]);
    const sock = createSocket("udp4");
    const reply = new Promise<string>((resolve) => sock.on("message", (m) => resolve(m.toString())));
    // nc answers the first peer it hears from; resend until the server is up.
    let answered = false;
    reply.then(() => (answered = true));
    await until("udp reply", async () => {
      sock.send("ping\n", port, "127.0.0.1");
      await Bun.sleep(200);
      return answered;
    });
    expect(await reply).toBe("reply\n");
    sock.close();
    p.kill("SIGTERM");
    const r = await finish(p);
    expect(r.stdout).toStartWith("ping\n");
  });

  test.skipIf(!hasIpv6Loopback)("IPv6: -p [::1]:PORT publishes on ::1 only; without an address both ::1 and 127.0.0.1 answer", async () => {
    const p = start(["--rm", "--init", "--name", "web6", "-p", "[::1]:0:80", "-p", "0:80", BUSYBOX, "sh", "-c", "echo hello-v6 > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]);
    const out = await until("rl port", async () => {
      const r = await rl(["port", "web6"], { env: t.env });
      return r.code === 0 && r.stdout.includes("80/tcp") ? r.stdout : undefined;
    });
    const v6 = /^80\/tcp -> \[::1\]:(\d+)$/m.exec(out)?.[1];
    const any = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(out)?.[1];
    expect({ out, v6: Boolean(v6), any: Boolean(any) }).toEqual({ out, v6: true, any: true });
    expect(await until("the server on ::1", () => httpGet(`http://[::1]:${v6}/index.html`))).toBe("hello-v6\n");
    expect(await httpGet(`http://127.0.0.1:${v6}/index.html`)).toBeUndefined();
    expect(await httpGet(`http://127.0.0.1:${any}/index.html`)).toBe("hello-v6\n");
    expect(await httpGet(`http://[::1]:${any}/index.html`)).toBe("hello-v6\n");
    expect((await rl(["ps"], { env: t.env })).stdout).toContain(`[::1]:${v6}->80/tcp, 0.0.0.0:${any}->80/tcp`);
    expect((await rl(["port", "web6", "80"], { env: t.env })).stdout).toBe(`[::1]:${v6}\n0.0.0.0:${any}\n`);
    p.kill("SIGTERM");
    await finish(p);
  });

  test.skipIf(!hasIpv6Loopback)("IPv6: a udp port published on [::1] relays datagrams both ways", async () => {
    const p = start(["--rm", "--init", "--name", "udp6", "-p", "[::1]:0:70/udp", BUSYBOX, "sh", "-c", "(sleep 1; echo reply6) | nc -u -l -p 70"]);
    const line = await until("rl port", async () => {
      const r = await rl(["port", "udp6", "70/udp"], { env: t.env });
      return r.code === 0 ? r.stdout.trim() : undefined;
    });
    const port = Number(/^\[::1\]:(\d+)$/.exec(line)![1]);
    const sock = createSocket("udp6");
    let answer: string | undefined;
    sock.on("message", (m) => (answer = m.toString()));
    await until("udp reply", async () => {
      sock.send("ping6\n", port, "::1");
      await Bun.sleep(200);
      return answer;
    });
    expect(answer).toBe("reply6\n");
    sock.close();
    p.kill("SIGTERM");
    expect((await finish(p)).stdout).toStartWith("ping6\n");
  });

  test.skipIf(!hasIpv6Loopback)("enable_ipv6: tap0 gets an fd00::/64 address and the host's ::1 is reached at fd00::2 (with allow_host_loopback)", async () => {
    const server: Server = createServer((c) => c.end("from-host-v6\n"));
    await new Promise<void>((r) => server.listen(0, "::1", r));
    const port = (server.address() as { port: number }).port;
    try {
      // The address comes from slirp4netns's router advertisement (SLAAC), a moment after the start.
      const wait = "for i in $(seq 100); do ip -6 addr show tap0 scope global | grep -q 'inet6 fd00::' && ! ip -6 addr show tap0 | grep -q tentative && break; sleep 0.1; done";
      const r = await run(["--rm", "--network", "slirp4netns:enable_ipv6=true,allow_host_loopback=true", BUSYBOX, "sh", "-c", `${wait}; ip -6 -o addr show tap0 scope global; ip -6 route show default; nc -w 3 fd00::2 ${port} </dev/null`]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^\d+: tap0 +inet6 fd00::[0-9a-f:]+\/64 scope global/);
      expect(r.stdout).toMatch(/^default via fe80::2 dev tap0/m);
      expect(r.stdout).toEndWith("from-host-v6\n");
      const off = await run(["--rm", "--network", "slirp4netns:allow_host_loopback=true", BUSYBOX, "sh", "-c", `sleep 1; ip -6 -o addr show tap0 scope global; nc -w 2 fd00::2 ${port} </dev/null; true`]);
      expect(off.stdout).toBe("");
    } finally {
      server.close();
    }
  });

  test("-P publishes the image's ExposedPorts on free host ports", async () => {
    const dir = join(t.root, "exposed");
    for (const cmd of [
      ["skopeo", "copy", "-q", BUSYBOX, `oci:${dir}:bb`],
      ["umoci", "config", "--image", `${dir}:bb`, "--tag", "exposed", "--config.exposedports", "80/tcp", "--config.exposedports", "53/udp"],
    ]) {
      const s = Bun.spawnSync(cmd, { stderr: "pipe" });
      expect({ cmd, err: s.stderr.toString(), code: s.exitCode }).toEqual({ cmd, err: "", code: 0 });
    }
    const p = start(["--rm", "--init", "--name", "exposed", "-P", `oci:${dir}:exposed`, "sh", "-c", "echo exposed > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]);
    const out = await until("rl port", async () => {
      const r = await rl(["port", "exposed"], { env: t.env });
      return r.code === 0 && r.stdout.includes("80/tcp") ? r.stdout : undefined;
    });
    expect(out).toMatch(/^53\/udp -> 0\.0\.0\.0:\d+$/m);
    const port = /^80\/tcp -> 0\.0\.0\.0:(\d+)$/m.exec(out)![1];
    expect(await until("the server", () => httpGet(`http://127.0.0.1:${port}/index.html`))).toBe("exposed\n");
    p.kill("SIGTERM");
    await finish(p);
  });

  test("-P with an image that names a host address or port in ExposedPorts: one line, exit 125, nothing bound", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const free = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const key = `127.0.0.1:${free}:80`;
    const dir = join(t.root, "exposed-host");
    for (const cmd of [
      ["skopeo", "copy", "-q", BUSYBOX, `oci:${dir}:bb`],
      ["umoci", "config", "--image", `${dir}:bb`, "--tag", "hostile", "--config.exposedports", key],
    ]) {
      const s = Bun.spawnSync(cmd, { stderr: "pipe" });
      expect({ cmd, err: s.stderr.toString(), code: s.exitCode }).toEqual({ cmd, err: "", code: 0 });
    }
    const r = await run(["--rm", "-P", `oci:${dir}:hostile`, "sh", "-c", "sleep 5"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe(`rl: the image exposes "${key}": an exposed port is PORT[/tcp|udp] or a range LO-HI[/tcp|udp]\n`);
    const { connect } = await import("node:net");
    const refused = await new Promise<boolean>((resolve) => {
      const c = connect(free, "127.0.0.1", () => (c.destroy(), resolve(false)));
      c.on("error", () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  test("a published port reaches the container's address, not its loopback: a server on 127.0.0.1 stays private (tcp)", async () => {
    // The loopback-only server answers inside (the wget line proves it), and 81 (every address) outside.
    const p = start(["--rm", "--init", "--name", "private-tcp", "-p", "127.0.0.1:0:80", "-p", "127.0.0.1:0:81", BUSYBOX, "sh", "-c",
      "echo private > /tmp/index.html; httpd -p 127.0.0.1:80 -h /tmp; wget -q -O- http://127.0.0.1:80/index.html; mkdir /tmp/p; echo public > /tmp/p/index.html; exec httpd -f -p 81 -h /tmp/p"]);
    const [loopPort, allPort] = [await hostPort("private-tcp", 80), await hostPort("private-tcp", 81)];
    expect(await until("the public server", () => httpGet(`http://127.0.0.1:${allPort}/index.html`))).toBe("public\n");
    expect(await httpGet(`http://127.0.0.1:${loopPort}/index.html`)).toBeUndefined();
    p.kill("SIGTERM");
    expect((await finish(p)).stdout).toBe("private\n");
  });

  test("a published port reaches the container's address, not its loopback: a server on 127.0.0.1 stays private (udp)", async () => {
    // 70: a udp server on the container's loopback only (it prints what reaches it); 71: on every address.
    const p = start(["--rm", "--init", "--name", "private-udp", "-p", "127.0.0.1:0:70/udp", "-p", "127.0.0.1:0:71/udp", BUSYBOX, "sh", "-c",
      "nc -u -l -s 127.0.0.1 -p 70 & (sleep 1; echo reply) | nc -u -l -p 71"]);
    const [loopPort, allPort] = [await hostPort("private-udp", "70/udp"), await hostPort("private-udp", "71/udp")];
    const sock = createSocket("udp4");
    let answered = "";
    sock.on("message", (m) => (answered = m.toString()));
    // Datagrams to 70 go out before and after 71 answers: once the servers listen, none may reach 70.
    await until("udp reply", async () => {
      sock.send("to-loopback\n", loopPort, "127.0.0.1");
      sock.send("ping\n", allPort, "127.0.0.1");
      await Bun.sleep(200);
      return answered;
    });
    for (let i = 0; i < 5; i++) sock.send("to-loopback\n", loopPort, "127.0.0.1");
    await Bun.sleep(300);
    sock.close();
    expect(answered).toBe("reply\n");
    p.kill("SIGTERM");
    const r = await finish(p);
    expect(r.stdout).toContain("ping\n");
    expect(r.stdout).not.toContain("to-loopback");
  });

  // A client from a non-loopback address keeps it inside (helpers/net.c, preserve_sources); this suite sends
  // traffic to loopback addresses only, so here the client is a loopback one, seen as the container's own.
  test("a loopback client appears inside as the container's own address (tcp and udp), as in podman", async () => {
    // tcpsvd and udpsvd tell each client the address they see it from.
    const p = start(["--rm", "--init", "--name", "client-ip", "-p", "0:80", "-p", "0:81/udp", BUSYBOX, "sh", "-c",
      "tcpsvd 0 80 sh -c 'echo seen-from ${TCPREMOTEADDR%:*}' & exec udpsvd 0 81 sh -c 'echo seen-from ${UDPREMOTEADDR%:*}'"]);
    const [tcpPort, udpPort] = [await hostPort("client-ip", 80), await hostPort("client-ip", "81/udp")];
    const askTcp = (host: string) => until(`a tcp answer to ${host}`, () => new Promise<string | false>((resolve) => {
      let data = "";
      const c = createConnection(tcpPort, host);
      c.on("data", (b) => (data += b));
      c.on("close", () => resolve(data || false));
      c.on("error", () => resolve(false));
    }));
    const askUdp = async (host: string) => {
      const sock = createSocket("udp4");
      let answer = "";
      sock.on("message", (m) => (answer = m.toString()));
      try {
        return await until(`a udp answer to ${host}`, async () => {
          sock.send("hello\n", udpPort, host);
          await Bun.sleep(200);
          return answer;
        });
      } finally {
        sock.close();
      }
    };
    expect(await askTcp("127.0.0.1")).toBe("seen-from 10.0.2.100\n");
    expect(await askUdp("127.0.0.1")).toBe("seen-from 10.0.2.100\n");
    p.kill("SIGTERM");
    await finish(p);
  });

  test("the network is up when the workload starts: tap0 has its carrier, the gateway is routable", async () => {
    // rl gives slirp4netns a persistent tap0 (it then exits without the kernel's slow unregistering);
    // the carrier it gains when slirp4netns attaches must be in effect before the exec, every time.
    for (let i = 0; i < 10; i++) {
      const r = await run(["--rm", BUSYBOX, "sh", "-c", "ip -o link show tap0; cat /sys/class/net/tap0/operstate; ip route get 10.0.2.2"]);
      expect(r.code).toBe(0);
      const [link, operstate, route] = r.stdout.split("\n");
      expect(link).toContain("LOWER_UP");
      expect(link).not.toContain("NO-CARRIER");
      expect(["up", "unknown"]).toContain(operstate ?? "");
      expect(route).toMatch(/^10\.0\.2\.2 dev tap0 +src 10\.0\.2\.100/);
      expect(route).not.toContain("linkdown");
    }
  });

  test("the host's loopback is reachable at 10.0.2.2 only with allow_host_loopback", async () => {
    const server: Server = createServer((c) => c.end("from-host\n"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    try {
      const denied = await run(["--rm", BUSYBOX, "sh", "-c", `nc -w 3 10.0.2.2 ${port} </dev/null; echo rc=$?`]);
      expect(denied.stdout).not.toContain("from-host");
      const allowed = await run(["--rm", "--network", "slirp4netns:allow_host_loopback=true", BUSYBOX, "sh", "-c", `nc -w 3 10.0.2.2 ${port} </dev/null; grep host.containers.internal /etc/hosts`]);
      expect(allowed.stdout).toBe("from-host\n10.0.2.2\thost.containers.internal\n");
    } finally {
      server.close();
    }
  });

  test("--network container: shares one network both ways", async () => {
    // a serves on 127.0.0.1:81 and then waits for b's one-shot server on :82; b reads a's page first,
    // then serves, so each side reaches the other over the shared loopback.
    const a = start(["--rm", "--name", "share-a", BUSYBOX, "sh", "-c", "echo from-a > /tmp/a; httpd -p 127.0.0.1:81 -h /tmp; until nc 127.0.0.1 82 </dev/null; do sleep 0.1; done"]);
    await until("share-a running", async () => (await rl(["ps"], { env: t.env })).stdout.includes("share-a"));
    const b = await run(["--rm", "--network", "container:share-a", BUSYBOX, "sh", "-c", "until wget -qO- http://127.0.0.1:81/a; do sleep 0.1; done; ip -o -4 addr show tap0; echo from-b | nc -l -p 82"]);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain("from-a\n");
    expect(b.stdout).toContain("inet 10.0.2.100/24");
    const ra = await finish(a);
    expect(ra).toMatchObject({ code: 0, stdout: "from-b\n" });
  });

  test("container: shares the other container's resolv.conf and its hosts entries; --dns and --add-host are refused", async () => {
    const a = start(["--rm", "--name", "files-a", "--hostname", "ha", "--dns", "192.0.2.53", "--add-host", "db:192.0.2.7", BUSYBOX, "sleep", "30"]);
    await until("files-a running", async () => (await rl(["ps"], { env: t.env })).stdout.includes("files-a"));
    const b = await run(["--rm", "--name", "files-b", "--hostname", "hb", "--network", "container:files-a", BUSYBOX, "sh", "-c", "cat /etc/resolv.conf; echo --; cat /etc/hosts; echo --; hostname"]);
    expect(b.code).toBe(0);
    const [resolv, hosts, hostname] = b.stdout.split("--\n");
    expect(resolv).toBe("nameserver 192.0.2.53\n");
    expect(hosts).toContain("192.0.2.7\tdb\n");
    expect(hosts).toContain("10.0.2.100\tha files-a\n");
    expect(hosts).toEndWith("127.0.0.1\thb files-b\n");
    expect(hostname).toBe("hb\n");
    for (const flag of [["--dns", "192.0.2.1"], ["--dns-search", "x.test"], ["--add-host", "x:192.0.2.1"]]) {
      const r = await run(["--rm", "--network", "container:files-a", ...flag, BUSYBOX, "true"]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 125, stderr: `rl: cannot use ${flag[0]} with --network container:files-a: that container's /etc/hosts and /etc/resolv.conf are shared\n` });
    }
    a.kill("SIGKILL");
    await finish(a);
  });

  test("-p with --network none or host: one warning, the container runs, no port is published", async () => {
    for (const mode of ["none", "host"]) {
      const r = await run(["--rm", "--network", mode, "-p", "127.0.0.1:0:80", BUSYBOX, "echo", "ran"]);
      expect({ mode, ...r }).toMatchObject({ mode, code: 0, stdout: "ran\n", stderr: `rl: warning: port mappings are discarded: --network ${mode} has no ports of its own to publish\n` });
    }
    const kept = start(["--name", "noports", "--network", "none", "-p", "8080:80", BUSYBOX, "sleep", "30"]);
    await until("noports running", async () => (await rl(["ps"], { env: t.env })).stdout.includes("noports"));
    expect(await rl(["port", "noports"], { env: t.env })).toMatchObject({ code: 0, stdout: "" });
    expect(childrenOf(kept.pid).map((c) => c.comm)).not.toContain("rl-portfwd");
    kept.kill("SIGKILL");
    await finish(kept);
    await rl(["rm", "noports"], { env: t.env });
  });

  test("container: of a container that does not run is an error", async () => {
    const r = await run(["--rm", "--network", "container:nosuch", BUSYBOX, "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toBe("rl: cannot join the network of container nosuch: no such container\n");
  });

  test("a host port in use: one line, exit 125, nothing left running", async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const before = slirpPids();
    try {
      const r = await run(["--name", "inuse1", "-p", `127.0.0.1:${port}:80`, BUSYBOX, "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toBe(`rl: cannot publish port 127.0.0.1:${port}/tcp: the address is already in use\n`);
    } finally {
      server.close();
    }
    // No slirp4netns started for it is left (others, of earlier tests, may end meanwhile).
    expect(slirpPids().filter((pid) => !before.includes(pid))).toEqual([]);
    const ps = await rl(["ps", "-a"], { env: t.env });
    expect(ps.code).toBe(0);
    expect(ps.stdout).not.toContain("inuse1");
  });

  test("a privileged host port: one line, exit 125", async () => {
    const r = await run(["--rm", "-p", "80:80", BUSYBOX, "true"]);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^rl: cannot publish port 0\.0\.0\.0:80\/tcp: ports below \d+ are privileged \(net\.ipv4\.ip_unprivileged_port_start\)\n$/);
  });

  test("kill -9 of rl ends slirp4netns, the forwarder and the container", async () => {
    const p = start(["--rm", "--name", "killed", "-p", "127.0.0.1:0:80", BUSYBOX, "sh", "-c", "httpd -f -p 80"]);
    const kids = await until("helpers", () => {
      const k = childrenOf(p.pid);
      return k.length === 3 ? k : undefined;
    });
    const pid = await containerPid("killed");
    expect(kids.filter((k) => k.pid !== pid).map((k) => k.comm).sort()).toEqual(["rl-portfwd", "slirp4netns"]);
    p.kill(9);
    await p.exited;
    for (const k of kids) await until(`${k.comm} ${k.pid} to end`, () => gone(k.pid));
  });

  test("--dns, --dns-search, --dns-option and --add-host", async () => {
    const r = await run(["--rm", "--dns", "192.0.2.53", "--dns-search", "example.test", "--dns-option", "ndots:2", "--add-host", "db:192.0.2.7", "--add-host", "cache:192.0.2.8", BUSYBOX, "cat", "/etc/resolv.conf", "/etc/hosts"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("search example.test\nnameserver 192.0.2.53\noptions ndots:2\n");
    expect(r.stdout).toContain("192.0.2.7\tdb\n192.0.2.8\tcache\n");
  });

  test("--network host keeps the host's resolv.conf", async () => {
    const r = await run(["--rm", "--network", "host", BUSYBOX, "cat", "/etc/resolv.conf"]);
    expect(r.stdout).toBe(existsSync("/etc/resolv.conf") ? readFileSync("/etc/resolv.conf", "utf8") : "");
  });

  test("port_handler=slirp4netns publishes through slirp4netns's API", async () => {
    const p = start(["--rm", "--init", "--name", "viaslirp", "--network", "slirp4netns:port_handler=slirp4netns", "-p", "127.0.0.1:0:80", BUSYBOX, "sh", "-c", "echo via-slirp > /tmp/index.html; exec httpd -f -p 80 -h /tmp"]);
    const line = await until("rl port", async () => {
      const r = await rl(["port", "viaslirp", "80"], { env: t.env });
      return r.code === 0 ? r.stdout.trim() : undefined;
    });
    expect(await until("the server", () => httpGet(`http://${line}/index.html`))).toBe("via-slirp\n");
    const pid = await containerPid("viaslirp");
    expect(childrenOf(p.pid).filter((c) => c.pid !== pid).map((c) => c.comm)).toEqual(["slirp4netns"]);
    p.kill("SIGTERM");
    await finish(p);
  });

  test("bad --network and -p values, and a missing slirp4netns, are one-line errors", async () => {
    const cases: [string[], RegExp, Record<string, string>?][] = [
      [["--network", "bridge", BUSYBOX, "true"], /^rl: invalid --network "bridge": use slirp4netns, none, host or container:NAME\n$/],
      [["--network", "slirp4netns:mtu=10", BUSYBOX, "true"], /mtu must be a number from 68 to 65520/],
      [["-p", "8000-8001:80", BUSYBOX, "true"], /the host range has 2 ports, the container range 1/],
      [["-p", "[::1]:8080:80", "--network", "slirp4netns:port_handler=slirp4netns", BUSYBOX, "true"], /^rl: cannot publish port \[::1\]:8080\/tcp with port_handler=slirp4netns: its API forwards IPv4 host addresses only/],
      [["-p", "[::1:8080:80", BUSYBOX, "true"], /^rl: invalid port "\[::1:8080:80": an IPv6 host address is written \[ADDRESS\]:HOSTPORT:CONTAINERPORT\n$/],
      [[BUSYBOX, "true"], /^rl: slirp4netns is not installed.*apt install slirp4netns/, { RL_SLIRP4NETNS: "/nonexistent/slirp4netns" }],
    ];
    for (const [args, want, env] of cases) {
      const r = await run(["--rm", ...args], env);
      expect({ args, code: r.code, lines: r.stderr.trim().split("\n").length }).toEqual({ args, code: 125, lines: 1 });
      expect(r.stderr).toMatch(want);
    }
  });
});
