#!/usr/bin/env bun
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { EXIT_RL_ERROR, messageOf, RlError } from "./lib/index";
import * as run from "./commands/run";
import * as info from "./commands/info";
import * as ps from "./commands/ps";
import * as rm from "./commands/rm";
import * as images from "./commands/images";
import * as image from "./commands/image";
import * as tag from "./commands/tag";
import * as rmi from "./commands/rmi";
import * as load from "./commands/load";
import * as save from "./commands/save";
import * as importCmd from "./commands/import";
import * as exportCmd from "./commands/export";
import * as system from "./commands/system";
import { splitAtImage } from "./argv-split";

interface Command {
  command: string;
  describe: string;
  builder: unknown;
  handler?: unknown;
  /** Groups (`image`, `system`) have verbs of their own instead of a handler. */
  SUBCOMMANDS?: Command[];
}

/** The command table: each verb is a small module with command/describe/builder/handler. */
const COMMANDS: Command[] = [run, info, ps, rm, images, image, tag, rmi, load, save, importCmd, exportCmd, system];

let exitCode = 0;


function fail(message: string, code = EXIT_RL_ERROR): never {
  process.stderr.write(`rl: ${message}\n`);
  process.exit(code);
}

let argv = hideBin(process.argv);
if (argv[0] === "run") {
  const split = splitAtImage(argv.slice(1), run.OPTIONS);
  if ("error" in split) fail(`${split.error} (see rl run --help)`);
  argv = ["run", ...split];
}

const cli = yargs(argv)
  .scriptName("rl")
  .parserConfiguration({ "greedy-arrays": false })
  .usage("rl: rootless OCI containers\n\nUsage: $0 <command> [options]")
  .strict()
  .demandCommand(1, "rl needs a command: see rl --help")
  .recommendCommands()
  .help()
  .alias("help", "help")
  .version(false)
  .wrap(Math.min(110, process.stdout.columns || 100))
  .fail((msg, err) => {
    if (err) throw err;
    fail(`${msg} (see rl --help)`);
  });

function register(y: typeof cli, c: Command): void {
  const build = c.builder as (y: typeof cli) => typeof cli;
  const builder = c.SUBCOMMANDS
    ? (sub: typeof cli) => {
        for (const s of c.SUBCOMMANDS!) register(sub, s);
        return build(sub).demandCommand(1, `rl ${c.command.split(" ")[0]} needs a command: see its --help`);
      }
    : build;
  y.command(c.command, c.describe, builder as never, async (a: never) => {
    if (c.handler) exitCode = await (c.handler as (a: unknown) => Promise<number>)(a);
  });
}

for (const c of COMMANDS) register(cli, c);

try {
  await cli.parseAsync();
} catch (err) {
  if (err instanceof RlError) fail(err.message, err.exitCode);
  fail(messageOf(err));
}
process.exit(exitCode);
