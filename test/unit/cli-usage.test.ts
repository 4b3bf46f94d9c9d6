import { describe, expect, test } from "bun:test";
import { join } from "node:path";

const MAIN = join(import.meta.dir, "../../cli/main.ts");

function rl(args: string[]) {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, RL_ROOT: "/nonexistent/rl-usage" } });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("usage errors: one line, exit 125, the help to read", () => {
  test.each([
    [["imgs"], 'rl: unknown command "imgs": did you mean images? (see rl --help)\n'],
    [["ps", "--bogus"], "rl: unknown flag or argument: bogus (see rl ps --help)\n"],
    [["image"], "rl: image needs more arguments (see rl image --help)\n"],
    [["tag"], "rl: tag needs more arguments (see rl tag --help)\n"],
    [[], "rl: rl needs a command (see rl --help)\n"],
    [["run", "--bogus", "img"], "rl: unknown flag: --bogus (see rl run --help)\n"],
  ])("rl %p", (args, stderr) => expect(rl(args)).toEqual({ code: 125, stdout: "", stderr }));

  test("help of a verb shows its examples", () => {
    const r = rl(["run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Examples:");
    expect(r.stdout).toContain("--publish");
  });
});
