import type { Options } from "yargs";

/**
 * docker's rule for `run IMAGE COMMAND...`: options stop at the image; everything after it belongs to
 * the container's command, even when it looks like an option. Insert "--" after the image so yargs
 * passes the command through untouched. Returns an error message for an unknown option (yargs would
 * otherwise take the image as that option's value).
 */
export function splitAtImage(args: string[], options: Record<string, Options>): string[] | { error: string } {
  const takesValue = new Map<string, boolean>([["help", false]]);
  for (const [name, o] of Object.entries(options)) {
    for (const n of [name, ...([o.alias ?? []].flat() as string[])]) takesValue.set(n, o.type !== "boolean");
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return args;
    if (!a.startsWith("-") || a === "-") return [...args.slice(0, i + 1), "--", ...args.slice(i + 1)];
    const names = a.startsWith("--") ? [a.slice(2).split("=")[0]!.replace(/^no-/, "")] : [...a.slice(1).split("=")[0]!];
    const unknown = names.find((n) => !takesValue.has(n) && !takesValue.has(n.replace(/^no-/, "")));
    if (unknown !== undefined) return { error: `unknown flag: ${a.startsWith("--") ? "--" : "-"}${unknown}` };
    if (!a.includes("=") && takesValue.get(names[names.length - 1]!)) i++;
  }
  return args;
}
