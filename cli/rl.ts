import { EXIT_RL_ERROR, messageOf, RlError } from "./lib/errors";
import * as run from "./commands/run";
import { parseOptions } from "./parse-options";
import { writeSync } from "node:fs";

interface Command {
  command: string;
  describe: string;
  builder: unknown;
  handler?: unknown;
  /** Groups (`image`, `system`) have verbs of their own instead of a handler. */
  SUBCOMMANDS?: Command[];
}

/** The command table: each verb is a small module with command/describe/builder/handler. */
const COMMANDS = (): Promise<Command[]> =>
  Promise.all([
    run,
    import("./commands/ps"),
    import("./commands/rm"),
    import("./commands/port"),
    import("./commands/images"),
    import("./commands/image"),
    import("./commands/pull"),
    import("./commands/push"),
    import("./commands/login"),
    import("./commands/logout"),
    import("./commands/tag"),
    import("./commands/rmi"),
    import("./commands/load"),
    import("./commands/save"),
    import("./commands/import"),
    import("./commands/export"),
    import("./commands/system"),
    import("./commands/info"),
  ]);

function fail(message: string, code = EXIT_RL_ERROR): never {
  writeSync(2, `rl: ${message}\n`);
  process.exit(code);
}

/** `rl run` is parsed by rl's own option parser (yargs' load time would double its start-up cost). */
async function runFast(args: string[]): Promise<number | undefined> {
  const parsed = parseOptions(args, { ...run.OPTIONS, help: { type: "boolean" } });
  if ("error" in parsed) fail(`${parsed.error} (see rl run --help)`);
  if (parsed.values.help) return undefined;
  const [image, ...command] = parsed.rest;
  if (image === undefined) fail("rl run needs an IMAGE (see rl run --help)");
  return run.handler({ ...parsed.values, IMAGE: image, COMMAND: command });
}

/** yargs' usage messages in rl's words, with the help to read. */
function usageError(msg: string, argv: string[]): string {
  const verb = argv[0] && !argv[0].startsWith("-") ? argv[0] : undefined;
  const help = verb ? `rl ${verb} --help` : "rl --help";
  const guess = /^Did you mean (.+)\?$/.exec(msg);
  if (guess) return `unknown command "${verb}": did you mean ${guess[1]}? (see rl --help)`;
  if (/^Not enough non-option arguments/.test(msg)) return `${verb} needs more arguments (see ${help})`;
  const unknown = /^Unknown arguments?: (.+)$/.exec(msg);
  if (unknown) return `unknown flag or argument: ${unknown[1]} (see ${help})`;
  return `${msg} (see ${help})`;
}

/** Every other verb, and help, through yargs. */
async function viaYargs(argv: string[]): Promise<number> {
  const { default: yargs } = await import("yargs");
  let exitCode = 0;
  const cli = yargs(argv)
    .scriptName("rl")
    .parserConfiguration({ "greedy-arrays": false })
    .usage("rl: rootless OCI containers\n\nUsage: $0 <command> [options]")
    .strict()
    .demandCommand(1, "rl needs a command")
    .recommendCommands()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      fail(usageError(msg ?? "", argv));
    });
  const register = (y: typeof cli, c: Command): void => {
    const build = c.builder as (y: typeof cli) => typeof cli;
    const builder = c.SUBCOMMANDS
      ? (sub: typeof cli) => {
          for (const s of c.SUBCOMMANDS!) register(sub, s);
          return build(sub).demandCommand(1, `rl ${c.command.split(" ")[0]} needs a command`);
        }
      : build;
    y.command(c.command, c.describe, builder as never, async (a: never) => {
      if (c.handler) exitCode = await (c.handler as (a: unknown) => Promise<number>)(a);
    });
  };
  for (const c of await COMMANDS()) register(cli, c);
  await cli.parseAsync();
  return exitCode;
}

/** Run the command line in process.argv and exit with its code. */
async function main(): Promise<never> {
  try {
    const argv = process.argv.slice(2);
    const code = (argv[0] === "run" ? await runFast(argv.slice(1)) : undefined) ?? (await viaYargs(argv));
    process.exit(code);
  } catch (err) {
    if (err instanceof RlError) fail(err.message, err.exitCode);
    fail(messageOf(err));
  }
}

// No top-level await here: helpers/bundle.ts compiles this file into a CommonJS bytecode bundle.
void main();
