import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleStaleReason } from "../../helpers/bundle";

describe("the start-up bundle runs only while it is fresh", () => {
  const root = mkdtempSync(join(tmpdir(), "rl-bundle-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, "helpers/build"), { recursive: true });
  mkdirSync(join(root, "cli"));
  const source = join(root, "cli/a.ts");
  const record = (bun: string, builtIn = root) => {
    const st = statSync(source);
    writeFileSync(join(root, "helpers/build/rl.cjs.inputs.json"), JSON.stringify({ bun, root: builtIn, files: [["cli/a.ts", st.size, st.mtimeMs]] }));
  };

  test("not built yet", () => {
    expect(bundleStaleReason(root)).toBe("it is not built (bun install builds it)");
  });
  test("fresh: same Bun, every source unchanged", () => {
    writeFileSync(source, "export const a = 1;\n");
    record(Bun.revision);
    expect(bundleStaleReason(root)).toBeUndefined();
  });
  test("a source edited since the build", async () => {
    await Bun.sleep(5);
    writeFileSync(source, "export const a = 2;\n");
    expect(bundleStaleReason(root)).toBe("cli/a.ts changed since it was built");
  });
  test("a source removed since the build", () => {
    record(Bun.revision);
    rmSync(source);
    expect(bundleStaleReason(root)).toBe("cli/a.ts changed since it was built");
  });
  test("built by another Bun", () => {
    writeFileSync(source, "export const a = 1;\n");
    record("0000");
    expect(bundleStaleReason(root)).toBe("it was built by another Bun (0000)");
  });
  test("built in another directory (the bundle holds its absolute paths)", () => {
    record(Bun.revision, "/elsewhere/rl");
    expect(bundleStaleReason(root)).toBe("it was built in /elsewhere/rl");
  });
  test("RL_NO_BUNDLE turns it off", () => {
    record(Bun.revision);
    process.env.RL_NO_BUNDLE = "1";
    try {
      expect(bundleStaleReason(root)).toBe("RL_NO_BUNDLE is set");
    } finally {
      delete process.env.RL_NO_BUNDLE;
    }
  });
});
