import type { Argv } from "yargs";
import { positionalsOf, type Verb } from "./verb";

/** Add a verb (and a group's verbs) to yargs, built from its data, for help only. */
function register(y: Argv, v: Verb): void {
  const builder = (sub: Argv): Argv => {
    for (const p of positionalsOf(v.command)) {
      const describe = v.POSITIONALS?.[p.name];
      if (describe) sub.positional(p.name, { type: "string", array: p.variadic, describe });
    }
    sub.options(v.OPTIONS ?? {});
    for (const [cmd, what] of v.EXAMPLES ?? []) sub.example(cmd, what);
    for (const s of v.SUBCOMMANDS ?? []) register(sub, s);
    return sub;
  };
  y.command(v.command, v.describe, builder);
}

/** Print the help of `rl PATH...` (`rl --help` when PATH is empty), as yargs lays it out. */
export async function showHelp(path: string[], verbs: readonly Verb[]): Promise<void> {
  const { default: yargs } = await import("yargs");
  const cli = yargs([...path, "--help"])
    .scriptName("rl")
    .usage("rl: rootless OCI containers\n\nUsage: $0 <command> [options]")
    .help()
    .version(false)
    .option("version", { alias: "v", type: "boolean", describe: "Show rl's version", global: false })
    .exitProcess(false)
    .wrap(Math.min(110, process.stdout.columns || 100));
  for (const v of verbs) register(cli, v);
  await cli.parseAsync();
}
