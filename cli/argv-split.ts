/**
 * docker's rule for `run IMAGE COMMAND...`: options stop at the image; everything after it belongs to
 * the container's command, even when it looks like an option. Insert "--" after the image so yargs
 * passes the command through untouched. `valueOptions` are the names taking a value ("e", "env", ...).
 */
export function splitAtImage(args: string[], valueOptions: Set<string>): string[] {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") return args;
    if (!a.startsWith("-") || a === "-") return [...args.slice(0, i + 1), "--", ...args.slice(i + 1)];
    if (a.includes("=")) continue;
    const takesValue = a.startsWith("--") ? valueOptions.has(a.slice(2)) : valueOptions.has(a.slice(-1)) ;
    if (takesValue) i++;
  }
  return args;
}
