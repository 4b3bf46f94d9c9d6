import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ALPINE, FIXTURES, makeEnv, rl, skipReason } from "./harness";

// Each command opens the store once and passes it down (engine/session.ts): no library function opens
// its own, and none is shared through a global handle; what killed rl processes left is cleared once.
// RL_DEBUG names each opening and each clearing.

const reason = skipReason();
if (reason) console.log(`skipping store session tests: ${reason}`);

describe.skipIf(Boolean(reason))("one store per command", () => {
  const t = makeEnv();
  afterAll(async () => {
    await rl(["rm", "-f", "s1", "s2", "s3"], { env: t.env });
    await t.cleanup();
  });

  /** Run rl with RL_DEBUG; how many times it opened the store and cleared its debris, and its result. */
  const opens = async (args: string[], stdin?: string) => {
    const r = await rl(args, { env: { ...t.env, RL_DEBUG: "1" }, stdin });
    const lines = r.stderr.split("\n");
    return {
      code: r.code,
      opened: lines.filter((l) => l.startsWith("rl: debug: store: opened ")).length,
      cleared: lines.filter((l) => l === "rl: debug: store: clearing debris").length,
    };
  };

  test.each([
    ["run", ["run", "--name", "s1", "--network", "none", ALPINE, "sh", "-c", "echo hi > /f"]],
    ["run -d", ["run", "-d", "--name", "s2", "--network", "none", ALPINE, "sleep", "300"]],
    ["exec", ["exec", "s2", "true"], 0],
    ["cp", ["cp", "s2:/etc/hostname", "-"]],
    ["ps", ["ps", "-a"]],
    ["inspect", ["inspect", "s2"]],
    ["create", ["create", "--name", "s3", "--network", "none", ALPINE, "true"]],
    ["start (a stopped container: claimed, started under a monitor)", ["start", "s1"]],
    ["restart", ["restart", "-t", "0", "s1"]],
    ["stop", ["stop", "-t", "0", "s2"]],
    ["rm", ["rm", "-f", "s3"]],
    ["load", ["load", "-i", join(FIXTURES, "archives/ggcr-hello-world-v25.tar")]],
    ["import", ["import", join(FIXTURES, "rootfs/alpine-minirootfs-3.20.3-x86_64.tar.gz"), "imp:1"]],
    ["tag", ["tag", "imp:1", "imp:2"]],
    ["images", ["images"]],
    ["save", ["save", "-o", "/dev/null", "imp:1"]],
    ["export", ["export", "-o", "/dev/null", "s1"]],
    ["rmi", ["rmi", "imp:2"]],
    ["container prune", ["container", "prune", "-f"]],
  ] as [string, string[], number?][])("%s opens the store once and clears its debris once (exec: never, it writes nothing)", async (_, args, cleared = 1) => {
    expect(await opens(args)).toEqual({ code: 0, opened: 1, cleared });
  });
});
