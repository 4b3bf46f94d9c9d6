#!/usr/bin/env bun
import { EXIT_RL_ERROR, messageOf, RlError } from "./lib/errors";
import * as run from "./commands/run";
import { parseOptions } from "./parse-options";

/** The command table: each verb is a small module with command/describe/builder/handler. */
const COMMANDS = () =>
  Promise.all([
    run,
    import("./commands/pull"),
    import("./commands/push"),
    import("./commands/login"),
    import("./commands/logout"),
    import("./commands/ps"),
    import("./commands/rm"),
    import("./commands/info"),
  ]);

function fail(message: string, code = EXIT_RL_ERROR): never {
  process.stderr.write(`rl: ${message}\n`);
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

/** Every other verb, and help, through yargs. */
async function viaYargs(argv: string[]): Promise<number> {
  const { default: yargs } = await import("yargs");
  let exitCode = 0;
  const cli = yargs(argv)
    .scriptName("rl")
    .parserConfiguration({ "greedy-arrays": false })
    .usage("rl: rootless OCI containers\n\nUsage: $0 <command> [options]")
    .strict()
    .demandCommand(1, "rl needs a command: see rl --help")
    .recommendCommands()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      fail(`${msg} (see rl --help)`);
    });
  for (const c of await COMMANDS()) {
    cli.command(c.command, c.describe, c.builder as never, async (a: never) => {
      exitCode = await (c.handler as (a: unknown) => Promise<number>)(a);
    });
  }
  await cli.parseAsync();
  return exitCode;
}

try {
  const argv = process.argv.slice(2);
  const code = (argv[0] === "run" ? await runFast(argv.slice(1)) : undefined) ?? (await viaYargs(argv));
  process.exit(code);
} catch (err) {
  if (err instanceof RlError) fail(err.message, err.exitCode);
  fail(messageOf(err));
}
