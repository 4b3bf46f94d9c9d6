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
      expect(refused).toEqual({ code: 125, stdout: "", stderr: "rl: cannot remove container busy: it is running (stop it first, or use rm -f)\n" });
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
});
