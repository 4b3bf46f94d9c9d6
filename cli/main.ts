#!/usr/bin/env bun
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { EXIT_RL_ERROR, messageOf, RlError } from "./lib/index";
import * as run from "./commands/run";
import * as info from "./commands/info";
import * as ps from "./commands/ps";
import * as rm from "./commands/rm";
import * as port from "./commands/port";
import { splitAtImage } from "./argv-split";

/** The command table: each verb is a small module with command/describe/builder/handler. */
const COMMANDS = [run, info, ps, rm, port];

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

for (const c of COMMANDS) {
  cli.command(c.command, c.describe, c.builder as never, async (a: never) => {
    exitCode = await (c.handler as (a: unknown) => Promise<number>)(a);
  });
}

try {
  await cli.parseAsync();
} catch (err) {
  if (err instanceof RlError) fail(err.message, err.exitCode);
  fail(messageOf(err));
}
process.exit(exitCode);
