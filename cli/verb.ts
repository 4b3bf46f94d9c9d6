import { aliasesOf, parseOptions, type OptionTable, type OptionValues } from "./parse-options";

/** A help example: the command line (`$0` stands for rl) and what it does. */
export type Example = readonly [string, string];

/**
 * A verb: a module in cli/commands/. Its data drives both rl's own parsing (cli/rl.ts) and the help
 * yargs prints (cli/help.ts), so no module builds either by hand.
 */
export interface Verb {
  /** Name, then positionals: `<X>` required, `[X]` optional, `X..` takes all the rest ("tag <IMAGE> <NAME..>"). */
  command: string;
  describe: string;
  OPTIONS?: OptionTable;
  /** What each positional is, for help. */
  POSITIONALS?: Record<string, string>;
  EXAMPLES?: readonly Example[];
  /** Options end at the first positional: what follows belongs to a command of its own (`run IMAGE ls -la`). */
  OPTIONS_END_AT_FIRST_ARGUMENT?: boolean;
  /** Called with the options under their long names and the positionals under theirs. */
  handler?: (a: never) => Promise<number>;
  /** Groups (`image`, `system`) have verbs of their own instead of a handler. */
  SUBCOMMANDS?: readonly Verb[];
}

export interface Positional {
  name: string;
  required: boolean;
  variadic: boolean;
}

export const verbName = (v: Verb): string => v.command.split(" ")[0]!;

/** The positionals named in a verb's command string. */
export function positionalsOf(command: string): Positional[] {
  return command
    .split(" ")
    .slice(1)
    .map((t) => {
      const variadic = t.endsWith("..>") || t.endsWith("..]");
      return { name: t.slice(1, variadic ? -3 : -1), required: t.startsWith("<"), variadic };
    });
}

/**
 * A verb's arguments as its handler takes them, or a usage error (`path` is the verb as typed, e.g.
 * "image rm"), or a request for help: --help, and -h where the verb has no -h option of its own.
 */
export function parseVerbArgs(v: Verb, args: string[], path: string): { values: OptionValues } | { error: string } | { help: true } {
  const table = v.OPTIONS ?? {};
  const hTaken = Object.values(table).some((o) => aliasesOf(o).includes("h"));
  const parsed = parseOptions(args, { ...table, help: { type: "boolean", alias: hTaken ? [] : ["h"] } }, { interspersed: !v.OPTIONS_END_AT_FIRST_ARGUMENT });
  if ("error" in parsed) return parsed;
  const { help, ...values } = parsed.values;
  if (help) return { help: true };
  const rest = parsed.rest;
  for (const p of positionalsOf(v.command)) {
    if (p.required && rest.length === 0) return { error: `${path} needs more arguments` };
    if (p.variadic) values[p.name] = rest.splice(0);
    else if (rest.length) values[p.name] = rest.shift();
  }
  if (rest.length) return { error: `unexpected argument: ${rest[0]}` };
  return { values };
}

/** Edits (insert, delete, replace, swap of two neighbours) that turn a into b. */
export function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, before[j - 2]! + 1);
    }
    [before, prev] = [prev, row];
  }
  return prev[b.length]!;
}

/** Whether the letters of `short` appear in `long` in order, starting with the same letter ("imgs" in "images"). */
function abbreviates(short: string, long: string): boolean {
  if (short.length < 3 || short[0] !== long[0]) return false;
  let i = 0;
  for (const c of long) if (c === short[i]) i++;
  return i === short.length;
}

/**
 * The name a mistyped one most likely meant, if any: one edit away, a prefix of it, or an abbreviation
 * of it. Two real words a few letters apart ("logs", "login") are not a typo of each other.
 */
export function closest(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const n of names) {
    const d = editDistance(word, n);
    if (d > 1 && !(word.length >= 2 && n.startsWith(word)) && !abbreviates(word, n)) continue;
    if (d < bestDistance || (d === bestDistance && best !== undefined && n.length > best.length)) [best, bestDistance] = [n, d];
  }
  return best;
}
