import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sourceOf, staleReason, type Inputs } from "../../helpers/executable";

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
  /** Record cli/a.ts as a build that began at `started` (by default, just now) found it. */
  const record = (build: string, builtIn = root, started = Date.now()) => {
    writeFileSync(join(root, "helpers/build/rl.inputs.json"), JSON.stringify({ build, root: builtIn, started, files: [sourceOf(root, "cli/a.ts")] } satisfies Inputs));
  };
  /** Set cli/a.ts's mtime (ms) as it is, or as a filesystem that keeps whole seconds only shows it. */
  const setMtime = (ms: number) => utimesSync(source, ms / 1000, ms / 1000);

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
  test("touched but not changed: the content says it is fresh", () => {
    writeFileSync(source, "export const a = 1;\n");
    record("b1");
    setMtime(statSync(source).mtimeMs + 60_000);
    expect(staleReason(root, "b1")).toBeUndefined();
  });

  test("edited to the same size", () => {
    writeFileSync(source, "export const a = 1;\n");
    record("b1");
    setMtime(statSync(source).mtimeMs - 60_000);
    writeFileSync(source, "export const a = 3;\n");
    expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
  });

  describe("a filesystem that shows whole seconds only (hostfs in a user-mode-linux guest)", () => {
    // The build recorded cli/a.ts at 12:00:00.250 on the host; the guest sees 12:00:00.000.
    const written = Date.parse("2026-01-01T12:00:00.250Z");
    const shown = Date.parse("2026-01-01T12:00:00.000Z");

    test("the same second, before the build's: fresh without reading the file", () => {
      writeFileSync(source, "export const a = 1;\n");
      setMtime(written);
      record("b1", root, written + 5_000);
      setMtime(shown);
      // Same size, other content: had it been read, it would be stale. The times alone decide here.
      writeFileSync(source, "export const a = 4;\n");
      setMtime(shown);
      expect(staleReason(root, "b1")).toBeUndefined();
    });

    test("written in the second the build began: the content decides", () => {
      writeFileSync(source, "export const a = 1;\n");
      setMtime(written);
      record("b1", root, written + 500);
      setMtime(shown);
      expect(staleReason(root, "b1")).toBeUndefined();
      writeFileSync(source, "export const a = 5;\n");
      setMtime(shown);
      expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
    });

    test("a later second: stale", () => {
      writeFileSync(source, "export const a = 6;\n");
      setMtime(written);
      record("b1", root, written + 5_000);
      writeFileSync(source, "export const a = 7;\n");
      setMtime(shown + 9_000);
      expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
    });
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
