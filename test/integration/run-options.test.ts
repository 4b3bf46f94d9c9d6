import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { accessSync, constants, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { ALPINE, makeEnv, rl, skipReason } from "./harness";
import { currentMapping } from "../../cli/lib/security/idmap";

// What podman's run options change, as a user sees it inside the container: --userns=keep-id,
// --ulimit, --umask, --group-add, --sysctl, --device; and each refused value: one line, 125, nothing left.

const reason = skipReason();
if (reason) console.log(`skipping run option tests: ${reason}`);

describe.skipIf(Boolean(reason))("run options", () => {
  const t = makeEnv();
  const run = (args: string[], env: Record<string, string> = {}) => rl(["run", "--rm", ...args], { env: { ...t.env, ...env } });
  const sh = async (opts: string[], script: string) => {
    const r = await run([...opts, ALPINE, "sh", "-c", script]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return r.stdout;
  };
  const uid = process.getuid!(), gid = process.getgid!();
  const m = currentMapping();
  const hasSubIds = Boolean(m.subuid && m.subgid);

  beforeAll(async () => {
    // Stored once, so that each test measures only its run.
    expect((await run([ALPINE, "true"])).code).toBe(0);
  });
  afterAll(() => t.cleanup());

  describe("--userns", () => {
    test.skipIf(!hasSubIds)("keep-id: the user keeps its uid and gid inside, and the image's files keep their owners", async () => {
      const out = await sh(["--userns=keep-id"], "id -u; id -g; id -G; cat /proc/self/uid_map; stat -c '%u:%g' /etc/passwd /etc/shadow /; grep \":$(id -u):\" /etc/passwd; echo HOME=$HOME");
      const lines = out.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "));
      expect(lines.slice(0, 3)).toEqual([String(uid), String(gid), String(gid)]);
      // The user's own id at the same number; the subordinate ids around it, 0 included.
      const sub = m.subuid![0]!; // the test user has one range
      expect(lines.slice(3, 6)).toEqual([`0 ${sub.start} ${uid}`, `${uid} ${uid} 1`, `${uid + 1} ${sub.start + uid} ${sub.count - uid}`]);
      expect(lines.slice(6, 9)).toEqual(["0:0", "0:42", "0:0"]);
      expect(lines[9]).toBe(`${userInfo().username}:*:${uid}:${gid}::/:/bin/sh`);
      expect(lines[10]).toBe("HOME=/");
    });

    test.skipIf(!hasSubIds)("keep-id: a file made in a bind mount belongs to the user on the host; root's files stay root's", async () => {
      const dir = join(t.root, "keep-id-vol");
      mkdirSync(dir, { mode: 0o700 });
      const out = await sh(["--userns=keep-id", "-v", `${dir}:/vol`], "touch /vol/made; touch /etc/passwd 2>/dev/null && echo wrote || echo refused");
      expect(out).toBe("refused\n");
      const st = statSync(join(dir, "made"));
      expect([st.uid, st.gid]).toEqual([uid, gid]);
    });

    test.skipIf(!hasSubIds)("keep-id:uid=N,gid=N runs as those ids, with the user's own id there", async () => {
      const out = await sh(["--userns=keep-id:uid=200,gid=300"], "id -u; id -g; awk '$2 == " + uid + "' /proc/self/uid_map; grep ':200:' /etc/passwd");
      expect(out.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual(["200", "300", `200 ${uid} 1`, "200:*:200:300:container user:/:/bin/sh"]);
    });

    test.skipIf(!hasSubIds)("nomap: only the subordinate ids, from 0; the user's own files are nobody's inside", async () => {
      const dir = join(t.root, "nomap-vol");
      mkdirSync(dir, { mode: 0o700 });
      const out = await sh(["--userns=nomap", "-v", `${dir}:/vol`], "id -u; cat /proc/self/uid_map; stat -c '%u:%g' /etc/passwd /etc/shadow /vol; touch /vol/x 2>/dev/null && echo wrote || echo refused");
      const sub = m.subuid![0]!;
      expect(out.trim().split("\n").map((l) => l.trim().replace(/\s+/g, " "))).toEqual(["0", `0 ${sub.start} ${sub.count}`, "0:0", "0:42", "65534:65534", "refused"]);
    });

    test("keep-id with -u 0 runs as root", async () => {
      expect(await sh(["--userns=keep-id", "-u", "0"], "id -u")).toBe("0\n");
    });

  });

  test("--ulimit sets soft and hard limits", async () => {
    expect(await sh(["--ulimit", "nofile=100:200", "--ulimit", "core=-1"], "ulimit -n; ulimit -Hn; ulimit -c")).toBe("100\n200\nunlimited\n");
  });

  test("--umask is the process's umask (0022 without it)", async () => {
    expect(await sh(["--umask", "077"], "umask; touch /tmp/f; stat -c %a /tmp/f")).toBe("0077\n600\n");
    expect(await sh([], "umask")).toBe("0022\n");
  });

  test("--group-add adds supplementary groups by gid and by the image's group name", async () => {
    const out = await sh(["-u", "nobody", "--group-add", "wheel", "--group-add", "1234"], "id -G");
    expect(out.trim().split(" ").map(Number).sort((a, b) => a - b)).toEqual([10, 1234, 65534]);
  });

  test("--group-add keep-groups keeps rl's own supplementary groups (unmapped ones as nobody) instead of the image's", async () => {
    const own = process.getgroups!().filter((g) => g !== gid);
    const out = await sh(["--group-add", "keep-groups"], "id -G");
    expect(out.trim().split(" ").map(Number).sort((a, b) => a - b)).toEqual([0, ...own.map(() => 65534)]);
  });

  test("--sysctl sets namespaced sysctls in the container's own namespaces only", async () => {
    const out = await sh(["--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=123456"], "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax");
    expect(out).toBe("1\n123456\n");
    // The host's stays as it was.
    expect(await sh([], "cat /proc/sys/kernel/shmmax")).not.toBe("123456\n");
  });

  test("--device binds a device the user may open, under the name given", async () => {
    const out = await sh(["--device", "/dev/zero:/dev/myzero:r"], "test -c /dev/myzero && head -c 4 /dev/myzero | od -An -tx1");
    expect(out.trim()).toBe("00 00 00 00");
  });

  test.skipIf(!hasSubIds)("inspect shows them with podman's names", async () => {
    const opts = ["--userns=keep-id", "--ulimit", "nofile=100:200", "--umask", "077", "--group-add", "10", "--sysctl", "net.ipv4.ip_forward=1", "--device", "/dev/zero:/dev/myzero:r", "--security-opt", "seccomp=unconfined", "--security-opt", "no-new-privileges"];
    expect((await rl(["run", "--name", "opts", ...opts, ALPINE, "true"], { env: t.env })).code).toBe(0);
    try {
      const template = "{{.Config.Umask}}|{{.HostConfig.UsernsMode}}|{{json .HostConfig.Ulimits}}|{{json .HostConfig.GroupAdd}}|{{json .HostConfig.Sysctls}}|{{json .HostConfig.SecurityOpt}}|{{json .HostConfig.Devices}}|{{index .HostConfig.IDMappings.UidMap 1}}";
      const r = await rl(["inspect", "-f", template, "opts"], { env: t.env });
      expect(r).toEqual({
        code: 0,
        stderr: "",
        stdout: `0077|keep-id|[{"Name":"RLIMIT_NOFILE","Soft":100,"Hard":200}]|["10"]|{"net.ipv4.ip_forward":"1"}|["seccomp=unconfined","no-new-privileges"]|[{"PathOnHost":"/dev/zero","PathInContainer":"/dev/myzero","CgroupPermissions":"r"}]|${uid}:${uid}:1\n`,
      });
    } finally {
      await rl(["rm", "opts"], { env: t.env });
    }
  });

  describe("refused values: one line, exit 125, nothing left behind", () => {
    const unreadable = ["/dev/kvm", "/dev/tty0", "/dev/console", "/dev/hwrng"].find((d) => {
      try {
        return statSync(d).isCharacterDevice() && !readable(d);
      } catch {
        return false;
      }
    });
    const cases: [string, string[], string][] = [
      ["--userns=auto", ["--userns=auto"], 'rl: invalid --userns "auto": rl does not pick id ranges itself (auto); use keep-id, nomap or the default'],
      ["--userns=bogus", ["--userns=bogus"], 'rl: invalid --userns "bogus": use keep-id[:uid=N,gid=N] or nomap'],
      ["--userns=host", ["--userns=host"], `rl: invalid --userns "host": a rootless container cannot share the host's user namespace; without --userns you are root inside, your own uid outside (--userns=keep-id keeps your uid inside)`],
      ["keep-id:uid=x", ["--userns=keep-id:uid=x"], 'rl: invalid --userns "keep-id:uid=x": keep-id takes uid=N and gid=N (decimal ids)'],
      ["keep-id with a joined network", ["--userns=keep-id", "--network", "container:other"], "rl: cannot use --userns=keep-id with --network container:other: the container joins that one's user namespace"],
      ["an unknown ulimit", ["--ulimit", "bogus=1"], 'rl: invalid --ulimit "bogus=1": unknown name bogus (rl knows as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)'],
      ["a soft limit above the hard", ["--ulimit", "nofile=5:2"], 'rl: invalid --ulimit "nofile=5:2": the soft limit is above the hard one'],
      ["a bad umask", ["--umask", "999"], 'rl: invalid --umask "999": give an octal mask such as 0022 or 077'],
      ["a group the image lacks", ["--group-add", "nosuch"], "rl: unable to find group nosuch: no matching entries in the image's /etc/group"],
      ["keep-groups with others", ["--group-add", "keep-groups", "--group-add", "1"], "rl: invalid --group-add: keep-groups cannot be combined with other groups (as podman)"],
      ["a host-wide sysctl", ["--sysctl", "kernel.pid_max=10"], 'rl: invalid --sysctl "kernel.pid_max=10": kernel.pid_max is not namespaced: rl sets only net.*, kernel.msg*, kernel.sem, kernel.shm*, fs.mqueue.*, kernel.hostname and kernel.domainname'],
      ["net.* with the host's network", ["--sysctl", "net.ipv4.ip_forward=1", "--network", "host"], `rl: invalid --sysctl "net.ipv4.ip_forward=1": net.ipv4.ip_forward would change the host's network: the container has no network namespace of its own (--network host)`],
      ["a path for a sysctl", ["--sysctl", "../../x=1"], 'rl: invalid --sysctl "../../x=1": expected KEY=VALUE, e.g. net.ipv4.ip_forward=1'],
      ["a missing device", ["--device", "/dev/rl-no-such"], "rl: cannot use --device /dev/rl-no-such: no such device"],
      ["a file as a device", ["--device", "/etc/passwd"], "rl: cannot use --device /etc/passwd: not a device node"],
      ["a device onto /proc", ["--device", "/dev/zero:/proc/x"], 'rl: invalid --device "/dev/zero:/proc/x": /proc/x cannot be a device\'s place in the container'],
    ];
    if (unreadable) cases.push(["a device the user may not open", ["--device", `${unreadable}:r`], `rl: cannot use --device ${unreadable}: permission denied: rootless, rl can only pass on a device this user may open`]);
    test.each(cases)("%s", async (_, opts, line) => {
      const r = await run([...opts, ALPINE, "true"]);
      expect(r).toEqual({ code: 125, stdout: "", stderr: `${line}\n` });
      const containers = join(t.env.RL_ROOT!, "containers");
      expect(existsSync(containers) ? readdirSync(containers) : []).toEqual([]);
      expect((await rl(["ps", "-a", "-q"], { env: t.env })).stdout).toBe("");
    });

    test("a limit above rl's own hard limit", async () => {
      const r = await run(["--ulimit", "nofile=100:999999999999", ALPINE, "true"]);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^rl: invalid --ulimit "nofile=100:999999999999": rl's own hard limit for nofile is \d+; an unprivileged user cannot raise it \(ulimit -Hn shows it\)\n$/);
    });

    test("keep-id without subordinate ids maps only the user, who stays itself", async () => {
      const none = join(t.root, "no-subids");
      writeFileSync(none, "");
      const env = { RL_SUBUID_FILE: none, RL_SUBGID_FILE: none };
      const r = await run(["--userns=keep-id", "--network", "none", ALPINE, "sh", "-c", "id -u; cat /proc/self/uid_map"], env);
      expect(r.code).toBe(0);
      expect(r.stdout.replace(/\s+/g, " ").trim()).toBe(`${uid} ${uid} ${uid} 1`);
      const refused = await run(["--userns=keep-id", ALPINE, "true"], env);
      expect(await run(["--userns=nomap", ALPINE, "true"], env)).toEqual({ code: 125, stdout: "", stderr: "rl: cannot use --userns=nomap: this user has no subordinate ids in /etc/subuid and /etc/subgid, and nomap maps only those\n" });
      expect(refused).toEqual({ code: 125, stdout: "", stderr: "rl: cannot use --userns=keep-id with slirp4netns without subordinate ids in /etc/subuid and /etc/subgid: the container's root is not mapped, which slirp4netns needs; use --network none or host\n" });
    });
  });
});

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
