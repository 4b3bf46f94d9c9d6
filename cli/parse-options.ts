import type { Options } from "yargs";

export type OptionTable = Record<string, Options>;
export type OptionValues = Record<string, string | number | boolean | string[] | undefined>;

export interface Parsed {
  values: OptionValues;
  /**
   * The arguments that are not options. By default the first of them and everything after it, untouched
   * (docker's rule for `run IMAGE COMMAND...`); with `interspersed`, each of them, options taken from between.
   */
  rest: string[];
}

/** An option's aliases as a list (yargs takes one or several). Not Array.prototype.flat: its first call costs ~0.1 ms. */
export function aliasesOf(o: Options): string[] {
  return o.alias === undefined ? [] : typeof o.alias === "string" ? [o.alias] : [...o.alias];
}

/**
 * Parse options the way docker's flag library does, from the same table yargs uses for help: options
 * stop at the first positional argument, so `run IMAGE ls -la` leaves `-la` to the container; with
 * `interspersed` they may also come after positionals (`rmi alpine -f`). `--` ends the options.
 * Supports --name=value, --name value, --flag[=true|false], --no-flag, combined short booleans (-it),
 * short options with an attached value (-eA=1), repeatable array options, choices and defaults, and
 * `coerce` (a value's parser, also applied to the default: what it throws is the usage error's reason).
 * This is rl's hot path: yargs costs ~30 ms to load, so rl never loads it unless asked for help.
 */
export function parseOptions(args: string[], table: OptionTable, { interspersed = false } = {}): Parsed | { error: string } {
  const byName = new Map<string, [string, Options]>();
  for (const [name, o] of Object.entries(table)) {
    for (const n of [name, ...aliasesOf(o)]) byName.set(n, [name, o]);
  }
  const values: OptionValues = {};
  for (const [name, o] of Object.entries(table)) values[name] = Array.isArray(o.default) ? [...o.default] : o.coerce && o.default !== undefined ? o.coerce(o.default) : o.default;

  const set = (flag: string, name: string, o: Options, raw: string | undefined): string | undefined => {
    if (o.type === "boolean") {
      if (raw !== undefined && raw !== "true" && raw !== "false") return `invalid value ${JSON.stringify(raw)} for ${flag}: use true or false`;
      values[name] = raw !== "false";
      return undefined;
    }
    if (raw === undefined) return `flag needs an argument: ${flag}`;
    if (o.choices && !(o.choices as string[]).includes(raw)) return `invalid value ${JSON.stringify(raw)} for ${flag}: choose from ${(o.choices as string[]).join(", ")}`;
    let v: string | number = raw;
    if (o.type === "number") {
      v = Number(raw);
      if (raw.trim() === "" || !Number.isFinite(v)) return `invalid value ${JSON.stringify(raw)} for ${flag}: a number is needed`;
    }
    if (o.coerce) {
      try {
        v = o.coerce(v);
      } catch (err) {
        return `invalid value ${JSON.stringify(raw)} for ${flag}: ${(err as Error).message}`;
      }
    }
    if (o.array) (values[name] as string[]).push(String(v));
    else values[name] = v;
    return undefined;
  };

  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return { values, rest: [...rest, ...args.slice(i + 1)] };
    if (!a.startsWith("-") || a === "-") {
      if (!interspersed) return { values, rest: args.slice(i) };
      rest.push(a);
      continue;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      let key = a.slice(2, eq < 0 ? undefined : eq);
      let raw = eq < 0 ? undefined : a.slice(eq + 1);
      let found = byName.get(key);
      if (!found && key.startsWith("no-") && byName.get(key.slice(3))?.[1].type === "boolean" && raw === undefined) {
        found = byName.get(key.slice(3));
        key = key.slice(3);
        raw = "false";
      }
      if (!found) return { error: `unknown flag: --${key}` };
      const [name, o] = found;
      if (raw === undefined && o.type !== "boolean") raw = args[++i];
      const err = set(`--${key}`, name, o, raw);
      if (err) return { error: err };
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const found = byName.get(a[j]!);
      if (!found) return { error: `unknown flag: -${a[j]}` };
      const [name, o] = found;
      if (o.type === "boolean") {
        const err = set(`-${a[j]}`, name, o, undefined);
        if (err) return { error: err };
        continue;
      }
      const attached = a.slice(j + 1);
      const err = set(`-${a[j]}`, name, o, attached !== "" ? attached.replace(/^=/, "") : args[++i]);
      if (err) return { error: err };
      break;
    }
  }
  return { values, rest };
}
