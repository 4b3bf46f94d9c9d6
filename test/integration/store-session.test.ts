import { afterAll, describe, expect, test } from "bun:test";
import { ALPINE, makeEnv, rl, skipReason } from "./harness";

// Each command opens the store once and passes it down (engine/session.ts): no library function opens
// its own, and none is shared through a global handle. RL_DEBUG names each opening.

const reason = skipReason();
if (reason) console.log(`skipping store session tests: ${reason}`);

describe.skipIf(Boolean(reason))("one store per command", () => {
  const t = makeEnv();
  afterAll(async () => {
    await rl(["rm", "-f", "s1", "s2", "s3"], { env: t.env });
    await t.cleanup();
  });

  /** Run rl with RL_DEBUG; how many times it opened the store, and its result. */
  const opens = async (args: string[], stdin?: string) => {
    const r = await rl(args, { env: { ...t.env, RL_DEBUG: "1" }, stdin });
    return { code: r.code, opened: r.stderr.split("\n").filter((l) => l.startsWith("rl: debug: store: opened ")).length };
  };

  test.each([
    ["run", ["run", "--name", "s1", "--network", "none", ALPINE, "sh", "-c", "echo hi > /f"]],
    ["run -d", ["run", "-d", "--name", "s2", "--network", "none", ALPINE, "sleep", "300"]],
    ["exec", ["exec", "s2", "true"]],
    ["cp", ["cp", "s2:/etc/hostname", "-"]],
    ["ps", ["ps", "-a"]],
    ["inspect", ["inspect", "s2"]],
    ["create", ["create", "--name", "s3", "--network", "none", ALPINE, "true"]],
    ["start (a stopped container: claimed, started under a monitor)", ["start", "s1"]],
    ["restart", ["restart", "-t", "0", "s1"]],
    ["stop", ["stop", "-t", "0", "s2"]],
    ["rm", ["rm", "-f", "s3"]],
  ] as [string, string[]][])("%s opens the store once", async (_, args) => {
    expect(await opens(args)).toEqual({ code: 0, opened: 1 });
  });
});
