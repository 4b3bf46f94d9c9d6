import { describe, expect, test } from "bun:test";
import { procInfo, type ContainerProcs } from "../../cli/lib/runtime/container-procs";
import { DEFAULT_DESCRIPTORS, goDuration, parseDescriptors, topTable, ttyName } from "../../cli/lib/runtime/top";

describe("rl top's format descriptors", () => {
  test("none: podman's default columns", () => expect(parseDescriptors([])).toEqual(["user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args"]));
  test("words, comma lists and AIX codes, in the order given (repeats kept, as podman)", () => {
    expect(parseDescriptors(["pid,user", "hpid", "%C", "%a", "pid"])).toEqual(["pid", "user", "hpid", "pcpu", "args", "pid"]);
    expect(parseDescriptors(["%U,%u,%G,%g,%p,%P,%r,%n,%t,%x,%y,%z,%c"])).toEqual(["user", "ruser", "group", "rgroup", "pid", "ppid", "pgid", "nice", "etime", "time", "tty", "vsz", "comm"]);
    expect(parseDescriptors([","])).toEqual(DEFAULT_DESCRIPTORS);
  });
  test.each([["bogus"], ["PID"], ["pid,,nope"], ["%Z"], ["aux"]])("%p: an error naming it and what is known", (w) => {
    const bad = w.split(",").find((x) => x && x !== "pid")!;
    expect(() => parseDescriptors([w])).toThrow(`unknown format descriptor "${bad}": use args, capamb, capbnd`);
    expect(() => parseDescriptors([w])).toThrow("or an AIX code (%C %G %P %U %a %c %g %n %p %r %t %u %x %y %z)");
  });
});

describe("what rl top prints", () => {
  test.each([
    [0, "0s"],
    [0.01, "10ms"],
    [0.5, "500ms"],
    [1, "1s"],
    [3.28, "3.28s"],
    [60, "1m0s"],
    [83.5, "1m23.5s"],
    [3605.02, "1h0m5.02s"],
    [90061, "25h1m1s"],
  ])("%p seconds as Go prints a duration: %p", (s, want) => expect(goDuration(s)).toBe(want));
  test.each([
    [0, "?"],
    [(136 << 8) | 0, "pts/0"],
    [(136 << 8) | 5, "pts/5"],
    [(137 << 8) | 1, "pts/257"],
    [(4 << 8) | 1, "tty1"],
    [(4 << 8) | 65, "ttyS1"],
    // minor 300 of major 136: the minor's high bits sit above the major (new_encode_dev)
    [(136 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12), "pts/300"],
  ])("tty_nr %p is %p", (nr, want) => expect(ttyName(nr)).toBe(want));

  // A container process as /proc shows it to rl, and the container's own view of the ids.
  const stat = (pid: number, comm: string, ppid: number, tty = 0) =>
    `${pid} (${comm}) S ${ppid} ${pid} ${pid} ${tty} -1 4194560 100 0 0 0 150 50 0 0 20 5 1 0 1000 1658880 237 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;
  const status = (o: { nspid: string; ppid: number; uid: number; gid: number; groups: string; eff: string; seccomp: number }) =>
    [
      "Name:\tsleep",
      `PPid:\t${o.ppid}`,
      `Uid:\t${o.uid}\t${o.uid}\t${o.uid}\t${o.uid}`,
      `Gid:\t${o.gid}\t${o.gid}\t${o.gid}\t${o.gid}`,
      `Groups:\t${o.groups} `,
      `NSpid:\t${o.nspid}`,
      `NSpgid:\t${o.nspid}`,
      "VmSize:\t    1620 kB",
      "VmRSS:\t     948 kB",
      "CapInh:\t0000000000000000",
      "CapPrm:\t" + o.eff,
      "CapEff:\t" + o.eff,
      "CapBnd:\t00000000800405fb",
      "CapAmb:\t0000000000000000",
      `Seccomp:\t${o.seccomp}`,
    ].join("\n");
  const first = procInfo(5000, stat(5000, "sleep", 4990), status({ nspid: "5000\t1", ppid: 4990, uid: 100404, gid: 100099, groups: "100099", eff: "0000000000000000", seccomp: 2 }), "sleep\u00001000\u0000");
  // Started by something outside the container (exec, nsenter): its parent is not the container's.
  const second = procInfo(5100, stat(5100, "a) b", 5099, (136 << 8) | 0), status({ nspid: "5100\t7", ppid: 5099, uid: 1001, gid: 1001, groups: "", eff: "000003ffffffffff", seccomp: 0 }), "sh\u0000-c\u0000echo \u001b[2J\u0000");
  const child = procInfo(5200, stat(5200, "zombie", 5000), status({ nspid: "5200\t9", ppid: 5000, uid: 100404, gid: 100099, groups: "", eff: "0", seccomp: 2 }), "");
  first.ppid = 0;
  second.ppid = 0;
  child.ppid = 1;
  const found: ContainerProcs = {
    procs: [first, second, child],
    passwd: "root:x:0:0:root:/root:/bin/sh\nguest:x:405:100:guest:/dev/null:/sbin/nologin\nsecond:x:405:100::/:/bin/sh\n",
    group: "root:x:0:root\nusers:x:100:games\n",
    uidMap: [{ inside: 0, outside: 1001, count: 1 }, { inside: 1, outside: 100000, count: 65536 }],
    gidMap: [{ inside: 0, outside: 1001, count: 1 }, { inside: 1, outside: 100000, count: 65536 }],
  };
  const clock = { uptime: 20, bootMs: Date.parse("2026-12-07T18:00:00Z") };

  test("stat and status: the command name with spaces and a parenthesis, ids inside, times in ticks", () => {
    expect(second).toMatchObject({ hostPid: 5100, pid: 7, pgid: 7, hostPpid: 5099, comm: "a) b", state: "S", ttyNr: 136 << 8, nice: 5, cpuTicks: 200, startTicks: 1000, uids: [1001, 1001, 1001, 1001], groups: [], vszKb: 1620, rssKb: 948, seccomp: 0 });
    expect(first.args).toEqual(["sleep", "1000"]);
    expect(child.args).toEqual([]);
  });

  test("podman's default columns: names from the container's passwd, pids as it sees them", () => {
    expect(topTable(found, DEFAULT_DESCRIPTORS, clock)).toEqual([
      ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"],
      ["guest", "1", "0", "20.000", "10s", "?", "2s", "sleep 1000"],
      // control characters of a command line cannot reach the terminal
      ["root", "7", "0", "20.000", "10s", "pts/0", "2s", "sh -c echo ?[2J"],
      // no command line (a zombie, a kernel thread): the name in brackets, as ps shows it
      ["guest", "9", "1", "20.000", "10s", "?", "2s", "[zombie]"],
    ]);
  });

  test("the host's ids, groups, capabilities, seccomp and start time", () => {
    const t = topTable(found, parseDescriptors(["hpid,huser,group,hgroup,groups,hgroups,capeff,capbnd,seccomp,stime,nice,vsz,rss,comm,label"]), clock);
    expect(t[0]).toEqual(["HPID", "HUSER", "GROUP", "HGROUP", "GROUPS", "HGROUPS", "EFFECTIVE CAPS", "BOUNDING CAPS", "SECCOMP", "STIME", "NI", "VSZ", "RSS", "COMMAND", "LABEL"]);
    const bounding = "CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,NET_BIND_SERVICE,SETFCAP,SETGID,SETPCAP,SETUID,SYS_CHROOT";
    expect(t[1]).toEqual(["5000", "100404", "users", "100099", "users", "100099", "none", bounding, "filter", "2026-12-07 18:00:10 +0000 UTC", "5", "1620", "948", "sleep", "?"]);
    // every capability rl knows by name (sorted, as podman prints them) and one it does not (41)
    expect(t[2]![6]).toStartWith("AUDIT_CONTROL,AUDIT_READ,AUDIT_WRITE,BLOCK_SUSPEND,BPF,CHECKPOINT_RESTORE,CHOWN,");
    expect(t[2]![6]).toEndWith(",SYS_TTY_CONFIG,WAKE_ALARM,41");
    expect(t[2]!.slice(0, 6)).toEqual(["5100", "1001", "root", "1001", "", ""]);
    expect(t[2]![8]).toBe("disabled");
  });

  test("an id the container's files do not name is shown as a number; one outside its map as the overflow id", () => {
    const bare = { ...found, passwd: undefined, group: "", uidMap: [{ inside: 0, outside: 100000, count: 1000 }] };
    expect(topTable(bare, ["user", "ruser", "group"], clock).slice(1)).toEqual([
      ["404", "404", "100"],
      ["65534", "65534", "0"],
      ["404", "404", "100"],
    ]);
  });
});
