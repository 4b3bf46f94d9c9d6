import { afterAll, describe, expect, test } from "bun:test";
import { ALPINE, makeEnv, rl, skipReason } from "./harness";

const reason = skipReason();

describe.skipIf(Boolean(reason))("generated container names", () => {
  const t = makeEnv();
  afterAll(() => t.cleanup());
  const run = () => rl(["run", "--network", "none", ALPINE, "true"], { env: t.env });

  test("120 sequential and 20 concurrent runs all get a name of their own", async () => {
    const failures: string[] = [];
    for (let i = 0; i < 120; i++) {
      const r = await run();
      if (r.code !== 0) failures.push(r.stderr);
    }
    for (const r of await Promise.all(Array.from({ length: 20 }, run))) if (r.code !== 0) failures.push(r.stderr);
    expect(failures).toEqual([]);
    const names = JSON.parse((await rl(["ps", "-a", "--format", "json"], { env: t.env })).stdout).map((c: { Names: string[] }) => c.Names[0]);
    expect(names.length).toBe(140);
    expect(new Set(names).size).toBe(140);
    for (const n of names) expect(n).toMatch(/^[a-z]+_[a-z]+$/);
  });
});
