/**
 * A `--format` template: parsed once, then run on each record. Records are plain data: objects for
 * podman's structs (a field they lack is an error naming it), `Map`s for Go maps such as labels.
 */
import { FUNCTIONS } from "./functions";
import { goString, truthy } from "./go-value";
import { parseTemplate, type Command, type Node, type Operand, type Pipeline } from "./parse";
import { TemplateError } from "./template-error";

type Vars = { name: string; value: unknown }[];

export class Template {
  readonly nodes: Node[];

  constructor(readonly source: string) {
    this.nodes = parseTemplate(source);
    this.check(this.nodes, new Set(["$"]));
  }

  /** The template's output for one record. */
  run(data: unknown): string {
    const out: string[] = [];
    this.list(this.nodes, data, [{ name: "$", value: data }], out);
    return out.join("");
  }

  private list(nodes: Node[], dot: unknown, vars: Vars, out: string[]): void {
    const mark = vars.length;
    for (const n of nodes) {
      switch (n.kind) {
        case "text":
          out.push(n.text);
          break;
        case "action": {
          const v = this.pipeline(n.pipe, dot, vars);
          if (!n.pipe.declare.length) out.push(goString(v));
          break;
        }
        case "if":
        case "with": {
          const inner = vars.length;
          const v = this.pipeline(n.pipe, dot, vars);
          if (truthy(v)) this.list(n.then, n.kind === "with" ? v : dot, vars, out);
          else this.list(n.else, dot, vars, out);
          vars.length = inner;
          break;
        }
        case "range":
          this.range(n, dot, vars, out);
          break;
      }
    }
    vars.length = mark;
  }

  private range(n: Extract<Node, { kind: "range" }>, dot: unknown, vars: Vars, out: string[]): void {
    const pipe: Pipeline = { ...n.pipe, declare: [] };
    const v = this.pipeline(pipe, dot, vars);
    let items: [unknown, unknown][];
    if (Array.isArray(v)) items = v.map((e, i) => [i, e]);
    else if (v instanceof Map) items = [...v.keys()].sort().map((k) => [k, v.get(k)]);
    else if (v === undefined || v === null) items = [];
    else if (typeof v === "number" && Number.isInteger(v)) items = Array.from({ length: Math.max(0, v) }, (_, i) => [i, i]);
    else if (typeof v === "object") items = Object.entries(v as object).sort(([a], [b]) => (a < b ? -1 : 1));
    else return this.fail(n.pos, `range can't iterate over ${goString(v)}`);
    if (!items.length) return this.list(n.else, dot, vars, out);
    const [first, second] = n.pipe.declare;
    for (const [key, value] of items) {
      const mark = vars.length;
      if (second) vars.push({ name: first!, value: key }, { name: second, value });
      else if (first) vars.push({ name: first, value });
      this.list(n.then, value, vars, out);
      vars.length = mark;
    }
  }

  private pipeline(p: Pipeline, dot: unknown, vars: Vars): unknown {
    let value: unknown;
    p.commands.forEach((c, i) => {
      value = this.command(c, dot, vars, i === 0 ? NONE : value);
    });
    if (p.declare.length) {
      const name = p.declare[0]!;
      if (p.assign) {
        const v = [...vars].reverse().find((x) => x.name === name);
        if (!v) this.fail(p.pos, `undefined variable: ${name}`);
        v!.value = value;
      } else vars.push({ name, value });
    }
    return value;
  }

  private command(c: Command, dot: unknown, vars: Vars, piped: unknown): unknown {
    const [head, ...rest] = c.args;
    if (head!.kind === "function") {
      const args = rest.map((a) => this.operand(a, dot, vars));
      if (piped !== NONE) args.push(piped);
      try {
        return FUNCTIONS[head!.name]!(...args);
      } catch (err) {
        return this.fail(head!.pos, `error calling ${head!.name}: ${(err as Error).message}`);
      }
    }
    if (rest.length || piped !== NONE) this.fail(c.pos, `can't give argument to non-function ${describe(head!)}`);
    return this.operand(head!, dot, vars);
  }

  private operand(op: Operand, dot: unknown, vars: Vars): unknown {
    switch (op.kind) {
      case "dot":
        return dot;
      case "literal":
        return op.value;
      case "function":
        return this.command({ pos: op.pos, args: [op] }, dot, vars, NONE);
      case "pipeline":
        return this.pipeline(op.pipe, dot, vars);
      case "variable": {
        const v = [...vars].reverse().find((x) => x.name === op.name);
        if (!v) return this.fail(op.pos, `undefined variable: ${op.name}`);
        return this.fields(v.value, op.names, op.pos, op.name);
      }
      case "field":
        return this.fields(op.base ? this.operand(op.base, dot, vars) : dot, op.names, op.pos, "");
    }
  }

  private fields(value: unknown, names: string[], pos: number, path: string): unknown {
    for (const name of names) {
      path += `.${name}`;
      if (value instanceof Map) value = value.get(name);
      else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
        if (!Object.hasOwn(value, name)) {
          const known = Object.keys(value);
          this.fail(pos, `can't evaluate field ${name} (in ${path}): ${known.length ? `the fields are ${known.join(", ")}` : "this record has no fields"}`);
        }
        value = (value as Record<string, unknown>)[name];
      } else if (value === undefined || value === null) this.fail(pos, `nil pointer evaluating ${path}`);
      else this.fail(pos, `can't evaluate field ${name} (in ${path}) of a ${Array.isArray(value) ? "list" : typeof value}`);
    }
    return value;
  }

  /** As Go checks at parse time: every function exists, every variable is declared before its use. */
  private check(nodes: Node[], scope: Set<string>): void {
    const pipe = (p: Pipeline, inner: Set<string>) => {
      const visit = (op: Operand) => {
        if (op.kind === "function" && !Object.hasOwn(FUNCTIONS, op.name)) this.fail(op.pos, `function "${op.name}" not defined`);
        if (op.kind === "variable" && !inner.has(op.name)) this.fail(op.pos, `undefined variable "${op.name}"`);
        if (op.kind === "pipeline") pipe(op.pipe, inner);
        if (op.kind === "field" && op.base) visit(op.base);
      };
      p.commands.forEach((c) => c.args.forEach(visit));
      if (p.assign && !inner.has(p.declare[0]!)) this.fail(p.pos, `undefined variable "${p.declare[0]}"`);
      if (!p.assign) p.declare.forEach((v) => inner.add(v));
    };
    for (const n of nodes) {
      if (n.kind === "text") continue;
      if (n.kind === "action") {
        pipe(n.pipe, scope);
        continue;
      }
      const inner = new Set(scope);
      pipe(n.pipe, inner);
      this.check(n.then, new Set(inner));
      this.check(n.else, new Set(n.kind === "range" ? scope : inner));
    }
  }

  fail(pos: number, detail: string): never {
    throw new TemplateError(this.source, pos, detail);
  }
}

/** What a command receives when nothing is piped into it. */
const NONE = Symbol("none");

function describe(op: Operand): string {
  switch (op.kind) {
    case "field":
      return `.${op.names.join(".")}`;
    case "variable":
      return op.name + op.names.map((n) => `.${n}`).join("");
    case "literal":
      return goString(op.value);
    default:
      return op.kind === "dot" ? "." : "(pipeline)";
  }
}

