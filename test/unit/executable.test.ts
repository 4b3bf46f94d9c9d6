import { afterEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sourceOf, staleReason, type Inputs } from "../../helpers/executable";

describe("the rl executable runs its own code only while it is fresh", () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });
  /** Set a file's mtime (ms). */
  const setMtime = (path: string, ms: number) => utimesSync(path, ms / 1000, ms / 1000);
  /**
   * A checkout of its own with one source, cli/a.ts (mtime `mtimeMs` if given), and (unless `built` is
   * false) the record of a build that began at `started` (default: now) and found it so.
   */
  const checkout = (o: { build?: string; builtIn?: string; built?: boolean; mtimeMs?: number; started?: number } = {}) => {
    const root = mkdtempSync(join(tmpdir(), "rl-executable-"));
    roots.push(root);
    mkdirSync(join(root, "helpers/build"), { recursive: true });
    mkdirSync(join(root, "cli"));
    const source = join(root, "cli/a.ts");
    writeFileSync(source, "export const a = 1;\n");
    if (o.mtimeMs !== undefined) setMtime(source, o.mtimeMs);
    if (o.built !== false) {
      const inputs: Inputs = { build: o.build ?? "b1", root: o.builtIn ?? root, started: o.started ?? Date.now(), files: [sourceOf(root, "cli/a.ts")] };
      writeFileSync(join(root, "helpers/build/rl.inputs.json"), JSON.stringify(inputs));
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
  test("touched but not changed: the content says it is fresh", () => {
    const { root, source } = checkout();
    setMtime(source, statSync(source).mtimeMs + 60_000);
    expect(staleReason(root, "b1")).toBeUndefined();
  });
  test("edited to the same size, with an older mtime", () => {
    const { root, source } = checkout();
    const { mtimeMs } = statSync(source);
    writeFileSync(source, "export const a = 3;\n");
    setMtime(source, mtimeMs - 60_000);
    expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
  });

  describe("a filesystem that shows whole seconds only (hostfs in a user-mode-linux guest)", () => {
    // The build recorded cli/a.ts at 12:00:00.250 on the host; the guest sees 12:00:00.000.
    const written = Date.parse("2026-01-01T12:00:00.250Z");
    const shown = Date.parse("2026-01-01T12:00:00.000Z");

    test("the same second, before the build's: fresh without reading the file", () => {
      const { root, source } = checkout({ mtimeMs: written, started: written + 5_000 });
      // Same size, other content: had it been read, it would be stale. The times alone decide here.
      writeFileSync(source, "export const a = 4;\n");
      setMtime(source, shown);
      expect(staleReason(root, "b1")).toBeUndefined();
    });

    test("written in the second the build began: the content decides", () => {
      const { root, source } = checkout({ mtimeMs: written, started: written + 500 });
      setMtime(source, shown);
      expect(staleReason(root, "b1")).toBeUndefined();
      writeFileSync(source, "export const a = 5;\n");
      setMtime(source, shown);
      expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
    });

    test("a later second: stale", () => {
      const { root, source } = checkout({ mtimeMs: written, started: written + 5_000 });
      writeFileSync(source, "export const a = 7;\n");
      setMtime(source, shown + 9_000);
      expect(staleReason(root, "b1")).toBe("cli/a.ts changed since it was built");
    });
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
