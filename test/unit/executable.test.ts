import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { staleReason } from "../../helpers/executable";

describe("the rl executable runs its own code only while it is fresh", () => {
  // Made in beforeAll, not when the block is collected, so a run that -t filters away leaves nothing in /tmp.
  let root = "", source = "";
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "rl-executable-"));
    mkdirSync(join(root, "helpers/build"), { recursive: true });
    mkdirSync(join(root, "cli"));
    source = join(root, "cli/a.ts");
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const record = (build: string, builtIn = root) => {
    const st = statSync(source);
    writeFileSync(join(root, "helpers/build/rl.inputs.json"), JSON.stringify({ build, root: builtIn, files: [["cli/a.ts", st.size, st.mtimeMs]] }));
  };

  test("not built yet", () => {
    expect(staleReason(root)).toBe("it is not built (bun install builds it)");
  });
  test("fresh: every source unchanged, the same build", () => {
    writeFileSync(source, "export const a = 1;\n");
    record("b1");
    expect(staleReason(root)).toBeUndefined();
    expect(staleReason(root, "b1")).toBeUndefined();
  });
  test("a source edited since the build", async () => {
    await Bun.sleep(5);
    writeFileSync(source, "export const a = 2;\n");
    expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
  });
  test("a source removed since the build", () => {
    record("b1");
    rmSync(source);
    expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
  });
  test("an executable whose inputs were replaced by another build", () => {
    writeFileSync(source, "export const a = 1;\n");
    record("b2");
    expect(staleReason(root, "b1")).toBe("it was replaced by another build");
  });
  test("built in another directory (the executable holds its absolute paths)", () => {
    record("b1", "/elsewhere/rl");
    expect(staleReason(root, "b1")).toBe("it was built in /elsewhere/rl");
  });
  test("RL_FROM_SOURCES turns it off", () => {
    record("b1");
    process.env.RL_FROM_SOURCES = "1";
    try {
      expect(staleReason(root, "b1")).toBe("RL_FROM_SOURCES is set");
    } finally {
      delete process.env.RL_FROM_SOURCES;
    }
  });
});
