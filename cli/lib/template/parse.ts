/**
 * Go text/template syntax, as docker and podman users type it in `--format`: text and `{{actions}}` with
 * `{{-`/`-}}` trimming and comments; pipelines of commands joined by `|`; fields (`.A.B`), variables (`$`,
 * `$x := …`), literals, function calls and parenthesised pipelines; `if`/`else if`/`else`, `range` (with
 * `$i, $e :=` and `else`), `with` and `end`. No `define`/`template`/`block`: a one-line format has no use for them.
 */
import { TemplateError } from "./template-error";

export type Operand =
  | { kind: "field"; pos: number; base: Operand | null; names: string[] } // .A.B, or (pipe).A, or $x.A
  | { kind: "dot"; pos: number }
  | { kind: "variable"; pos: number; name: string; names: string[] }
  | { kind: "literal"; pos: number; value: unknown }
  | { kind: "function"; pos: number; name: string }
  | { kind: "pipeline"; pos: number; pipe: Pipeline };

export interface Command {
  pos: number;
  args: Operand[];
}

export interface Pipeline {
  pos: number;
  /** `$x := …` (declare) or `$x = …` (assign); range may declare two. */
  declare: string[];
  assign: boolean;
  commands: Command[];
}

export type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pos: number; pipe: Pipeline }
  | { kind: "if" | "with"; pos: number; pipe: Pipeline; then: Node[]; else: Node[] }
  | { kind: "range"; pos: number; pipe: Pipeline; then: Node[]; else: Node[] };

type Token =
  | { t: "text"; pos: number; text: string }
  | { t: "open"; pos: number }
  | { t: "close"; pos: number }
  | { t: "field"; pos: number; names: string[] } // ".A.B" or "."
  | { t: "var"; pos: number; name: string; names: string[] }
  | { t: "ident"; pos: number; name: string }
  | { t: "string" | "number" | "bool" | "nil"; pos: number; value: unknown }
  | { t: "pipe" | "lparen" | "rparen" | "declare" | "assign" | "comma"; pos: number }
  | { t: "chain"; pos: number; names: string[] }; // ".A" right after ")"

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /[+-]?(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)/y;

/** Split a template into tokens; positions are offsets into the source. */
function lex(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    let open = src.indexOf("{{", i);
    if (open < 0) open = src.length;
    let text = src.slice(i, open);
    if (src.startsWith("{{- ", open) || src.startsWith("{{-\t", open) || src.startsWith("{{-\n", open)) text = text.replace(/\s+$/, "");
    if (text) out.push({ t: "text", pos: i, text });
    if (open >= src.length) break;
    i = lexAction(src, open, out);
  }
  return out;
}

/** Tokens of one `{{…}}` starting at `open`; returns the offset after it. */
function lexAction(src: string, open: number, out: Token[]): number {
  let i = open + 2;
  if (/^-\s/.test(src.slice(i, i + 2))) i += 1;
  // A comment is the whole action: {{/* … */}}
  const afterSpace = i + src.slice(i).match(/^\s*/)![0].length;
  if (src.startsWith("/*", afterSpace)) {
    const end = src.indexOf("*/", afterSpace + 2);
    if (end < 0) throw new TemplateError(src, afterSpace, "unclosed comment");
    const at = end + 2 + src.slice(end + 2).match(/^\s*/)![0].length;
    const len = closer(src, at);
    if (!len) throw new TemplateError(src, at, "comment ends without }}");
    return skipAfterClose(src, at, len);
  }
  out.push({ t: "open", pos: open });
  let depth = 0;
  for (;;) {
    const len = closer(src, i);
    if (len) {
      if (depth > 0) throw new TemplateError(src, i, "unclosed left paren");
      out.push({ t: "close", pos: i });
      return skipAfterClose(src, i, len);
    }
    if (i >= src.length) throw new TemplateError(src, open, "unclosed action: no }}");
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const pos = i;
    if (c === "|") out.push({ t: "pipe", pos }), i++;
    else if (c === "(") out.push({ t: "lparen", pos }), depth++, i++;
    else if (c === ")") {
      if (--depth < 0) throw new TemplateError(src, i, "unexpected right paren");
      out.push({ t: "rparen", pos });
      i++;
      if (src[i] === ".") {
        const [names, next] = fieldNames(src, i);
        out.push({ t: "chain", pos: i, names });
        i = next;
      }
    } else if (c === ",") out.push({ t: "comma", pos }), i++;
    else if (src.startsWith(":=", i)) out.push({ t: "declare", pos }), (i += 2);
    else if (c === "=") out.push({ t: "assign", pos }), i++;
    else if (c === '"') [i] = lexString(src, i, out);
    else if (c === "`") {
      const end = src.indexOf("`", i + 1);
      if (end < 0) throw new TemplateError(src, i, "unterminated raw quoted string");
      out.push({ t: "string", pos, value: src.slice(i + 1, end) });
      i = end + 1;
    } else if (c === "'") {
      const m = /'(\\.|[^\\'])'/y;
      m.lastIndex = i;
      const r = m.exec(src);
      if (!r) throw new TemplateError(src, i, "bad character constant");
      const ch = r[1]!.length === 1 ? r[1]! : (JSON.parse(`"${r[1] === "\\'" ? "'" : r[1]}"`) as string);
      out.push({ t: "number", pos, value: ch.codePointAt(0) });
      i = m.lastIndex;
    } else if (c === ".") {
      if (/[0-9]/.test(src[i + 1] ?? "")) i = lexNumber(src, i, out);
      else {
        const [names, next] = fieldNames(src, i);
        out.push({ t: "field", pos, names });
        i = next;
      }
    } else if (c === "$") {
      IDENT.lastIndex = i + 1;
      const m = IDENT.exec(src);
      const name = m ? `$${m[0]}` : "$";
      i = m ? IDENT.lastIndex : i + 1;
      let names: string[] = [];
      if (src[i] === ".") [names, i] = fieldNames(src, i);
      out.push({ t: "var", pos, name, names });
    } else if (/[0-9+-]/.test(c)) i = lexNumber(src, i, out);
    else if (/[A-Za-z_]/.test(c)) {
      IDENT.lastIndex = i;
      const name = IDENT.exec(src)![0];
      i = IDENT.lastIndex;
      if (name === "true" || name === "false") out.push({ t: "bool", pos, value: name === "true" });
      else if (name === "nil") out.push({ t: "nil", pos, value: null });
      else out.push({ t: "ident", pos, name });
    } else throw new TemplateError(src, i, `bad character ${JSON.stringify(c)}`);
  }
}

/** The length of the action's end at `i`: 2 for `}}`, 3 for a trimming `-}}` (after white space), else 0. */
function closer(src: string, i: number): number {
  if (src.startsWith("}}", i)) return 2;
  if (src.startsWith("-}}", i) && /\s/.test(src[i - 1] ?? "")) return 3;
  return 0;
}

/** The offset after an action's end of length `len` at `i`; a trimming end also skips the white space after it. */
function skipAfterClose(src: string, i: number, len: number): number {
  i += len;
  return len === 3 ? i + src.slice(i).match(/^\s*/)![0].length : i;
}

function fieldNames(src: string, i: number): [string[], number] {
  const names: string[] = [];
  while (src[i] === ".") {
    IDENT.lastIndex = i + 1;
    const m = IDENT.exec(src);
    if (!m) {
      if (names.length === 0) return [names, i + 1]; // "." alone
      throw new TemplateError(src, i, "a field name must follow '.'");
    }
    names.push(m[0]);
    i = IDENT.lastIndex;
  }
  return [names, i];
}

function lexNumber(src: string, i: number, out: Token[]): number {
  NUMBER.lastIndex = i;
  const m = NUMBER.exec(src);
  if (!m || !m[0] || /^[+-]$/.test(m[0])) throw new TemplateError(src, i, `bad number syntax`);
  const text = m[0].replace(/_/g, "");
  const value = /^[+-]?0[oO]?[0-7]+$/.test(text) && !/^[+-]?0$/.test(text) ? parseInt(text.replace(/0[oO]?/, ""), 8) * (text.startsWith("-") ? -1 : 1) : Number(text);
  if (Number.isNaN(value)) throw new TemplateError(src, i, `bad number syntax: ${m[0]}`);
  out.push({ t: "number", pos: i, value });
  return NUMBER.lastIndex;
}

function lexString(src: string, i: number, out: Token[]): [number] {
  const m = /"(\\.|[^\\"\n])*"/y;
  m.lastIndex = i;
  const r = m.exec(src);
  if (!r) throw new TemplateError(src, i, "unterminated quoted string");
  let value: string;
  try {
    value = JSON.parse(r[0].replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1").replace(/\\'/g, "'").replace(/\\a/g, "\\u0007").replace(/\\v/g, "\\u000b"));
  } catch {
    throw new TemplateError(src, i, "bad escape in quoted string");
  }
  out.push({ t: "string", pos: i, value });
  return [m.lastIndex];
}

/** Parse a template into its nodes. Errors name the position (line:column) and what is wrong. */
export function parseTemplate(src: string): Node[] {
  const tokens = lex(src);
  let k = 0;
  const peek = () => tokens[k];
  const next = () => tokens[k++];
  const fail = (pos: number, msg: string): never => {
    throw new TemplateError(src, pos, msg);
  };

  function operand(): Operand | undefined {
    const tok = peek();
    if (!tok) return undefined;
    switch (tok.t) {
      case "field":
        k++;
        return tok.names.length ? { kind: "field", pos: tok.pos, base: null, names: tok.names } : { kind: "dot", pos: tok.pos };
      case "var":
        k++;
        return { kind: "variable", pos: tok.pos, name: tok.name, names: tok.names };
      case "string":
      case "number":
      case "bool":
      case "nil":
        k++;
        return { kind: "literal", pos: tok.pos, value: tok.value };
      case "ident":
        k++;
        if (["if", "else", "end", "range", "with"].includes(tok.name)) fail(tok.pos, `unexpected ${tok.name} in operand`);
        return { kind: "function", pos: tok.pos, name: tok.name };
      case "lparen": {
        k++;
        const inner = pipeline(["rparen"]);
        next();
        const chain = peek();
        const op: Operand = { kind: "pipeline", pos: tok.pos, pipe: inner };
        if (chain?.t === "chain") {
          k++;
          return { kind: "field", pos: chain.pos, base: op, names: chain.names };
        }
        return op;
      }
      default:
        return undefined;
    }
  }

  /** A pipeline up to (not including) a token of one of the `end` kinds. */
  function pipeline(end: Token["t"][], allowTwo = false): Pipeline {
    const start = peek();
    const pos = start?.pos ?? src.length;
    const p: Pipeline = { pos, declare: [], assign: false, commands: [] };
    // $x := / $x = / $i, $e :=
    const save = k;
    const vars: string[] = [];
    while (peek()?.t === "var" && (peek() as { names: string[] }).names.length === 0) {
      vars.push((next() as { name: string }).name);
      if (peek()?.t === "comma" && allowTwo && vars.length === 1) {
        k++;
        continue;
      }
      break;
    }
    const after = peek();
    if (vars.length && (after?.t === "declare" || after?.t === "assign")) {
      k++;
      p.declare = vars;
      p.assign = after.t === "assign";
    } else k = save;
    for (;;) {
      const cmdPos = peek()?.pos ?? src.length;
      const args: Operand[] = [];
      for (let op = operand(); op; op = operand()) args.push(op);
      if (!args.length) fail(cmdPos, peek() && !end.includes(peek()!.t) ? `unexpected ${describeToken(peek()!)}` : "missing value for command");
      p.commands.push({ pos: cmdPos, args });
      const tok = peek();
      if (tok?.t === "pipe") {
        k++;
        continue;
      }
      if (!tok) fail(src.length, "unclosed action");
      if (!end.includes(tok!.t)) fail(tok!.pos, `unexpected ${describeToken(tok!)}`);
      return p;
    }
  }

  /** Nodes up to an `{{end}}` or `{{else…}}` (when `inBlock`); returns the stopping keyword. */
  function list(inBlock: boolean): { nodes: Node[]; stop?: "end" | "else"; stopPos: number } {
    const nodes: Node[] = [];
    for (;;) {
      const tok = next();
      if (!tok) {
        if (inBlock) fail(src.length, "unexpected end of template: a block has no {{end}}");
        return { nodes, stopPos: src.length };
      }
      if (tok.t === "text") {
        nodes.push({ kind: "text", text: tok.text });
        continue;
      }
      if (tok.t !== "open") fail(tok.pos, `unexpected ${describeToken(tok)}`);
      const kw = peek();
      if (kw?.t === "ident" && ["if", "range", "with"].includes(kw.name)) {
        k++;
        nodes.push(block(kw.name as "if" | "range" | "with", kw.pos));
        continue;
      }
      if (kw?.t === "ident" && (kw.name === "end" || kw.name === "else")) {
        if (!inBlock) fail(kw.pos, `unexpected {{${kw.name}}}`);
        k++;
        return { nodes, stop: kw.name, stopPos: kw.pos };
      }
      if (kw?.t === "close") fail(kw.pos, "missing value for command");
      const pipe = pipeline(["close"]);
      next();
      nodes.push({ kind: "action", pos: pipe.pos, pipe });
    }
  }

  function block(kind: "if" | "range" | "with", pos: number): Node {
    const pipe = pipeline(["close"], kind === "range");
    next();
    const body = list(true);
    let elseNodes: Node[] = [];
    if (body.stop === "else") {
      // {{else if …}} / {{else with …}}: a nested block that shares this one's {{end}}
      const kw = peek();
      if (kw?.t === "ident" && (kw.name === "if" || kw.name === "with") && kind !== "range") {
        k++;
        elseNodes = [block(kw.name, kw.pos)];
        return { kind, pos, pipe, then: body.nodes, else: elseNodes } as Node;
      }
      if (peek()?.t !== "close") fail(peek()?.pos ?? src.length, "unexpected text after else");
      next();
      const rest = list(true);
      if (rest.stop !== "end") fail(rest.stopPos, "expected {{end}} after {{else}}");
      elseNodes = rest.nodes;
    }
    if (peek()?.t !== "close") fail(peek()?.pos ?? src.length, "unexpected text after end");
    next();
    return { kind, pos, pipe, then: body.nodes, else: elseNodes } as Node;
  }

  return list(false).nodes;
}

function describeToken(t: Token): string {
  switch (t.t) {
    case "close":
      return "}}";
    case "rparen":
      return "right paren";
    case "lparen":
      return "left paren";
    case "pipe":
      return '"|"';
    case "ident":
      return `identifier ${t.name}`;
    case "comma":
      return '","';
    case "declare":
      return '":="';
    default:
      return t.t;
  }
}
