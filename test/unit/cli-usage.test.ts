import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMMANDS } from "../../cli/commands/index";
import * as rmi from "../../cli/commands/rmi";
import * as run from "../../cli/commands/run";
import { closest, editDistance, parseVerbArgs, positionalsOf, verbName, type Verb } from "../../cli/verb";

const MAIN = join(import.meta.dir, "../../cli/main.ts");

function rl(args: string[]) {
  const r = Bun.spawnSync([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", env: { ...process.env, RL_ROOT: "/nonexistent/rl-usage" } });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe("usage errors: one line, exit 125, the help to read", () => {
  test.each([
    [["imgs"], 'rl: unknown command "imgs": did you mean images? (see rl --help)\n'],
    [["xyzzyq"], 'rl: unknown command "xyzzyq" (see rl --help)\n'],
    [["image", "lss"], 'rl: unknown command "image lss": did you mean image ls? (see rl image --help)\n'],
    [["help", "imgs"], 'rl: unknown command "imgs": did you mean images? (see rl --help)\n'],
    [["--bogus"], "rl: unknown flag: --bogus (see rl --help)\n"],
    [["ps", "--bogus"], "rl: unknown flag: --bogus (see rl ps --help)\n"],
    [["ps", "-a", "-Z"], "rl: unknown flag: -Z (see rl ps --help)\n"],
    [["image", "ls", "--bogus"], "rl: unknown flag: --bogus (see rl image ls --help)\n"],
    [["ps", "extra"], "rl: unexpected argument: extra (see rl ps --help)\n"],
    [["port", "web", "80", "81"], "rl: unexpected argument: 81 (see rl port --help)\n"],
    [["ps", "--format", "xml"], `rl: invalid value "xml" for --format: use table, json, or a Go template such as '{{.ID}}' (see rl ps --help)\n`],
    [["ps", "--format", "{{.Names"], 'rl: invalid value "{{.Names" for --format: at 1:1: unclosed action: no }} (see rl ps --help)\n'],
    [["images", "--format", "{{nosuch .ID}}"], 'rl: invalid value "{{nosuch .ID}}" for --format: at 1:3: function "nosuch" not defined (see rl images --help)\n'],
    [["save", "-o"], "rl: flag needs an argument: -o (see rl save --help)\n"],
    [["image"], "rl: image needs more arguments (see rl image --help)\n"],
    [["image", "inspect"], "rl: image inspect needs more arguments (see rl image inspect --help)\n"],
    [["tag"], "rl: tag needs more arguments (see rl tag --help)\n"],
    [["tag", "alpine", "-f"], "rl: unknown flag: -f (see rl tag --help)\n"],
    [["tag", "alpine"], "rl: tag needs more arguments (see rl tag --help)\n"],
    [[], "rl: rl needs a command (see rl --help)\n"],
    [["run", "--bogus", "img"], "rl: unknown flag: --bogus (see rl run --help)\n"],
    [["run"], "rl: run needs more arguments (see rl run --help)\n"],
    // -h is run's --hostname, so it is no help there
    [["run", "-h"], "rl: flag needs an argument: -h (see rl run --help)\n"],
  ])("rl %p", (args, stderr) => expect(rl(args)).toEqual({ code: 125, stdout: "", stderr }));
});

describe("help (the only path that loads yargs)", () => {
  test("--version, -v and version print rl's version from package.json", async () => {
    const { version } = await Bun.file(join(import.meta.dir, "../../package.json")).json();
    for (const args of [["--version"], ["-v"], ["version"]]) expect(rl(args)).toEqual({ code: 0, stdout: `rl version ${version}\n`, stderr: "" });
    expect(rl(["--help"]).stdout).toContain("--version");
  });

  test("help of a verb shows its usage, options and examples", () => {
    const r = rl(["run", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("rl run <IMAGE> [COMMAND..]\n");
    expect(r.stdout).toContain("Examples:");
    expect(r.stdout).toContain("--publish");
    const ps = rl(["ps", "--help"]);
    expect(ps).toMatchObject({ code: 0, stderr: "" });
    expect(ps.stdout).toMatch(/-a, --all +Show all containers/);
    expect(ps.stdout).toMatch(/Examples:\n(.*\n)*  rl ps -a +List every container, exited ones too/);
  });
  test("a group's help lists its verbs", () => {
    const r = rl(["image", "--help"]);
    expect(r.code).toBe(0);
    for (const line of ["rl image ls ", "rl image inspect <IMAGE..> ", "rl image history <IMAGE> ", "rl image prune ", "rl image rm <IMAGE..> ", "rl image tag <IMAGE> <NAME..> "]) expect(r.stdout).toContain(line);
    expect(rl(["system", "-h"]).stdout).toContain("rl system reset ");
  });
  test("rl --help lists every verb; rl help, -h and help VERB say the same", () => {
    const top = rl(["--help"]);
    expect(top.code).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(top.stdout).toContain(`  rl ${name}`);
    expect(rl(["help"])).toEqual(top);
    expect(rl(["-h"])).toEqual(top);
    expect(rl(["help", "image", "rm"])).toEqual(rl(["image", "rm", "--help"]));
    // -h is help wherever the verb has no -h of its own, also after other arguments
    expect(rl(["rmi", "alpine", "-h"])).toEqual(rl(["rmi", "--help"]));
  });
});

describe("options after positionals, as docker and podman allow (all verbs but run)", () => {
  // Made in beforeAll, not when the block is collected, so a run that -t filters away leaves nothing in /tmp.
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rl-usage-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const auths = { auths: { "localhost:5000": { auth: "bWU6c2VjcmV0" }, "127.0.0.1:5001": { auth: "bWU6c2VjcmV0" } } };

  // AUTH stands for the auth file, which exists only once the tests run.
  test.each([[["logout", "localhost:5000", "--authfile", "AUTH"]], [["logout", "--authfile=AUTH", "localhost:5000"]]])("rl %p", (args) => {
    const authfile = join(dir, "auth.json");
    writeFileSync(authfile, JSON.stringify(auths));
    expect(rl(args.map((a) => a.replace("AUTH", authfile)))).toEqual({ code: 0, stdout: "Removed login credentials for localhost:5000\n", stderr: "" });
    expect(Object.keys(JSON.parse(readFileSync(authfile, "utf8")).auths)).toEqual(["127.0.0.1:5001"]);
  });
});

describe("parseVerbArgs", () => {
  test("positionals by name, options anywhere, -- ends them", () => {
    expect(parseVerbArgs(rmi, ["alpine", "-f", "busybox"], "rmi")).toEqual({ values: { force: true, IMAGE: ["alpine", "busybox"] } });
    expect(parseVerbArgs(rmi, ["--", "-f"], "rmi")).toEqual({ values: { force: false, IMAGE: ["-f"] } });
    expect(parseVerbArgs(rmi, ["-h"], "rmi")).toEqual({ help: true });
  });
  test("run: options end at IMAGE, the rest is the container's command", () => {
    const r = parseVerbArgs(run, ["-it", "--rm", "img", "ls", "-la", "--help"], "run");
    expect(r).toMatchObject({ values: { interactive: true, tty: true, rm: true, IMAGE: "img", COMMAND: ["ls", "-la", "--help"] } });
    expect(parseVerbArgs(run, ["--help", "img"], "run")).toEqual({ help: true });
  });
  test("positionals: <required>, [optional], X.. takes the rest", () => {
    expect(positionalsOf("push <IMAGE> [DESTINATION]")).toEqual([
      { name: "IMAGE", required: true, variadic: false },
      { name: "DESTINATION", required: false, variadic: false },
    ]);
    expect(positionalsOf("tag <IMAGE> <NAME..>")[1]).toEqual({ name: "NAME", required: true, variadic: true });
    expect(positionalsOf("run <IMAGE> [COMMAND..]")[1]).toEqual({ name: "COMMAND", required: false, variadic: true });
  });
});

describe("did you mean", () => {
  test("edit distance", () => {
    expect(editDistance("imgs", "images")).toBe(2);
    expect(editDistance("", "ps")).toBe(2);
    expect(editDistance("kitten", "sitting")).toBe(3);
  });
  test("a swap of two neighbours is one edit", () => expect(editDistance("imagse", "images")).toBe(1));
  test("one edit away, a prefix or an abbreviation; the longer on a tie", () => {
    expect(closest("imgs", ["image", "images"])).toBe("images");
    expect(closest("pul", ["pull", "push", "ps"])).toBe("pull");
    expect(closest("rmii", ["rm", "rmi"])).toBe("rmi");
    expect(closest("sys", ["save", "system"])).toBe("system");
    expect(closest("xyzzyq", ["ps", "images"])).toBeUndefined();
  });
  test.each([
    ["stop", "save"],
    ["logs", "login"],
    ["kill", "pull"],
    ["exec", "export"],
  ])("%p is not a typo of %p", (typed, other) => expect(closest(typed, [other, "ps", "images"])).toBeUndefined());
});

describe("the command table", () => {
  const verbs = async () => Promise.all(Object.entries(COMMANDS).map(async ([name, load]) => [name, await load()] as const));
  const check = (v: Verb) => {
    expect(v.EXAMPLES?.length).toBeGreaterThan(0);
    if (v.SUBCOMMANDS) return v.SUBCOMMANDS.forEach(check);
    expect(typeof v.handler).toBe("function");
    // help describes every positional the command string names
    for (const p of positionalsOf(v.command)) expect(v.POSITIONALS?.[p.name]).toBeString();
  };
  test("each name is its module's verb; each verb has examples and described positionals", async () => {
    for (const [name, v] of await verbs()) {
      expect(verbName(v)).toBe(name);
      check(v);
    }
  });
});

describe("prune's until filter", () => {
  const { untilTime } = require("../../cli/lib/filters") as typeof import("../../cli/lib/filters");
  const now = Date.parse("2026-12-07T12:00:00Z");
  test.each([
    ["24h", now - 24 * 3600_000],
    ["1h30m", now - 90 * 60_000],
    ["1.5h", now - 90 * 60_000],
    ["2026-12-01T00:00:00Z", Date.parse("2026-12-01T00:00:00Z")],
    ["1700000000", 1700000000_000],
  ])("%p", (v, want) => expect(untilTime(v, now)).toBe(want));
  test("anything else is a clear error", () => expect(() => untilTime("soon", now)).toThrow("invalid filter until=soon: use a duration (24h, 90m) or a time"));
});
