import { paths } from "../../cli/lib/paths";
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { containerSecurity, DEFAULT_CAPS, MASKED_PATHS } from "../../cli/lib/security/container-security";
import { parseSecurityOpts } from "../../cli/lib/security/security-opts";
import { allCaps } from "../../cli/lib/security/capabilities";
import { compileProfile } from "../../cli/lib/security/seccomp-compile";
import { defaultProfile } from "../../cli/lib/security/seccomp-default";
import { resolveProfile, validateProfile, type SeccompProfile, type SeccompArch } from "../../cli/lib/security/seccomp-profile";
import { syscallTable } from "../../cli/lib/security/syscalls";
import { seccompInfo } from "../../cli/lib/security/seccomp-info";
import { seccompProgram } from "../../cli/lib/security/seccomp-program";

// A classic BPF interpreter for what a seccomp filter may contain: the program runs here the way
// the kernel runs it, on a struct seccomp_data.
interface Data {
  nr: number;
  arch: number;
  args?: bigint[];
}

function run(prog: Uint8Array, d: Data): number {
  const v = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const mem = new DataView(new ArrayBuffer(64));
  mem.setUint32(0, d.nr >>> 0, true);
  mem.setUint32(4, d.arch >>> 0, true);
  (d.args ?? []).forEach((a, i) => mem.setBigUint64(16 + i * 8, a, true));
  let a = 0;
  let steps = 0;
  for (let pc = 0; ; pc++) {
    if (pc * 8 >= prog.length) throw new Error(`ran off the end at ${pc}`);
    if (++steps > 4096) throw new Error("too many steps");
    const code = v.getUint16(pc * 8, true), jt = v.getUint8(pc * 8 + 2), jf = v.getUint8(pc * 8 + 3), k = v.getUint32(pc * 8 + 4, true);
    switch (code) {
      case 0x20: // ld [k]
        if (k % 4 || k > 60) throw new Error(`bad load offset ${k}`);
        a = mem.getUint32(k, true);
        break;
      case 0x54: a = (a & k) >>> 0; break; // and #k
      case 0x05: pc += k; break; // ja
      case 0x15: pc += a === k ? jt : jf; break; // jeq
      case 0x25: pc += a > k ? jt : jf; break; // jgt
      case 0x35: pc += a >= k ? jt : jf; break; // jge
      case 0x45: pc += a & k ? jt : jf; break; // jset
      case 0x06: return k; // ret #k
      default: throw new Error(`unexpected opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
}

const X86_64 = 0xc000003e;
const AARCH64 = 0xc00000b7;
const I386 = 0x40000003;
const ALLOW = 0x7fff0000;
const KILL_PROCESS = 0x80000000;
const errno = (e: number) => 0x00050000 | e;
const EPERM = errno(1);
const ENOSYS = errno(38);

function compileDefault(arch: SeccompArch, caps: string[] = DEFAULT_CAPS): Uint8Array {
  return compileProfile(resolveProfile(defaultProfile(), { caps, arch, kernel: "6.18.0" }), arch);
}

function nr(arch: SeccompArch, name: string): number {
  const n = syscallTable(arch).get(name);
  if (n === undefined) throw new Error(`no ${name} on ${arch}`);
  return n;
}

describe("the default profile, compiled to BPF", () => {
  const x86 = compileDefault("x86_64");
  const call = (name: string, ...args: (number | bigint)[]) => run(x86, { nr: nr("x86_64", name), arch: X86_64, args: args.map(BigInt) });

  test.each([
    ["read", ALLOW], ["write", ALLOW], ["execve", ALLOW], ["exit_group", ALLOW], ["arch_prctl", ALLOW], ["chroot", ALLOW],
    ["keyctl", EPERM], ["add_key", EPERM], ["request_key", EPERM], ["io_uring_setup", EPERM], ["perf_event_open", EPERM],
    ["kexec_load", EPERM], ["open_by_handle_at", EPERM], ["bpf", EPERM], ["unshare", EPERM], ["mount", EPERM],
    ["setns", EPERM], ["kcmp", EPERM], ["ptrace", EPERM], ["init_module", EPERM], ["clock_settime", EPERM],
    ["clone3", ENOSYS], ["fchmodat2", ALLOW], ["mseal", ALLOW],
  ])("x86_64 %s → %d", (name, want) => {
    expect(call(name as string)).toBe(want as number);
  });

  test("argument rules: personality, clone flags, socket family", () => {
    expect(call("personality", 0)).toBe(ALLOW);
    expect(call("personality", 0xffffffff)).toBe(ALLOW);
    expect(call("personality", 0x0400000)).toBe(EPERM); // READ_IMPLIES_EXEC
    expect(call("personality", 0x1_00000000n)).toBe(EPERM); // the high half counts
    expect(call("clone", 17)).toBe(ALLOW); // SIGCHLD: fork
    expect(call("clone", 0x3d0f00)).toBe(ALLOW); // a thread
    expect(call("clone", 0x10000000 | 17)).toBe(EPERM); // CLONE_NEWUSER
    expect(call("clone", 0x20000 | 17)).toBe(EPERM); // CLONE_NEWNS
    expect(call("socket", 2, 1, 0)).toBe(ALLOW);
    expect(call("socket", 40, 1, 0)).toBe(EPERM); // AF_VSOCK
  });

  test("numbers the table does not name get ENOSYS; x32 and foreign architectures are killed", () => {
    expect(run(x86, { nr: 470, arch: X86_64 })).toBe(ENOSYS);
    expect(run(x86, { nr: 400, arch: X86_64 })).toBe(ENOSYS); // the gap between 334 and 424
    expect(run(x86, { nr: 5000, arch: X86_64 })).toBe(ENOSYS);
    expect(run(x86, { nr: 0x40000000, arch: X86_64 })).toBe(KILL_PROCESS);
    expect(run(x86, { nr: 0x40000000 + 39, arch: X86_64 })).toBe(KILL_PROCESS);
    expect(run(x86, { nr: 0xffffffff, arch: X86_64 })).toBe(KILL_PROCESS);
    expect(run(x86, { nr: 0, arch: I386 })).toBe(KILL_PROCESS);
    expect(run(x86, { nr: 63, arch: AARCH64 })).toBe(KILL_PROCESS);
  });

  test("every syscall number gets the action its rules give", () => {
    const allowed = new Set(defaultProfile().syscalls![0]!.names!);
    for (const [name, n] of syscallTable("x86_64")) {
      const got = run(x86, { nr: n, arch: X86_64, args: [17n, 0n, 0n, 0n, 0n, 0n] });
      if (allowed.has(name)) expect(`${name} ${got}`).toBe(`${name} ${ALLOW}`);
      else expect([ALLOW, EPERM, ENOSYS]).toContain(got);
    }
  });

  test("capabilities open what they guard", () => {
    const admin = compileDefault("x86_64", [...DEFAULT_CAPS, "CAP_SYS_ADMIN"]);
    const c = (name: string, ...args: number[]) => run(admin, { nr: nr("x86_64", name), arch: X86_64, args: args.map(BigInt) });
    expect(c("unshare", 0x10000000)).toBe(ALLOW);
    expect(c("clone", 0x10000000 | 17)).toBe(ALLOW);
    expect(c("clone3")).toBe(ALLOW);
    expect(c("mount")).toBe(ALLOW);
    expect(c("keyctl")).toBe(EPERM);
    const none = compileDefault("x86_64", []);
    expect(run(none, { nr: nr("x86_64", "chroot"), arch: X86_64 })).toBe(EPERM);
    const all = compileDefault("x86_64", allCaps());
    expect(run(all, { nr: nr("x86_64", "perf_event_open"), arch: X86_64 })).toBe(ALLOW);
    expect(run(all, { nr: nr("x86_64", "kexec_load"), arch: X86_64 })).toBe(EPERM);
  });

  test("aarch64 has its own numbers and no x32", () => {
    const arm = compileDefault("aarch64");
    const c = (name: string, ...args: number[]) => run(arm, { nr: nr("aarch64", name), arch: AARCH64, args: args.map(BigInt) });
    expect(nr("aarch64", "read")).toBe(63);
    expect(c("read")).toBe(ALLOW);
    expect(c("openat")).toBe(ALLOW);
    expect(c("keyctl")).toBe(EPERM);
    expect(c("clone", 17)).toBe(ALLOW);
    expect(c("clone", 0x10000000 | 17)).toBe(EPERM);
    expect(c("sync_file_range")).toBe(ALLOW);
    expect(syscallTable("aarch64").has("arch_prctl")).toBe(false);
    expect(run(arm, { nr: 0x40000000, arch: AARCH64 })).toBe(ENOSYS);
    expect(run(arm, { nr: 0, arch: X86_64 })).toBe(KILL_PROCESS);
  });

  test("the search is short: about log2 of the intervals, not one test per rule", () => {
    let most = 0;
    for (const n of syscallTable("x86_64").values()) {
      // Count the instructions a call executes.
      const v = new DataView(x86.buffer, x86.byteOffset);
      let pc = 0, steps = 0;
      const mem = { nr: n };
      let a = 0;
      for (;;) {
        steps++;
        const code = v.getUint16(pc * 8, true), jt = v.getUint8(pc * 8 + 2), jf = v.getUint8(pc * 8 + 3), k = v.getUint32(pc * 8 + 4, true);
        if (code === 0x06) break;
        if (code === 0x20) a = k === 4 ? X86_64 : k === 0 ? mem.nr : 17;
        else if (code === 0x05) pc += k;
        else if (code === 0x15) pc += a === k ? jt : jf;
        else if (code === 0x25) pc += a > k ? jt : jf;
        else if (code === 0x35) pc += a >= k ? jt : jf;
        else if (code === 0x54) a &= k;
        pc++;
      }
      most = Math.max(most, steps);
    }
    expect(most).toBeLessThan(24);
  });
});

describe("argument comparisons, against 64-bit arithmetic", () => {
  const values = [0n, 1n, 7n, 8n, 0xffffffffn, 0x1_00000000n, 0x1_00000007n, 0x2_00000000n, 0xffffffff_ffffffffn, 0x7fffffff_00000001n];
  const ops: [string, (a: bigint, v: bigint, two: bigint) => boolean][] = [
    ["SCMP_CMP_EQ", (a, v) => a === v],
    ["SCMP_CMP_NE", (a, v) => a !== v],
    ["SCMP_CMP_LT", (a, v) => a < v],
    ["SCMP_CMP_LE", (a, v) => a <= v],
    ["SCMP_CMP_GT", (a, v) => a > v],
    ["SCMP_CMP_GE", (a, v) => a >= v],
    ["SCMP_CMP_MASKED_EQ", (a, v, two) => (a & v) === two],
  ];
  for (const [op, ref] of ops) {
    test(op, () => {
      for (const v of values) {
        const two = v & 0x1_00000007n;
        const prog = compileProfile({ defaultAction: "SCMP_ACT_ALLOW", architectures: [], syscalls: [{ names: ["ioctl"], action: "SCMP_ACT_ERRNO", errnoRet: 5, args: [{ index: 2, value: Number(v), valueTwo: Number(two), op }] }] }, "x86_64");
        for (const a of values) {
          // Numbers above 2^53 do not survive a JSON profile: test what can be written.
          if (v > BigInt(Number.MAX_SAFE_INTEGER)) continue;
          const got = run(prog, { nr: 16, arch: X86_64, args: [0n, 0n, a] });
          expect(`${a} ${op} ${v}: ${got}`).toBe(`${a} ${op} ${v}: ${ref(a, v, two) ? errno(5) : ALLOW}`);
        }
      }
    });
  }
});

describe("profiles of one's own", () => {
  const compile = (p: SeccompProfile, caps: string[] = []) => compileProfile(resolveProfile(validateProfile(p), { caps, arch: "x86_64", kernel: "6.1" }), "x86_64");

  test("conditional rules come before the syscall's unconditional rule; several conditions must all hold", () => {
    const prog = compile({
      defaultAction: "SCMP_ACT_KILL_PROCESS",
      syscalls: [
        { names: ["write"], action: "SCMP_ACT_ALLOW" },
        { names: ["write"], action: "SCMP_ACT_ERRNO", errnoRet: 9, args: [{ index: 0, value: 2, op: "SCMP_CMP_EQ" }, { index: 2, value: 100, op: "SCMP_CMP_GT" }] },
        { name: "read", action: "SCMP_ACT_LOG" },
      ],
    });
    expect(run(prog, { nr: 1, arch: X86_64, args: [2n, 0n, 101n] })).toBe(errno(9));
    expect(run(prog, { nr: 1, arch: X86_64, args: [2n, 0n, 100n] })).toBe(ALLOW);
    expect(run(prog, { nr: 1, arch: X86_64, args: [1n, 0n, 101n] })).toBe(ALLOW);
    expect(run(prog, { nr: 0, arch: X86_64 })).toBe(0x7ffc0000);
    expect(run(prog, { nr: 3, arch: X86_64 })).toBe(KILL_PROCESS);
    // Not SCMP_ACT_ERRNO by default: unknown numbers get the default action too.
    expect(run(prog, { nr: 470, arch: X86_64 })).toBe(KILL_PROCESS);
  });

  test("includes and excludes: caps, arches, minKernel", () => {
    const p: SeccompProfile = {
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["read"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
        { names: ["write"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_SYS_ADMIN"] } },
        { names: ["close"], action: "SCMP_ACT_ALLOW", includes: { arches: ["arm64"] } },
        { names: ["open"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "6.2" } },
        { names: ["stat"], action: "SCMP_ACT_ALLOW", includes: { minKernel: "5.10" } },
      ],
    };
    const plain = compile(p);
    expect([0, 1, 3, 2, 4].map((n) => run(plain, { nr: n, arch: X86_64 }))).toEqual([EPERM, ALLOW, EPERM, EPERM, ALLOW]);
    const admin = compile(p, ["CAP_SYS_ADMIN"]);
    expect([0, 1].map((n) => run(admin, { nr: n, arch: X86_64 }))).toEqual([ALLOW, EPERM]);
  });

  test("many alternating outcomes need long jumps, and still decide each number right", () => {
    const names = [...syscallTable("x86_64").entries()].filter(([, n]) => n % 2 === 0);
    const prog = compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: names.map(([name, n]) => ({ names: [name], action: "SCMP_ACT_ERRNO", errnoRet: 1 + (n % 7), args: n % 10 === 0 ? [{ index: 0, value: n, op: "SCMP_CMP_EQ" }] : undefined })) });
    expect(prog.length / 8).toBeGreaterThan(300);
    for (const [, n] of syscallTable("x86_64")) {
      const want = n % 2 === 1 ? ALLOW : errno(1 + (n % 7));
      if (n % 10 === 0) {
        expect(run(prog, { nr: n, arch: X86_64, args: [BigInt(n)] })).toBe(want);
        expect(run(prog, { nr: n, arch: X86_64, args: [BigInt(n + 1)] })).toBe(ALLOW);
      } else expect(run(prog, { nr: n, arch: X86_64 })).toBe(want);
    }
  });

  test("bad profiles are refused with a clear message", () => {
    expect(() => validateProfile([])).toThrow("not a JSON object");
    expect(() => validateProfile({ defaultAction: "SCMP_ACT_NOPE" })).toThrow('unknown action "SCMP_ACT_NOPE"');
    expect(() => validateProfile({ defaultAction: "SCMP_ACT_NOTIFY" })).toThrow("seccomp agent");
    expect(() => validateProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 6, value: 0, op: "SCMP_CMP_EQ" }] }] })).toThrow("index must be 0 to 5");
    expect(() => validateProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: 0, op: "SCMP_CMP_ABOUT" }] }] })).toThrow("unknown comparison");
    expect(() => validateProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ action: "SCMP_ACT_ALLOW" }] })).toThrow("names must be");
    expect(() => validateProfile({ defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: -1 })).toThrow("defaultErrnoRet: an errno must be a number from 0 to 4095");
    expect(() => validateProfile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["read"], action: "SCMP_ACT_ERRNO", errnoRet: "EPERM" as unknown as number }] })).toThrow("syscalls[0]: an errno");
  });

  test("a program over 4096 instructions is refused", () => {
    const names = [...syscallTable("x86_64").keys()];
    const many = { defaultAction: "SCMP_ACT_ALLOW", syscalls: names.map((name) => ({ names: [name], action: "SCMP_ACT_ERRNO", args: [0, 1, 2, 3, 4, 5].map((index) => ({ index, value: 1, valueTwo: 1, op: "SCMP_CMP_MASKED_EQ" })) })) };
    expect(() => compile(many)).toThrow("4096 instructions");
  });
});

describe("rl info: seccomp", () => {
  const actions = (text: string | null) => () => text;
  test("available with the kernel's actions", () => {
    expect(seccompInfo(actions("kill_process kill_thread trap errno user_notif trace log allow\n"), "x86_64")).toEqual({ ok: true, reason: null, actions: ["kill_process", "kill_thread", "trap", "errno", "user_notif", "trace", "log", "allow"], arch: "x86_64" });
  });
  test("unavailable: no seccomp in the kernel, no table for the architecture, missing actions", () => {
    expect(seccompInfo(actions(null), "x86_64").reason).toContain("CONFIG_SECCOMP_FILTER");
    expect(seccompInfo(actions("errno kill_process allow"), null).reason).toContain("no syscall table");
    expect(seccompInfo(actions("kill_thread trap errno allow"), "aarch64").reason).toContain("lacks the errno or kill_process");
  });
});

describe("compiled programs are cached", () => {
  test("the second start reads the program back; a damaged file is compiled again", async () => {
    const root = mkdtempSync(`${tmpdir()}/rl-seccomp-cache-`);
    const store = paths({ RL_ROOT: root });
    const dir = `${root}/seccomp`;
    try {
      const resolved = resolveProfile(defaultProfile(), { caps: DEFAULT_CAPS, arch: "x86_64", kernel: "6.18" });
      const fresh = await seccompProgram(resolved);
      expect(await seccompProgram(resolved, store)).toEqual(fresh);
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      // Written through the store's tmp/ (what a killed writer leaves there, the sweep removes): nothing left.
      expect(readdirSync(store.tmp)).toEqual([]);
      expect(await seccompProgram(resolved, store)).toEqual(fresh);
      // Another profile, another file.
      const admin = resolveProfile(defaultProfile(), { caps: [...DEFAULT_CAPS, "CAP_SYS_ADMIN"], arch: "x86_64", kernel: "6.18" });
      expect(await seccompProgram(admin, store)).not.toEqual(fresh);
      expect(readdirSync(dir)).toHaveLength(2);
      writeFileSync(`${dir}/${files[0]}`, fresh.subarray(0, 64));
      expect(await seccompProgram(resolved, store)).toEqual(fresh);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("--security-opt and --privileged", () => {
  test("parsing: podman's KEY=VALUE and docker's KEY:VALUE", () => {
    expect(parseSecurityOpts([])).toEqual({ seccomp: "default", noNewPrivileges: false, mask: [], unmask: [] });
    expect(parseSecurityOpts(["seccomp=unconfined", "no-new-privileges", "mask=/a:/b", "unmask=/proc/*", "label=disable"])).toEqual({ seccomp: "unconfined", noNewPrivileges: true, mask: ["/a", "/b"], unmask: ["/proc/*"] });
    expect(parseSecurityOpts(["seccomp:/p.json", "no-new-privileges:true", "no-new-privileges=false"])).toMatchObject({ seccomp: "/p.json", noNewPrivileges: false });
    expect(() => parseSecurityOpts(["seccomp"])).toThrow("give seccomp=unconfined or seccomp=PROFILE.json");
    expect(() => parseSecurityOpts(["no-new-privileges=yes"])).toThrow("takes true or false");
    expect(() => parseSecurityOpts(["mask=relative"])).toThrow("relative is not an absolute path");
    expect(() => parseSecurityOpts(["unmask="])).toThrow("give unmask=PATH");
    expect(() => parseSecurityOpts(["apparmor=myprofile"])).toThrow('unsupported --security-opt "apparmor=myprofile"');
  });

  const sec = (o: Omit<Partial<Parameters<typeof containerSecurity>[0]>, "opts"> & { opts?: string[] }) =>
    containerSecurity({ privileged: false, capAdd: [], capDrop: [], uid: 0, ...o, opts: parseSecurityOpts(o.opts ?? []) });

  test("capabilities: root holds the bounding set, another user only what is added", () => {
    expect(sec({}).capabilities).toEqual({ bounding: DEFAULT_CAPS, effective: DEFAULT_CAPS, permitted: DEFAULT_CAPS, inheritable: [], ambient: [] });
    expect(sec({ uid: 1000 }).capabilities).toMatchObject({ bounding: DEFAULT_CAPS, effective: [], ambient: [] });
    const added = sec({ uid: 1000, capAdd: ["net_raw", "CAP_CHOWN"] }).capabilities;
    expect(added).toMatchObject({ effective: ["CAP_NET_RAW", "CAP_CHOWN"], ambient: ["CAP_NET_RAW", "CAP_CHOWN"], inheritable: ["CAP_NET_RAW", "CAP_CHOWN"] });
    expect(added.bounding).toContain("CAP_NET_RAW");
    // Dropped wins over added for another user: nothing outside the bounding set.
    expect(sec({ uid: 1000, capAdd: ["NET_RAW"], capDrop: ["ALL"] }).capabilities.effective).toEqual(["CAP_NET_RAW"]);
    expect(sec({ uid: 1000, capAdd: ["CHOWN"], capDrop: ["CHOWN"] }).capabilities.effective).toEqual(["CAP_CHOWN"]);
  });

  test("--privileged: every capability, no filter, no masks; seccomp: the default, unconfined or a file", () => {
    const p = sec({ privileged: true });
    expect(p.capabilities.bounding).toEqual(allCaps());
    expect(p).toMatchObject({ maskedPaths: [], readonlyPaths: [], seccompProfile: "unconfined" });
    expect(p.seccomp).toBeUndefined();
    expect(sec({}).seccompProfile).toBe("default");
    expect(sec({}).seccomp?.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(sec({ opts: ["seccomp=unconfined"] }).seccomp).toBeUndefined();
    expect(() => sec({ opts: ["seccomp=/nonexistent/p.json"] })).toThrow("cannot use seccomp profile /nonexistent/p.json: no such file");
  });

  test("mask and unmask", () => {
    expect(sec({ opts: ["mask=/srv:/proc/keys"] }).maskedPaths).toEqual([...MASKED_PATHS, "/srv"]);
    expect(sec({ opts: ["unmask=/proc/k*:/sys/firmware"] }).maskedPaths).toEqual(MASKED_PATHS.filter((p) => !["/proc/kcore", "/proc/keys", "/sys/firmware"].includes(p)));
    expect(sec({ opts: ["unmask=/proc/sys"] }).readonlyPaths).not.toContain("/proc/sys");
    expect(sec({ opts: ["unmask=ALL"] })).toMatchObject({ maskedPaths: [], readonlyPaths: [] });
  });
});
