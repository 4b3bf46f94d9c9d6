import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ALPINE, BUSYBOX, makeEnv, rl, skipReason } from "./harness";

const reason = skipReason() ?? (Bun.which("gcc") ? undefined : "gcc is needed to build the syscall probe (.ci/setup-host installs it)");
if (reason) console.log(`skipping seccomp and security option tests: ${reason}`);

// Calls each named syscall with harmless arguments and prints NAME=0 or NAME=ERRNO-NAME: the images
// have no compiler, so it is built static on the host and bound into the container read-only.
const PROBE_C = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static const char *ename(int e) {
  switch (e) {
  case EPERM: return "EPERM"; case ENOSYS: return "ENOSYS"; case EACCES: return "EACCES"; case EINVAL: return "EINVAL";
  case EFAULT: return "EFAULT"; case EBADF: return "EBADF"; default: return strerror(e);
  }
}
int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *n = argv[i]; long r = -1; char buf[128]; memset(buf, 0, sizeof buf); errno = 0;
    if (!strcmp(n, "keyctl")) r = syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0);
    else if (!strcmp(n, "add_key")) r = syscall(SYS_add_key, "user", "rl-probe", "x", 1, -2 /* process keyring */);
    else if (!strcmp(n, "io_uring_setup")) r = syscall(SYS_io_uring_setup, 1, buf);
    else if (!strcmp(n, "perf_event_open")) { *(unsigned *)(buf + 4) = 128; r = syscall(SYS_perf_event_open, buf, 0, -1, -1, 0); }
    else if (!strcmp(n, "kexec_load")) r = syscall(SYS_kexec_load, 0, 0, 0, 0);
    else if (!strcmp(n, "open_by_handle_at")) r = syscall(SYS_open_by_handle_at, -1, 0, 0);
    else if (!strcmp(n, "bpf")) r = syscall(SYS_bpf, 0, 0, 0);
    else if (!strcmp(n, "personality-unsafe")) r = syscall(SYS_personality, 0x0400000 /* READ_IMPLIES_EXEC */);
    else if (!strcmp(n, "personality-query")) r = syscall(SYS_personality, 0xffffffffUL);
    else if (!strcmp(n, "unshare-user")) r = syscall(SYS_unshare, CLONE_NEWUSER);
    else if (!strcmp(n, "kcmp")) r = syscall(SYS_kcmp, getpid(), getpid(), 0, 0, 0);
    else if (!strcmp(n, "getpid")) r = syscall(SYS_getpid);
    else if (!strcmp(n, "clone3")) r = syscall(SYS_clone3, buf, 8);
    else if (!strcmp(n, "syscall470")) r = syscall(470);
    else if (!strcmp(n, "euid")) { printf("euid=%d\n", (int)geteuid()); continue; }
    else { printf("%s=unknown\n", n); continue; }
    printf("%s=%s\n", n, r < 0 ? ename(errno) : "0");
  }
  return 0;
}
`;

const REFUSED = ["keyctl", "add_key", "io_uring_setup", "perf_event_open", "kexec_load", "open_by_handle_at", "bpf", "personality-unsafe", "unshare-user", "kcmp"];

describe.skipIf(Boolean(reason))("seccomp and security options", () => {
  const t = makeEnv();
  const run = (args: string[], env: Record<string, string> = {}) => rl(["run", "--rm", ...args], { env: { ...t.env, ...env } });
  let probe = "";
  const withProbe = (opts: string[], calls: string[]) => run([...opts, "-v", `${probe}:/probe:ro`, ALPINE, "/probe", ...calls]);
  const results = (stdout: string) => Object.fromEntries(stdout.trim().split("\n").map((l) => l.split("=")));
  const status = async (args: string[], field: string, file = "/proc/self/status") => {
    const r = await run([...args, ALPINE, "grep", `^${field}:`, file]);
    expect(r.stderr).toBe("");
    return r.stdout.split(":")[1]!.trim();
  };

  beforeAll(() => {
    const src = join(t.root, "probe.c");
    probe = join(t.root, "probe");
    writeFileSync(src, PROBE_C);
    const cc = Bun.spawnSync(["gcc", "-static", "-O2", "-o", probe, src], { stderr: "pipe" });
    if (cc.exitCode !== 0) throw new Error(`cannot build the probe: ${cc.stderr.toString()}`);
  });
  afterAll(() => t.cleanup());

  test("by default a container cannot reach keyrings, io_uring, perf, kexec, handles, bpf, personality or new user namespaces", async () => {
    const r = await withProbe([], [...REFUSED, "personality-query", "getpid", "clone3", "syscall470"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const got = results(r.stdout);
    for (const name of REFUSED) expect(`${name}=${got[name]}`).toBe(`${name}=EPERM`);
    // What a process needs still works; clone3 and syscalls the filter does not know say ENOSYS, so libc falls back.
    expect(got).toMatchObject({ "personality-query": "0", getpid: "0", clone3: "ENOSYS", syscall470: "ENOSYS" });
    expect(await status([], "Seccomp")).toBe("2");
  });

  test("ordinary programs work under the filter (busybox and alpine)", async () => {
    const script = "set -e; ls -la / >/dev/null; ps >/dev/null; echo b a | tr ' ' '\\n' | sort | tr '\\n' ' '; tar -cf /tmp/e.tar /etc 2>/dev/null; gzip /tmp/e.tar; tar -tzf /tmp/e.tar.gz | grep -c passwd; sleep 0.01; (sh -c 'exit 3') || echo sub=$?; date +%Y >/dev/null; wc -l </etc/passwd >/dev/null; echo ok";
    for (const image of [ALPINE, BUSYBOX]) {
      const r = await run([image, "sh", "-c", script]);
      expect({ image, ...r }).toEqual({ image, code: 0, stdout: "a b 1\nsub=3\nok\n", stderr: "" });
    }
  });

  test("seccomp=unconfined lets them through", async () => {
    const r = await withProbe(["--security-opt", "seccomp=unconfined"], ["keyctl", "io_uring_setup", "personality-unsafe", "kcmp"]);
    expect(results(r.stdout)).toEqual({ keyctl: "0", io_uring_setup: "0", "personality-unsafe": "0", kcmp: "0" });
    expect(await status(["--security-opt", "seccomp=unconfined"], "Seccomp")).toBe("0");
  });

  test("a profile of one's own, in docker's format", async () => {
    const file = join(t.root, "profile.json");
    writeFileSync(file, JSON.stringify({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 13 },
        { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0xffffffff, op: "SCMP_CMP_EQ" }] },
      ],
    }));
    const r = await withProbe(["--security-opt", `seccomp=${file}`], ["getpid", "personality-query", "personality-unsafe", "keyctl"]);
    expect(r.stderr).toBe("");
    expect(results(r.stdout)).toEqual({ getpid: "EACCES", "personality-query": "EPERM", "personality-unsafe": "0", keyctl: "0" });
  });

  // podman's own profile (containers-common), read by rl, answers as podman --runtime runc does with it
  // on this host (measured: keyctl and unshare allowed, add_key and io_uring unknown to it).
  const PODMAN_PROFILE = "/usr/share/containers/seccomp.json";
  test.skipIf(!existsSync(PODMAN_PROFILE))("podman's profile file gives podman's answers", async () => {
    const r = await withProbe(["--security-opt", `seccomp=${PODMAN_PROFILE}`], ["keyctl", "add_key", "io_uring_setup", "perf_event_open", "kexec_load", "bpf", "personality-unsafe", "personality-query", "kcmp", "getpid", "syscall470"]);
    expect(r.stderr).toBe("");
    expect(results(r.stdout)).toEqual({
      keyctl: "0", add_key: "ENOSYS", io_uring_setup: "ENOSYS", perf_event_open: "EPERM", kexec_load: "EPERM", bpf: "EPERM",
      "personality-unsafe": "ENOSYS", "personality-query": "0", kcmp: "EPERM", getpid: "0", syscall470: "ENOSYS",
    });
  });

  test("a bad profile is one clear error, and leaves no container", async () => {
    const file = join(t.root, "bad.json");
    writeFileSync(file, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["read"], action: "SCMP_ACT_NOPE" }] }));
    for (const [value, message] of [[file, `cannot use seccomp profile ${file}: syscalls[0]: unknown action "SCMP_ACT_NOPE"`], [join(t.root, "none.json"), "no such file"], ["/dev/zero", "cannot use seccomp profile /dev/zero: not a regular file"]] as const) {
      const r = await rl(["run", "--name", "bad-profile", "--security-opt", `seccomp=${value}`, ALPINE, "true"], { env: t.env });
      expect(r.code).toBe(125);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split("\n").length).toBe(1);
    }
    // Valid, but beyond what one BPF program can hold.
    const huge = join(t.root, "huge.json");
    const rule = (n: number) => ({ names: ["read", "write", "close", "ioctl", "mmap"].slice(n % 5, n % 5 + 1), action: "SCMP_ACT_ERRNO", args: [0, 1, 2, 3, 4, 5].map((index) => ({ index, value: n, valueTwo: n, op: "SCMP_CMP_MASKED_EQ" })) });
    writeFileSync(huge, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: Array.from({ length: 200 }, (_, n) => rule(n)) }));
    const big = await rl(["run", "--name", "bad-profile", "--security-opt", `seccomp=${huge}`, ALPINE, "true"], { env: t.env });
    expect(big).toMatchObject({ code: 125, stderr: "rl: cannot compile the seccomp profile: the program would exceed 4096 instructions\n" });
    expect((await rl(["ps", "-a", "--format", "{{.Names}}"], { env: t.env })).stdout).not.toContain("bad-profile");
    const opt = await run(["--security-opt", "selinux=x", ALPINE, "true"]);
    expect(opt.code).toBe(125);
    expect(opt.stderr).toContain('unsupported --security-opt "selinux=x"');
  });

  test("no-new-privileges: a setuid-root program does not make a user root", async () => {
    // An image of one static program, setuid root.
    const dir = join(t.root, "suid");
    Bun.spawnSync(["mkdir", "-p", dir]);
    Bun.spawnSync(["cp", probe, join(dir, "probe")]);
    chmodSync(join(dir, "probe"), 0o4755);
    const tar = Bun.spawnSync(["tar", "-cf", join(t.root, "suid.tar"), "--owner=0", "--group=0", "-C", dir, "probe"], { stderr: "pipe" });
    expect(tar.stderr.toString()).toBe("");
    const imported = await rl(["import", join(t.root, "suid.tar"), "suid-probe"], { env: t.env });
    expect(imported.code).toBe(0);
    const plain = await run(["-u", "1000", "suid-probe", "/probe", "euid"]);
    expect(plain).toMatchObject({ code: 0, stdout: "euid=0\n" });
    const nnp = await run(["-u", "1000", "--security-opt", "no-new-privileges", "suid-probe", "/probe", "euid"]);
    expect(nnp).toMatchObject({ code: 0, stdout: "euid=1000\n" });
    expect(await status(["--security-opt", "no-new-privileges"], "NoNewPrivs")).toBe("1");
    expect(await status(["--security-opt", "no-new-privileges=false"], "NoNewPrivs")).toBe("0");
  });

  test("--privileged: every capability, no filter, nothing masked", async () => {
    const last = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
    const all = ((1n << BigInt(last + 1)) - 1n).toString(16).padStart(16, "0");
    expect(await status(["--privileged"], "CapEff")).toBe(all);
    expect(await status(["--privileged"], "Seccomp")).toBe("0");
    const masked = await run([ALPINE, "stat", "-c", "%F", "/proc/keys"]);
    expect(masked.stdout).toBe("character special file\n");
    const open = await run(["--privileged", ALPINE, "stat", "-c", "%F", "/proc/keys"]);
    expect(open.stdout).toBe("regular empty file\n");
  });

  test("mask= and unmask=", async () => {
    const r = await run(["--security-opt", "mask=/etc/hostname:/usr/share", ALPINE, "sh", "-c", "stat -c %F /etc/hostname; ls /usr/share | wc -l"]);
    expect(r).toMatchObject({ code: 0, stdout: "character special file\n0\n" });
    const u = await run(["--security-opt", "unmask=/proc/k*", ALPINE, "stat", "-c", "%F", "/proc/keys"]);
    expect(u.stdout).toBe("regular empty file\n");
    const all = await run(["--security-opt", "unmask=ALL", ALPINE, "sh", "-c", "stat -c %F /proc/keys; grep -c ' /proc/sys ' /proc/self/mounts"]);
    expect(all.stdout).toBe("regular empty file\n0\n");
  });

  test("a user other than root holds only the capabilities added for it", async () => {
    expect(await status(["-u", "1000"], "CapEff")).toBe("0000000000000000");
    const added = await run(["-u", "1000", "--cap-add", "NET_RAW", ALPINE, "grep", "-E", "^Cap(Eff|Amb):", "/proc/self/status"]);
    expect(added.stdout).toBe("CapEff:\t0000000000002000\nCapAmb:\t0000000000002000\n");
  });

  test("rl's own init runs under the filter, with the workload's user and capabilities", async () => {
    const env = { RL_INIT_BINARY: "" };
    expect(await (await run(["--init", "-u", "1000", ALPINE, "grep", "-E", "^(Uid|CapEff|Seccomp):", "/proc/1/status"], env)).stdout).toBe("Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000000000\nSeccomp:\t2\n");
  });

  test("config.json records the capabilities, the seccomp profile and the masks", async () => {
    const r = await rl(["run", "--name", "recorded", "-u", "1000", "--cap-add", "NET_RAW", ALPINE, "true"], { env: t.env });
    expect(r.code).toBe(0);
    const found = new Bun.Glob("**/config.json").scanSync({ cwd: t.env.RL_RUNROOT!, absolute: true });
    const spec = [...found].map((f) => JSON.parse(readFileSync(f, "utf8"))).find((s) => s.annotations?.["io.rl.name"] === "recorded");
    expect(spec.process.capabilities.effective).toEqual(["CAP_NET_RAW"]);
    expect(spec.process.capabilities.bounding).toContain("CAP_NET_RAW");
    expect(spec.linux.seccomp.defaultAction).toBe("SCMP_ACT_ERRNO");
    expect(spec.linux.seccomp.syscalls.some((s: { names: string[] }) => s.names.includes("read"))).toBe(true);
    expect(spec.linux.maskedPaths).toContain("/proc/keys");
    expect(spec.annotations["io.rl.seccomp"]).toBe("default");
    await rl(["rm", "recorded"], { env: t.env });
  });
});
