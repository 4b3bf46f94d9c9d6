import { describe, expect, test } from "bun:test";
import { alignColumns, parseFormat, renderTemplate } from "../../cli/lib/output-format";
import { Template } from "../../cli/lib/template/template";

// A container record shaped like podman's `ps` reporter, and an inspect-like nested one.
const ctr = {
  ID: "c2238b533cdd",
  Names: "web",
  State: "running",
  Labels: new Map([["a", "b"], ["tier", "front"]]),
  Networks: ["slirp4netns"],
  Mounts: [] as string[],
  Pid: 4242,
  ExitCode: 0,
  Exited: false,
  Size: null,
};
const inspect = {
  Id: "c2238b533cddefa7",
  State: { Status: "running", Running: true, Pid: 4242, ExitCode: 0, OOMKilled: false },
  Config: { Env: ["PATH=/usr/bin", "A= x "], Labels: new Map([["k", "v"]]), Cmd: ["sh", "-c", "echo hi"] },
  Mounts: [{ Destination: "/data", Source: "/home/u/d", RW: true }, { Destination: "/etc/x", Source: "/x", RW: false }],
};

describe("Go text/template: output of valid templates", () => {
  test.each([
    ["{{.Names}}", ctr, "web"],
    ["{{.ID}} {{.Names}}", ctr, "c2238b533cdd web"],
    ["{{.Pid}}", ctr, "4242"],
    ["{{.Exited}}", ctr, "false"],
    ["{{.Networks}}", ctr, "[slirp4netns]"],
    ["{{.Mounts}}", ctr, "[]"],
    ["{{.Labels}}", ctr, "map[a:b tier:front]"],
    ["{{.Labels.a}}", ctr, "b"],
    ["{{.Labels.missing}}", ctr, "<no value>"],
    ['{{index .Labels "tier"}}', ctr, "front"],
    ['{{index .Labels "missing"}}', ctr, ""],
    ["{{.Size}}", ctr, "<nil>"],
    ["{{.State.Pid}}", inspect, "4242"],
    ["{{json .Config.Env}}", inspect, '["PATH=/usr/bin","A= x "]'],
    ["{{json .Config.Labels}}", inspect, '{"k":"v"}'],
    ["{{range .Mounts}}{{.Destination}} {{end}}", inspect, "/data /etc/x "],
    ["{{range $i, $m := .Mounts}}{{$i}}={{$m.Destination}};{{end}}", inspect, "0=/data;1=/etc/x;"],
    ["{{range $k, $v := .Config.Labels}}{{$k}}->{{$v}}{{end}}", inspect, "k->v"],
    ["{{range .Config.Missing}}x{{else}}none{{end}}", { Config: { Missing: [] } }, "none"],
    ['{{index .Config.Labels "k"}}', inspect, "v"],
    ["{{index .Config.Cmd 2}}", inspect, "echo hi"],
    ["{{if .State.Running}}up{{else}}down{{end}}", inspect, "up"],
    ["{{if .State.OOMKilled}}oom{{else if .State.Running}}running{{else}}?{{end}}", inspect, "running"],
    ["{{with .State}}{{.Status}}{{end}}", inspect, "running"],
    ["{{with .Mounts}}{{len .}}{{end}}", inspect, "2"],
    ['{{printf "%-8s|%5d|%q" .Names .Pid .Names}}', ctr, 'web     | 4242|"web"'],
    ['{{printf "%05.1f %x %t %v" 3.14159 255 true .Networks}}', ctr, "003.1 ff true [slirp4netns]"],
    ["{{upper .Names}} {{lower \"ABC\"}} {{title \"hello world\"}}", ctr, "WEB abc Hello World"],
    ['{{join .Config.Cmd " "}}', inspect, "sh -c echo hi"],
    ["{{len .Config.Env}} {{len .Names}}", { ...inspect, Names: "héllo" }, "2 6"],
    ["{{.Names | upper}}", ctr, "WEB"],
    ['{{.Names | printf "<%s>"}}', ctr, "<web>"],
    ["{{$n := .Names}}{{$n}}-{{$n}}", ctr, "web-web"],
    ["{{$.ID}}{{range .Networks}} {{$.Names}}:{{.}}{{end}}", ctr, "c2238b533cdd web:slirp4netns"],
    ["{{if and .Pid (not .Exited)}}alive{{end}}", ctr, "alive"],
    ['{{if eq .State "running" "paused"}}yes{{end}}', ctr, "yes"],
    ["{{if gt .Pid 100}}big{{end}}{{if lt .ExitCode 1}} ok{{end}}", ctr, "big ok"],
    ["{{or .Missing2 \"default\"}}", { Missing2: "" }, "default"],
    ["a {{- \"b\" -}} c", {}, "abc"],
    ["{{/* a comment */}}x", {}, "x"],
    ["x {{- /* trimmed */ -}} y", {}, "xy"],
    ["{{(index .Mounts 1).Source}}", inspect, "/x"],
    ["{{print 1 2 \"a\" 3}}", {}, "1 2a3"],
    ["{{`raw\\n`}}", {}, "raw\\n"],
    ["{{.}}", "plain", "plain"],
  ])("%p", (src, data, want) => expect(new Template(src).run(data)).toBe(want));
});

describe("Go text/template: errors name the place and the cause", () => {
  test.each([
    ["{{.Nmes}}", ctr, /at 1:3: can't evaluate field Nmes \(in \.Nmes\): the fields are ID, Names, State/],
    ["{{.State.Nope}}", inspect, /at 1:3: can't evaluate field Nope \(in \.State\.Nope\)/],
    ["{{.Names", ctr, /at 1:1: unclosed action/],
    ["{{if .Pid}}x", ctr, /a block has no \{\{end\}\}/],
    ["{{end}}", ctr, /at 1:3: unexpected \{\{end\}\}/],
    ["{{nosuch .Names}}", ctr, /at 1:3: function "nosuch" not defined/],
    ["{{$x}}", ctr, /at 1:3: undefined variable "\$x"/],
    ["{{join .Names \",\"}}", ctr, /error calling join: wrong type for value; expected a list; got string/],
    ["{{index .Networks 5}}", ctr, /error calling index: index out of range: 5/],
    ["{{.Names 1}}", ctr, /can't give argument to non-function \.Names/],
    ["{{(.Names}}", ctr, /unclosed left paren/],
    ["ok\n{{ .X | }}", {}, /at 2:/],
  ])("%p", (src, data, want) => expect(() => new Template(src).run(data)).toThrow(want));
});

describe("--format values", () => {
  test("table and json are the listing's own forms; anything else must be a template", () => {
    expect(parseFormat("table")).toEqual({ kind: "table" });
    expect(parseFormat("json")).toEqual({ kind: "json" });
    expect(() => parseFormat("xml")).toThrow("use table, json, or a Go template such as '{{.ID}}'");
  });
  test("a field a record lacks names the template, the place and the fields there are", () => {
    const f = parseFormat("{{.Nmes}}");
    expect(() => f.kind === "template" && renderTemplate(f, [ctr])).toThrow(`cannot format the output with "{{.Nmes}}": at 1:3: can't evaluate field Nmes (in .Nmes): the fields are ID, Names,`);
  });
  test("a template prints one line per record; \\t typed literally is a tab, not aligned", () => {
    const f = parseFormat("{{.ID}}\\t{{.Names}}");
    expect(f.kind === "template" && renderTemplate(f, [ctr, { ...ctr, ID: "x", Names: "db" }])).toBe("c2238b533cdd\tweb\nx\tdb\n");
  });
  test("table TEMPLATE: headers from the field names (or the verb's own), spaces separate columns, cells padded to 12 or width + 2", () => {
    const f = parseFormat("table {{.ID}} {{.Names}}\t{{.ExitCode}} {{upper .State}}");
    const out = f.kind === "template" && renderTemplate(f, [ctr], { ID: "CONTAINER ID" });
    expect(out).toBe("CONTAINER ID  NAMES       EXIT CODE   STATE\nc2238b533cdd  web         0           RUNNING\n");
  });
  test("table TEMPLATE with nothing to list: the header alone, whatever fields it names", () => {
    const f = parseFormat("table {{.Names}}\t{{.Status}} {{.CreatedAt}}");
    expect(f.kind === "template" && renderTemplate(f, [], { Names: "NAMES" })).toBe("NAMES       STATUS      CREATED AT\n");
  });
  test("column alignment counts characters, not bytes, and leaves the last cell as it is", () => {
    expect(alignColumns(["a\tbé\tc ", "ééééééééééééé\tx\ty"])).toBe("a              bé          c \nééééééééééééé  x           y\n");
  });
});
