import { describe, expect, test } from "bun:test";
import { parseOptions, type Parsed } from "../../cli/parse-options";
import { OPTIONS, runOptions } from "../../cli/commands/run";
import { checkRunOptions } from "../../cli/lib/runtime/check-run-options";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeOps } from "../../cli/lib/sys/ops";
import { mergeEnv, parseEnvFile, parseEnvFlags, processArgs } from "../../cli/lib/runtime/spec";
import { checkUserMapped, resolveUser } from "../../cli/lib/runtime/user";
import { byDepth, parseMountFlag, parseMountSpecs } from "../../cli/lib/runtime/mounts";
import { parseSubIds } from "../../cli/lib/security/idmap";
import { adjustCaps, capMask } from "../../cli/lib/security/capabilities";
import { parsePlatform, selectManifest } from "../../cli/lib/image/platform";
import { normalizeName, parseImageRef } from "../../cli/lib/image/reference";
import { chainIds } from "../../cli/lib/image/digest";
import { isStaticElf } from "../../cli/lib/runtime/init-binary";

describe("parseOptions (docker's flag rules)", () => {
  const parse = (args: string[]) => parseOptions(args, OPTIONS);
  test.each([
    [["-it", "--rm", "img", "ls", "-la"], ["img", "ls", "-la"]],
    [["-e", "A=1", "-v", "/a:/b", "img", "-x"], ["img", "-x"]],
    [["--name=x", "img"], ["img"]],
    [["--rm", "--", "img", "x"], ["img", "x"]],
    [["--rm"], []],
  ])("%p stops at the image", (input, rest) => expect((parse(input) as Parsed).rest).toEqual(rest));
  test("values, aliases, arrays, defaults", () => {
    const { values } = parse(["-it", "-eA=1", "--env", "B=2", "-e", "C", "--name", "n", "--rm=false", "-w/x", "img"]) as Parsed;
    expect(values).toMatchObject({ interactive: true, tty: true, env: ["A=1", "B=2", "C"], name: "n", rm: false, workdir: "/x", volume: [], init: false });
    expect((parse(["--no-rm", "img"]) as Parsed).values.rm).toBe(false);
    // defaults are copies: one parse must not leak into the next
    expect((parse(["img"]) as Parsed).values.env).toEqual([]);
  });
  test("interspersed: options between positionals too, -- ends them", () => {
    const table = { force: { alias: "f", type: "boolean" }, format: { type: "string" } } as const;
    expect(parseOptions(["a", "-f", "b", "--format", "json", "--", "-x"], table, { interspersed: true })).toEqual({ values: { force: true, format: "json" }, rest: ["a", "b", "-x"] });
    expect(parseOptions(["a", "-f"], table)).toEqual({ values: { force: undefined, format: undefined }, rest: ["a", "-f"] });
    expect(parseOptions(["a", "--bogus"], table, { interspersed: true })).toEqual({ error: "unknown flag: --bogus" });
  });
  test("errors name the flag", () => {
    expect(parse(["--bogus", "img"])).toEqual({ error: "unknown flag: --bogus" });
    expect(parse(["-iZ", "img"])).toEqual({ error: "unknown flag: -Z" });
    expect(parse(["--name"])).toEqual({ error: "flag needs an argument: --name" });
    expect(parse(["--rm=yes", "img"])).toEqual({ error: 'invalid value "yes" for --rm: use true or false' });
    expect(parseOptions(["--n", "x"], { n: { type: "number" } })).toEqual({ error: 'invalid value "x" for --n: a number is needed' });
    expect(parseOptions(["--c", "x"], { c: { type: "string", choices: ["a", "b"] } })).toEqual({ error: 'invalid value "x" for --c: choose from a, b' });
  });
});

describe("processArgs follows docker's precedence", () => {
  const image = { Entrypoint: ["/ep"], Cmd: ["a", "b"] };
  test.each([
    [{ command: [] }, ["/ep", "a", "b"]],
    [{ command: ["x"] }, ["/ep", "x"]],
    [{ command: [], entrypoint: "/other" }, ["/other"]],
    [{ command: ["y"], entrypoint: "/other" }, ["/other", "y"]],
    [{ command: ["z"], entrypoint: "" }, ["z"]],
  ])("%p", (o, want) => expect(processArgs(image, o)).toEqual(want));
  test("no command at all is an error", () => expect(() => processArgs({}, { command: [] })).toThrow("no command specified"));
});

describe("environment", () => {
  test("env file: KEY alone takes rl's value; comments, blanks and leading white space dropped", () => {
    expect(parseEnvFile(["A=1", "# c", "", "  B= x ", "HOMEX", "SET"], { SET: "v" })).toEqual(["A=1", "B= x ", "SET=v"]);
  });
  test("-e keeps the value exactly as typed", () => {
    expect(parseEnvFlags(["A= x ", "B=", "C==d", "", "D E=1", "SET", "UNSET"], { SET: "v" })).toEqual(["A= x ", "B=", "C==d", "D E=1", "SET=v"]);
  });
  test("-e with no name is refused", () => expect(() => parseEnvFlags(["=x"], {})).toThrow('invalid environment variable "=x": no name'));
  test("later lists override earlier ones", () => {
    expect(mergeEnv(["PATH=/a", "X=1"], ["PATH=/b"], ["Y=2"])).toEqual(["PATH=/b", "X=1", "Y=2"]);
  });
});

describe("resolveUser", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n";
  const group = "root:x:0:root\nwheel:x:10:root,alice\nalice:x:1000:\nstaff:x:50:alice\n";
  test.each([
    ["alice", { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50], home: "/home/alice" }],
    ["alice:staff", { uid: 1000, gid: 50, additionalGids: [], home: "/home/alice" }],
    ["1000", { uid: 1000, gid: 1000, additionalGids: [1000, 10, 50], home: "/home/alice" }],
    ["4242", { uid: 4242, gid: 0, additionalGids: [], home: undefined }],
    ["4242:7", { uid: 4242, gid: 7, additionalGids: [], home: undefined }],
  ])("%p", (spec, want) => expect(resolveUser(spec, passwd, group)).toEqual(want));
  test("unknown names are errors", () => {
    expect(() => resolveUser("bob", passwd, group)).toThrow("unable to find user bob");
    expect(() => resolveUser("alice:nogroup", passwd, group)).toThrow("unable to find group nogroup");
    // Split at the first colon only: "1:2:3" is group "2:3", not uid 1 and gid 2 with ":3" dropped.
    expect(() => resolveUser("1:2:3", passwd, group)).toThrow("unable to find group 2:3");
  });
});

describe("checkRunOptions: what needs no image, checked before anything is made", () => {
  const options = (args: string[]) => {
    const { values, rest } = parseOptions([...args, "img"], OPTIONS) as Parsed;
    return runOptions({ ...values, IMAGE: rest[0]!, COMMAND: rest.slice(1) });
  };
  test.each([
    [["-p", "abc"], 'invalid port "abc"'],
    [["-p", "8080:80", "-p", "8080:81"], "host port 8080/tcp is published twice"],
    [["-w", "rel/dir"], 'the working directory "rel/dir" must be an absolute path'],
    [["--dns", "resolver"], 'invalid --dns "resolver": not an IP address'],
    [["--add-host", "db"], 'invalid --add-host "db": use NAME:IP'],
    [["--env-file", "/nonexistent/env"], "cannot read env file /nonexistent/env"],
  ])("%p", (args, message) => expect(() => checkRunOptions(options(args))).toThrow(message));
  test("env files are read once, into env (the stored config and the process get the same)", () => {
    const dir = mkdtempSync(join(tmpdir(), "rl-envfile-"));
    try {
      writeFileSync(join(dir, "env"), "# comment\nA=from-file\nB=2\n");
      const o = checkRunOptions(options(["--env-file", join(dir, "env"), "-e", "A=flag", "-w", "/srv"]));
      expect({ env: o.env, envFiles: o.envFiles, workdir: o.workdir }).toEqual({ env: ["A=from-file", "B=2", "A=flag"], envFiles: [], workdir: "/srv" });
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe("mount specs", () => {
  test("volumes and tmpfs", () => {
    expect(parseMountSpecs(["/tmp:/data:ro"], ["/run:size=1m,exec"])).toEqual([
      { destination: "/data", type: "bind", source: "/tmp", options: ["rbind", "ro"] },
      { destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=1m"] },
    ]);
  });
  test.each([["bad/name:/x", "neither a path"], ["named:rel", "must be absolute"], ["/tmp:rel", "must be absolute"], ["named:/x:exec", "invalid volume option"], ["/tmp:/x:zz", "invalid volume option"], ["/nonexistent-src:/x", "bind source path does not exist"]])(
    "%p is refused",
    (v, msg) => expect(() => parseMountSpecs([v], [])).toThrow(msg),
  );
  test.each([["/tmp:/dev"], ["/tmp:/dev/"], ["/tmp:/proc"], ["/tmp:/proc/sys/kernel"], ["/tmp:/x/../proc/self"]])("-v %p is refused", (v) =>
    expect(() => parseMountSpecs([v], [])).toThrow(/is inside \/proc|cannot replace \/dev/),
  );
  test("named and anonymous volumes: a mount of type volume, its source the name (empty: a new anonymous one)", () => {
    expect(parseMountSpecs(["data:/d:ro,U", "/anon", "v.1:/e:z"], [])).toEqual([
      { destination: "/d", type: "volume", source: "data", options: ["rbind", "ro", "U"] },
      { destination: "/anon", type: "volume", source: "", options: ["rbind"] },
      { destination: "/e", type: "volume", source: "v.1", options: ["rbind"] },
    ]);
  });
  test("--mount with podman's keys and aliases", () => {
    expect(parseMountFlag("type=volume,src=v,target=/v,readonly")).toEqual({ destination: "/v", type: "volume", source: "v", options: ["rbind", "ro"] });
    expect(parseMountFlag("destination=/a")).toEqual({ destination: "/a", type: "volume", source: "", options: ["rbind"] });
    expect(parseMountFlag("type=bind,source=/tmp,dst=/b,ro=false,bind-propagation=rshared")).toEqual({ destination: "/b", type: "bind", source: "/tmp", options: ["rbind", "rshared"] });
    expect(parseMountFlag("type=tmpfs,dst=/t,tmpfs-size=64m,tmpfs-mode=1777,ro=true")).toEqual({ destination: "/t", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", "ro", "size=64m", "mode=1777"] });
  });
  test.each([
    ["type=volume", "destination (dst, target) is required"],
    ["type=volume,dst=rel", "must be an absolute path"],
    ["type=volume,src=a/b,dst=/x", "is not a volume name"],
    ["type=bind,dst=/x", "a bind needs a source"],
    ["type=bind,src=/nonexistent-src,dst=/x", "bind source path does not exist"],
    ["type=bind,src=/tmp,dst=/proc/x", "is inside /proc"],
    ["type=tmpfs,src=x,dst=/t", "a tmpfs has no source"],
    ["type=tmpfs,dst=/t,tmpfs-mode=rwx", "tmpfs-mode is an octal mode"],
    ["type=volume,dst=/t,bind-propagation=shared", "bind-propagation is for type=bind"],
    ["type=volume,dst=/t,ro=maybe", "ro is true or false"],
    ["type=volume,dst=/t,src", "src needs a value"],
    ["type=cifs,dst=/t", "is not bind, volume or tmpfs"],
  ])("--mount %p is refused", (m, msg) => expect(() => parseMountFlag(m)).toThrow(msg));
  test("mounts are made shallowest first, in the given order otherwise", () => {
    const m = (destination: string) => ({ destination });
    expect(byDepth([m("/etc/hosts"), m("/etc"), m("/a/b/c"), m("/x"), m("/etc/resolv.conf")]).map((x) => x.destination)).toEqual(["/etc", "/x", "/etc/hosts", "/etc/resolv.conf", "/a/b/c"]);
  });
  test("targets beside them are not: /dev/x, /proc2, /sys; --tmpfs /dev is (only /proc is kept from tmpfs)", () => {
    expect(parseMountSpecs(["/tmp:/dev/x", "/tmp:/proc2", "/tmp:/sys"], ["/dev"]).map((m) => m.destination)).toEqual(["/dev/x", "/proc2", "/sys", "/dev"]);
    expect(() => parseMountSpecs([], ["/proc/x"])).toThrow("invalid tmpfs mount");
  });
});

describe("checkUserMapped", () => {
  const full = { uid: 1001, gid: 1001, subuid: [{ start: 100000, count: 65536 }], subgid: [{ start: 100000, count: 65536 }] };
  test("ids inside the mapping pass; the last mapped one too", () => {
    expect(() => checkUserMapped({ uid: 65536, gid: 65536, additionalGids: [10] }, full)).not.toThrow();
  });
  test.each([
    ["uid 4294967295", { uid: 4294967295, gid: 0, additionalGids: [] }, "uid 4294967295: the container's uids are 0-65536"],
    ["gid 65537", { uid: 0, gid: 65537, additionalGids: [] }, "gid 65537"],
    ["supplementary gid 70000", { uid: 0, gid: 0, additionalGids: [0, 70000] }, "gid 70000"],
  ])("%s is refused", (_, u, msg) => expect(() => checkUserMapped(u, full)).toThrow(msg));
  test("without subordinate ids only 0 exists, and the error says why", () => {
    // root's supplementary groups (alpine's root is in bin, daemon, ...) are dropped there, not refused.
    expect(() => checkUserMapped({ uid: 0, gid: 0, additionalGids: [0, 1, 2] }, { uid: 1001, gid: 1001 })).not.toThrow();
    expect(() => checkUserMapped({ uid: 1000, gid: 0, additionalGids: [] }, { uid: 1001, gid: 1001, subuid: full.subuid })).toThrow("no subordinate ids in /etc/subuid and /etc/subgid");
  });
  test("single-id because of the namespace rl runs in: the error gives that reason", () => {
    const nested = { uid: 1000, gid: 1000, single: "no subordinate ids for this user exist in the user namespace rl runs in (a container?)" };
    expect(() => checkUserMapped({ uid: 1000, gid: 0, additionalGids: [] }, nested)).toThrow(`cannot run as uid 1000: the container has only uid 0 and gid 0: ${nested.single}`);
  });
});

describe("ids, capabilities, platforms, references", () => {
  test("parseSubIds picks the user's largest range", () => {
    expect(parseSubIds("bob:1:5\nalice:100000:65536\nalice:300000:1000\n", ["alice", "1000"])).toEqual([
      { start: 100000, count: 65536 },
      { start: 300000, count: 1000 },
    ]);
  });
  test("capability masks", () => {
    expect(capMask(["CAP_CHOWN", "CAP_KILL"])).toBe(0b100001n);
    expect(adjustCaps(["CAP_CHOWN", "CAP_KILL"], ["net_raw"], ["kill"]).sort()).toEqual(["CAP_CHOWN", "CAP_NET_RAW"]);
    expect(adjustCaps(["CAP_CHOWN"], [], ["ALL"])).toEqual([]);
    expect(() => adjustCaps([], ["CAP_NOPE"], [])).toThrow("unknown capability");
  });
  test("platform selection skips attestations and honours arm64's implied v8", () => {
    const m = (os: string, architecture: string, variant?: string) => ({ digest: `sha256:${os}${architecture}${variant ?? ""}`, size: 1, platform: { os, architecture, variant } });
    const list = [m("unknown", "unknown"), m("linux", "arm", "v7"), m("linux", "arm64", "v8"), m("linux", "amd64")];
    expect(selectManifest(list, parsePlatform("linux/arm64"), "x").digest).toBe("sha256:linuxarm64v8");
    expect(selectManifest(list, parsePlatform("linux/arm/v7"), "x").digest).toBe("sha256:linuxarmv7");
    expect(() => selectManifest(list, parsePlatform("linux/arm/v6"), "x")).toThrow("it has: linux/arm/v7, linux/arm64/v8, linux/amd64");
    expect(() => parsePlatform("linux")).toThrow("invalid platform");
  });
  test("references", () => {
    expect(parseImageRef("oci:/a/b:tag")).toMatchObject({ transport: "oci", path: "/a/b", ref: "tag" });
    expect(parseImageRef("docker-archive:/x.tar:@1")).toMatchObject({ transport: "docker-archive", path: "/x.tar", ref: "@1" });
    expect(parseImageRef("oci-archive:/x.tar")).toMatchObject({ transport: "oci-archive", path: "/x.tar", ref: undefined });
    expect(normalizeName("alpine")).toBe("docker.io/library/alpine:latest");
    expect(normalizeName("localhost:5000/a/b")).toBe("localhost:5000/a/b:latest");
  });
  test("chain ids follow the image spec", () => {
    const [a, b] = ["sha256:" + "a".repeat(64), "sha256:" + "b".repeat(64)];
    const chain = chainIds([a, b]);
    expect(chain[0]).toBe(a);
    expect(chain[1]).toBe(`sha256:${new Bun.CryptoHasher("sha256").update(`${a} ${b}`).digest("hex")}`);
  });
});

test("ops encode as opcode, u16 argc, then each argument as u32 length, bytes, NUL: binary-safe", () => {
  expect([...encodeOps([{ op: "hostname", name: "h" }, { op: "pivot", optional: true }])]).toEqual([11, 1, 0, 1, 0, 0, 0, 104, 0, 10 | 0x80, 0, 0]);
  // A seccomp program (BPF holds NUL bytes) travels as it is.
  expect([...encodeOps([{ op: "seccomp", program: Uint8Array.from([6, 0, 0, 0, 0, 0, 255, 127]) }])]).toEqual([25, 1, 0, 8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 255, 127, 0]);
  expect(() => encodeOps([{ op: "hostname", name: "a\0b" }])).toThrow("a NUL byte is not allowed");
});

describe("--init binary", () => {
  test("only a static ELF qualifies (a dynamic one needs the host's libc inside the image)", () => {
    expect(isStaticElf("/bin/ls")).toBe(false);
    expect(isStaticElf("/etc/passwd")).toBe(false);
    expect(isStaticElf("/nonexistent")).toBe(false);
    // busybox-static is one of rl's test dependencies (.ci/setup-host)
    expect(isStaticElf("/bin/busybox")).toBe(true);
  });
});
