import { EXIT_RL_ERROR, messageOf, RlError } from "./lib/errors";
import { COMMANDS } from "./commands/index";
import { closest, parseVerbArgs, verbName, type Verb } from "./verb";
import { writeSync } from "node:fs";
import { version as VERSION } from "../package.json";
import { closeDb } from "./lib/store/db";

/** Exit with `code`, the store closed first (see closeDb). */
function exit(code: number): never {
  closeDb();
  process.exit(code);
}

function fail(message: string, code = EXIT_RL_ERROR): never {
  writeSync(2, `rl: ${message}\n`);
  exit(code);
}

/** A usage error, with the help to read: `rl PATH... --help`. */
function usage(message: string, path: string[]): never {
  fail(`${message} (see ${["rl", ...path].join(" ")} --help)`);
}

/** yargs, the help printer, is loaded only here: it alone takes ~30 ms to load. */
async function help(path: string[]): Promise<number> {
  const { showHelp } = await import("./help");
  await showHelp(path, await Promise.all(Object.values(COMMANDS).map((load) => load())));
  return 0;
}

/** Find the verb (and a group's sub-verb) in argv, parse its arguments and run its handler. */
async function dispatch(argv: string[]): Promise<number> {
  // `rl help [VERB...]` is `rl [VERB...] --help`.
  if (argv[0] === "help") argv = [...argv.slice(1), "--help"];
  if (argv[0] === "--version" || argv[0] === "-v" || argv[0] === "version") {
    writeSync(1, `rl version ${VERSION}\n`);
    return 0;
  }
  if (argv[0] === "__complete") {
    const { complete } = await import("./completion");
    const lines = await complete(argv.slice(1));
    writeSync(1, lines.length ? `${lines.join("\n")}\n` : "");
    return 0;
  }
  // A detached container's exit command, run by its monitor (helpers/monitor.c): not a verb for users.
  if (argv[0] === "__cleanup" && argv.length === 2) {
    const [{ Session }, { afterExit }] = await Promise.all([import("./lib/engine/session"), import("./lib/engine/after-exit")]);
    await afterExit(new Session(), argv[1]!);
    return 0;
  }
  // A detached container's healthcheck, run by its monitor every interval.
  if (argv[0] === "__health" && argv.length === 2) {
    const [{ openDb, paths, requireContainer }, { runHealthcheck }] = await Promise.all([import("./lib/index"), import("./lib/engine/healthcheck")]);
    const p = paths();
    const d = openDb(p.db);
    return (await runHealthcheck(d, p, requireContainer(d, argv[1]!))) ? 0 : 1;
  }
  const path: string[] = [];
  let names = Object.keys(COMMANDS);
  let find = async (name: string): Promise<Verb | undefined> => (Object.hasOwn(COMMANDS, name) ? COMMANDS[name]!() : undefined);
  for (let i = 0; ; i++) {
    const word = argv[i];
    if (word === undefined) usage(path.length ? `${path.join(" ")} needs more arguments` : "rl needs a command", path);
    if (word === "--help" || word === "-h") return help(path);
    if (word.startsWith("-")) usage(`unknown flag: ${word}`, path);
    const verb = await find(word);
    if (!verb) {
      const guess = closest(word, names);
      const typed = [...path, word].join(" ");
      usage(guess ? `unknown command "${typed}": did you mean ${[...path, guess].join(" ")}?` : `unknown command "${typed}"`, path);
    }
    path.push(word);
    if (!verb.SUBCOMMANDS) {
      const parsed = parseVerbArgs(verb, argv.slice(i + 1), path.join(" "));
      if ("help" in parsed) return help(path);
      if ("error" in parsed) usage(parsed.error, path);
      return (verb.handler as (a: object) => Promise<number>)(parsed.values);
    }
    const subs = verb.SUBCOMMANDS;
    names = subs.map(verbName);
    find = async (name: string) => subs.find((s) => verbName(s) === name);
  }
}

/** Run the command line in process.argv and exit with its code. */
async function main(): Promise<never> {
  try {
    const code = await dispatch(process.argv.slice(2));
    exit(code);
  } catch (err) {
    if (err instanceof RlError) fail(err.message, err.exitCode);
    fail(messageOf(err));
  }
}

// Started by cli/executable.ts (the rl executable) or cli/main.ts (the sources).
void main();
