import { afterAll, describe, expect, test } from "bun:test";
import { BUSYBOX, makeEnv, rl, RL_BIN, skipReason } from "./harness";

const reason = skipReason();
if (reason) console.log(`skipping rm and port integration tests: ${reason}`);

describe.skipIf(Boolean(reason))("rm and port", () => {
  const t = makeEnv();
  afterAll(() => t.cleanup());
  const names = async () => (JSON.parse((await rl(["ps", "-a", "--format", "json"], { env: t.env })).stdout) as { Names: string[]; State: string }[]).map((c) => `${c.Names[0]}:${c.State}`);
  const sleepers = (n: string) => Bun.spawnSync(["pgrep", "-u", String(process.getuid!()), "-f", `^sleep ${n}$`]).stdout.toString().trim();

  test("rm of a running container: refused without -f (it keeps running); rm -f kills and removes it", async () => {
    const p = Bun.spawn([RL_BIN, "run", "--name", "busy", "--network", "none", BUSYBOX, "sh", "-c", "echo up; exec sleep 4321"], { env: t.env, stdout: "pipe", stderr: "pipe" });
    try {
      expect(new TextDecoder().decode((await p.stdout.getReader().read()).value)).toBe("up\n");
      expect(sleepers("4321")).not.toBe("");
      const refused = await rl(["rm", "busy"], { env: t.env });
      expect(refused).toEqual({ code: 2, stdout: "", stderr: "rl: cannot remove container busy: it is running (stop it first, or use rm -f)\n" });
      expect(await names()).toEqual(["busy:running"]);
      expect(sleepers("4321")).not.toBe("");
      const forced = await rl(["rm", "-f", "busy"], { env: t.env });
      expect(forced.code).toBe(0);
      expect(forced.stdout).toMatch(/^[0-9a-f]{64}\n$/);
      // The run it ended says so and exits as a killed container; nothing of it is left.
      expect(await p.exited).toBe(137);
      expect(await names()).toEqual([]);
      for (let i = 0; i < 100 && sleepers("4321") !== ""; i++) await Bun.sleep(20);
      expect(sleepers("4321")).toBe("");
    } finally {
      p.kill("SIGKILL");
    }
  });

  test("rm of what is not there: exit 1 and one line; with -f, nothing to say", async () => {
    expect(await rl(["rm", "nosuch"], { env: t.env })).toEqual({ code: 1, stdout: "", stderr: "rl: no such container: nosuch\n" });
    expect(await rl(["rm", "-f", "nosuch"], { env: t.env })).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("rm -i ignores what is not there; rm -a removes the stopped and, without -f, refuses the running (exit 2); -af removes all", async () => {
    expect(await rl(["rm", "-i", "nosuch"], { env: t.env })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await rl(["rm"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: rm needs at least one container, or --all\n" });
    expect(await rl(["rm", "-a", "x"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: rm takes containers or --all, not both\n" });
    expect((await rl(["run", "--name", "done1", "--network", "none", BUSYBOX, "true"], { env: t.env })).code).toBe(0);
    expect((await rl(["create", "--name", "made", "--network", "none", BUSYBOX, "true"], { env: t.env })).code).toBe(0);
    const up = await rl(["run", "-d", "--name", "up", "--network", "none", BUSYBOX, "sleep", "4322"], { env: t.env });
    expect(up.code).toBe(0);
    try {
      const all = await rl(["rm", "-a"], { env: t.env });
      expect(all).toMatchObject({ code: 2, stderr: "rl: cannot remove container up: it is running (stop it first, or use rm -f)\n" });
      expect(all.stdout).toMatch(/^([0-9a-f]{64}\n){2}$/);
      expect(await names()).toEqual(["up:running"]);
      expect(await rl(["rm", "-af"], { env: t.env })).toEqual({ code: 0, stdout: up.stdout, stderr: "" });
      expect(await names()).toEqual([]);
      for (let i = 0; i < 100 && sleepers("4322") !== ""; i++) await Bun.sleep(20);
      expect(sleepers("4322")).toBe("");
      expect(await rl(["rm", "--all"], { env: t.env })).toEqual({ code: 0, stdout: "", stderr: "" });
    } finally {
      await rl(["rm", "-f", "up"], { env: t.env });
    }
  });

  test("port: the published ports of an exited container; errors for a port not published, a bad port, no such container", async () => {
    expect((await rl(["run", "--name", "pp", "-p", "127.0.0.1:0:80", BUSYBOX, "true"], { env: t.env })).code).toBe(0);
    const all = await rl(["port", "pp"], { env: t.env });
    expect(all).toMatchObject({ code: 0, stderr: "" });
    const hostPort = /^80\/tcp -> 127\.0\.0\.1:(\d+)\n$/.exec(all.stdout)?.[1];
    expect(Number(hostPort)).toBeGreaterThan(0);
    expect(await rl(["port", "pp", "80"], { env: t.env })).toEqual({ code: 0, stdout: `127.0.0.1:${hostPort}\n`, stderr: "" });
    expect(await rl(["port", "pp", "81"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: no public port 81/tcp published for pp\n" });
    expect(await rl(["port", "pp", "80/sctp"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: 'rl: invalid port "80/sctp": use PORT or PORT/tcp|udp\n' });
    expect(await rl(["port", "nosuch"], { env: t.env })).toEqual({ code: 125, stdout: "", stderr: "rl: no such container: nosuch\n" });
    expect((await rl(["rm", "pp"], { env: t.env })).code).toBe(0);
  });

  test("port --format: json as inspect's NetworkSettings.Ports, Go templates on podman's PortMapping fields, tables with headers", async () => {
    expect((await rl(["run", "--name", "pf", "-p", "127.0.0.1:0:80", "-p", "0:81/udp", BUSYBOX, "true"], { env: t.env })).code).toBe(0);
    expect((await rl(["run", "--name", "none", "--network", "none", BUSYBOX, "true"], { env: t.env })).code).toBe(0);
    const port = (...args: string[]) => rl(["port", ...args], { env: t.env });
    const lines = (await port("pf")).stdout;
    const tcp = /^80\/tcp -> 127\.0\.0\.1:(\d+)$/m.exec(lines)?.[1];
    const udp = /^81\/udp -> 0\.0\.0\.0:(\d+)$/m.exec(lines)?.[1];
    expect(Number(tcp)).toBeGreaterThan(0);
    expect(Number(udp)).toBeGreaterThan(0);
    expect(await port("pf", "--format", "table")).toEqual({ code: 0, stdout: lines, stderr: "" });
    const json = await port("pf", "--format", "json");
    expect(json.code).toBe(0);
    const bindings = { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: tcp }], "81/udp": [{ HostIp: "0.0.0.0", HostPort: udp }] };
    expect(JSON.parse(json.stdout)).toEqual(bindings);
    // The same shape inspect shows.
    expect(JSON.parse((await rl(["inspect", "-f", "{{json .NetworkSettings.Ports}}", "pf"], { env: t.env })).stdout)).toEqual(bindings);
    expect(await port("pf", "--format", "{{.HostIP}}|{{.HostPort}}|{{.ContainerPort}}|{{.Protocol}}|{{.Range}}")).toEqual({ code: 0, stdout: `127.0.0.1|${tcp}|80|tcp|1\n|${udp}|81|udp|1\n`, stderr: "" });
    expect(await port("pf", "81/udp", "--format", "{{.HostPort}}")).toEqual({ code: 0, stdout: `${udp}\n`, stderr: "" });
    expect(JSON.parse((await port("pf", "80", "--format", "json")).stdout)).toEqual({ "80/tcp": bindings["80/tcp"] });
    const table = await port("pf", "--format", "table {{.ContainerPort}}/{{.Protocol}} {{.HostPort}}");
    expect(table).toEqual({ code: 0, stdout: `CONTAINER PORT/PROTOCOL  HOST PORT\n80/tcp                   ${tcp}\n81/udp                   ${udp}\n`, stderr: "" });
    // No ports: no lines, an empty map, a table's header alone.
    expect(await port("none")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await port("none", "--format", "json")).toEqual({ code: 0, stdout: "{}\n", stderr: "" });
    expect(await port("none", "--format", "table {{.HostPort}}\t{{.Protocol}}")).toEqual({ code: 0, stdout: "HOST PORT   PROTOCOL\n", stderr: "" });
    expect(await port("none", "--format", "{{.HostPort}}")).toEqual({ code: 0, stdout: "", stderr: "" });
    // Bad templates: one line that names the field or the position.
    expect(await port("pf", "--format", "{{.PublicPort}}")).toEqual({ code: 125, stdout: "", stderr: 'rl: cannot format the output with "{{.PublicPort}}": at 1:3: can\'t evaluate field PublicPort (in .PublicPort): the fields are HostIP, ContainerPort, HostPort, Range, Protocol\n' });
    expect(await port("pf", "--format", "{{.HostPort")).toEqual({ code: 125, stdout: "", stderr: 'rl: invalid value "{{.HostPort" for --format: at 1:1: unclosed action: no }} (see rl port --help)\n' });
    expect((await rl(["rm", "pf", "none"], { env: t.env })).code).toBe(0);
  });
});
