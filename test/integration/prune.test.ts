import { afterAll, describe, expect, test } from "bun:test";
import { ALPINE, BUSYBOX, FIXTURES, makeEnv, rl, RL_BIN, skipReason } from "./harness";

const reason = skipReason();
if (reason) console.log(`skipping prune integration tests: ${reason}`);

describe.skipIf(Boolean(reason))("system prune and image prune --filter", () => {
  const t = makeEnv();
  afterAll(() => t.cleanup());
  const ok = async (args: string[]) => {
    const r = await rl(args, { env: t.env });
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: "" });
    return r.stdout;
  };
  const DIVE = "3eaccc100f866490f00ae82727b459a737af031dcf44c791d8aa714a70f24959";
  const ALPINE_ID = "a9e81ecc4c3b07bb1950de30296b22e8d3800035ec8a73309a22533fdf10f12a";

  test("image prune --filter until= keeps what was built after; label= only what carries it", async () => {
    await ok(["load", "-i", `${FIXTURES}/archives/dive-test-oci-gzip-image.tar`]);
    // The dive test image was built in 2025: not before 2024, but before now.
    expect(await ok(["image", "prune", "--filter", "until=2024-01-01T00:00:00Z"])).toBe("");
    expect(await ok(["image", "prune", "--filter", "label=nosuch"])).toBe("");
    expect(await ok(["images", "-q"])).toBe(`${DIVE.slice(0, 12)}\n`);
    expect(await ok(["image", "prune", "--filter", "until=1h"])).toBe(`${DIVE}\n`);
    expect(await ok(["images", "-q"])).toBe("");
    expect(await rl(["image", "prune", "--filter", "until=soon"], { env: t.env })).toMatchObject({ code: 125, stderr: expect.stringContaining("invalid filter until=soon") });
  });

  test("system prune: stopped containers, unnamed images; -a unused images; --volumes unused volumes; a running container and its image stay", async () => {
    await ok(["load", "-i", `${FIXTURES}/archives/dive-test-oci-gzip-image.tar`]);
    await ok(["volume", "create", "spare"]);
    expect((await rl(["run", "--name", "gone", "--network", "none", ALPINE, "true"], { env: t.env })).code).toBe(0);
    const goneId = (await ok(["ps", "-aq", "--no-trunc"])).trim();
    const running = Bun.spawn([RL_BIN, "run", "--rm", "--name", "up", "--network", "none", BUSYBOX, "sh", "-c", "echo up; exec sleep 600"], { env: t.env, stdout: "pipe", stderr: "pipe" });
    try {
      expect(new TextDecoder().decode((await running.stdout.getReader().read()).value)).toBe("up\n");
      // The alpine image run from an OCI layout has no name: once its container is gone it is unused and unnamed too.
      const pruned = (await ok(["system", "prune"])).split("\n");
      expect(pruned.slice(0, 3)).toEqual(["Deleted Containers", goneId, "Deleted Images"]);
      expect(pruned.slice(3).filter(Boolean).sort()).toEqual([DIVE, ALPINE_ID].sort());
      expect((await ok(["ps", "-a", "--format", "{{.Names}}"])).trim()).toBe("up");
      expect(await ok(["volume", "ls", "-q"])).toBe("spare\n");
      // -a would take every unused image: busybox (the running container's) stays; --volumes: spare goes.
      expect(await ok(["system", "prune", "-a", "--volumes"])).toBe("Deleted Volumes\nspare\n");
      const inUse = (await ok(["ps", "--format", "{{.ImageID}}"])).trim();
      expect(await ok(["images", "-q"])).toBe(`${inUse.slice(0, 12)}\n`);
      expect(await ok(["volume", "ls", "-q"])).toBe("");
    } finally {
      running.kill("SIGKILL");
      await running.exited;
    }
  });
});
