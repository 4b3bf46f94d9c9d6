/** Go's fmt.Sprintf for the verbs a format string uses: %v %s %q %d %x %X %o %b %c %f %e %g %t %%, with flags, width and precision. */
import { goNumber, goString } from "./go-value";

const VERB = /%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/g;

export function sprintf(format: string, args: unknown[]): string {
  let next = 0;
  const out = format.replace(VERB, (whole, flags: string, width: string | undefined, precision: string | undefined, verb: string) => {
    if (verb === "%") return "%";
    if (next >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[next++];
    const prec = precision === undefined ? undefined : Number(precision || 0);
    const body = formatOne(verb, arg, flags, prec);
    return pad(body, flags, width === undefined ? 0 : Number(width), verb);
  });
  if (next < args.length) return `${out}%!(EXTRA ${args.slice(next).map((a) => `${typeof a === "string" ? "string" : typeof a}=${goString(a)}`).join(", ")})`;
  return out;
}

function formatOne(verb: string, arg: unknown, flags: string, prec: number | undefined): string {
  const num = typeof arg === "number" ? arg : undefined;
  const sign = (s: string) => (num !== undefined && num >= 0 ? (flags.includes("+") ? `+${s}` : flags.includes(" ") ? ` ${s}` : s) : s);
  switch (verb) {
    case "v":
      return flags.includes("#") && typeof arg === "string" ? JSON.stringify(arg) : sign(goString(arg));
    case "s": {
      const s = goString(arg);
      return prec === undefined ? s : [...s].slice(0, prec).join("");
    }
    case "q":
      return typeof arg === "number" ? `'${String.fromCodePoint(arg)}'` : JSON.stringify(goString(arg));
    case "t":
      return typeof arg === "boolean" ? String(arg) : bad(verb, arg);
    case "c":
      return num !== undefined ? String.fromCodePoint(num) : bad(verb, arg);
    case "d":
      return num !== undefined && Number.isInteger(num) ? sign(String(num)) : bad(verb, arg);
    case "x":
    case "X":
    case "o":
    case "b": {
      const base = { x: 16, X: 16, o: 8, b: 2 }[verb]!;
      let s: string;
      if (num !== undefined && Number.isInteger(num)) s = (num < 0 ? "-" : "") + Math.abs(num).toString(base);
      else if (typeof arg === "string" && (verb === "x" || verb === "X")) s = Buffer.from(arg).toString("hex");
      else return bad(verb, arg);
      if (flags.includes("#") && verb !== "b") s = (verb === "o" ? "0" : "0x") + s;
      return sign(verb === "X" ? s.toUpperCase() : s);
    }
    case "f":
    case "F":
      return num !== undefined ? sign(num.toFixed(prec ?? 6)) : bad(verb, arg);
    case "e":
    case "E": {
      if (num === undefined) return bad(verb, arg);
      const s = num.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, "e$10$2");
      return sign(verb === "E" ? s.toUpperCase() : s);
    }
    case "g":
    case "G":
      return num !== undefined ? sign(prec === undefined ? goNumber(num) : String(Number(num.toPrecision(prec || 1)))) : bad(verb, arg);
    default:
      return `%!${verb}(${typeof arg === "string" ? "string" : typeof arg}=${goString(arg)})`;
  }
}

function bad(verb: string, arg: unknown): string {
  return `%!${verb}(${typeof arg === "string" ? "string" : typeof arg}=${goString(arg)})`;
}

function pad(s: string, flags: string, width: number, verb: string): string {
  const n = [...s].length;
  if (n >= width) return s;
  if (flags.includes("-")) return s + " ".repeat(width - n);
  if (flags.includes("0") && "dxXobfFeEgG".includes(verb)) {
    const signed = /^[+\- ]/.test(s);
    return (signed ? s[0] : "") + "0".repeat(width - n) + (signed ? s.slice(1) : s);
  }
  return " ".repeat(width - n) + s;
}
