import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { staleReason } from "../../helpers/executable";

describe("the rl executable runs its own code only while it is fresh", () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  /** A checkout of its own with one source, cli/a.ts, and (unless `built` is false) the build's record of it. */
  const checkout = (o: { build?: string; builtIn?: string; built?: boolean } = {}) => {
    const root = mkdtempSync(join(tmpdir(), "rl-executable-"));
    roots.push(root);
    mkdirSync(join(root, "helpers/build"), { recursive: true });
    mkdirSync(join(root, "cli"));
    const source = join(root, "cli/a.ts");
    writeFileSync(source, "export const a = 1;\n");
    if (o.built !== false) {
      const st = statSync(source);
      writeFileSync(join(root, "helpers/build/rl.inputs.json"), JSON.stringify({ build: o.build ?? "b1", root: o.builtIn ?? root, files: [["cli/a.ts", st.size, st.mtimeMs]] }));
    }
    return { root, source };
  };

  test("not built yet", () => {
    const { root } = checkout({ built: false });
    expect(staleReason(root)).toBe("it is not built (bun install builds it)");
  });
  test("fresh: every source unchanged, the same build", () => {
    const { root } = checkout();
    expect(staleReason(root)).toBeUndefined();
    expect(staleReason(root, "b1")).toBeUndefined();
  });
  test("a source edited since the build", () => {
    const { root, source } = checkout();
    writeFileSync(source, "export const a = 2;\n");
    // An edit a second later, whatever the file system's time resolution.
    const later = new Date(statSync(source).mtimeMs + 1000);
    utimesSync(source, later, later);
    expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
  });
  test("a source removed since the build", () => {
    const { root, source } = checkout();
    rmSync(source);
    expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
  });
  test("an executable whose inputs were replaced by another build", () => {
    const { root } = checkout({ build: "b2" });
    expect(staleReason(root, "b1")).toBe("it was replaced by another build");
  });
  test("built in another directory (the executable holds its absolute paths)", () => {
    const { root } = checkout({ builtIn: "/elsewhere/rl" });
    expect(staleReason(root, "b1")).toBe("it was built in /elsewhere/rl");
  });
  test("RL_FROM_SOURCES turns it off", () => {
    const { root } = checkout();
    process.env.RL_FROM_SOURCES = "1";
    try {
      expect(staleReason(root, "b1")).toBe("RL_FROM_SOURCES is set");
    } finally {
      delete process.env.RL_FROM_SOURCES;
    }
  });
});
