import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cgroupInfo } from "../../cli/lib/host/cgroups";
import { cgroupVmMissing, GUEST_ALPINE, GUEST_REPO, inGuest, keyValues } from "./cgroup-vm";
import { ALPINE, makeEnv, rl, RL_BIN, skipReason, until } from "./harness";

const reason = skipReason();

// On this host (hybrid cgroups, nothing delegated) a limit must be refused, never ignored, and nothing
// may be left behind; a host with delegation must run it.
describe.skipIf(Boolean(reason))("resource limits on this host", () => {
  const t = makeEnv();
  afterAll(() => t.cleanup());

  test("a limit is refused with 125 and why where no cgroup v2 is delegated, and nothing is left", async () => {
    const info = cgroupInfo(process.getuid!());
    const r = await rl(["run", "--rm", "--memory", "64m", ALPINE, "true"], { env: t.env });
    if (info.ok) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      return;
    }
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining("rl: cannot set --memory: ")]);
    expect(r.stderr).toContain(info.reason!);
    expect(r.stderr).toContain("Delegate=yes");
    expect((await rl(["ps", "-a", "-q"], { env: t.env })).stdout).toBe("");
  });

  test("without limits it runs as before", async () => {
    const r = await rl(["run", "--rm", ALPINE, "echo", "ok"], { env: t.env });
    expect(r.stdout).toBe("ok\n");
    expect(r.code).toBe(0);
  });

  test("--oom-score-adj raises the container's score; lowering it below rl's is refused", async () => {
    const up = await rl(["run", "--rm", "--oom-score-adj", "500", ALPINE, "cat", "/proc/self/oom_score_adj"], { env: t.env });
    expect(up.stdout).toBe("500\n");
    const down = await rl(["run", "--rm", "--oom-score-adj", "-1000", ALPINE, "true"], { env: t.env });
    expect(down.code).toBe(125);
    expect(down.stderr).toStartWith("rl: cannot set --oom-score-adj -1000: an unprivileged user may only raise it");
    expect((await rl(["ps", "-a", "-q"], { env: t.env })).stdout).toBe("");
  });

  test("bad values fail with 125 before anything runs", async () => {
    for (const [args, says] of [
      [["--memory", "12q"], 'invalid size "12q" for --memory'],
      [["--cpus", "1", "--cpu-quota", "50000"], "--cpu-quota and --cpus cannot be set together"],
      [["--device-write-bps", "/etc/passwd:1m"], "invalid --device-write-bps /etc/passwd: not a block device"],
      [["--pids-limit", "ten"], 'invalid --pids-limit "ten"'],
    ] as const) {
      const r = await rl(["run", "--rm", ...args, ALPINE, "touch", "/ran"], { env: t.env });
      expect(r.stderr).toStartWith(`rl: ${says}`);
      expect(r.code).toBe(125);
    }
    expect((await rl(["ps", "-a", "-q"], { env: t.env })).stdout).toBe("");
  });
});

// stats, update and pause work on a container's own cgroup: here no container has one (hybrid cgroups, or
// a host with delegation and a container started without a limit), and each says why in one line.
describe.skipIf(Boolean(reason))("stats, update and pause of a container without a cgroup of its own", () => {
  const t = makeEnv();
  let run: ReturnType<typeof Bun.spawn> | undefined;
  beforeAll(async () => {
    run = Bun.spawn([RL_BIN, "run", "--name", "plain", "--network", "none", ALPINE, "sleep", "600"], { env: t.env, stdout: "ignore", stderr: "pipe" });
    await until("plain to run", async () => (await rl(["inspect", "-f", "{{.State.Status}}", "plain"], { env: t.env })).stdout === "running\n");
  });
  afterAll(async () => {
    await rl(["rm", "-f", "plain", "exited"], { env: t.env });
    await run?.exited;
    await t.cleanup();
  });
  const why = () => {
    const info = cgroupInfo(process.getuid!());
    return info.ok ? "it was started without a resource limit" : info.reason!;
  };
  const oneLine = (r: { code: number; stdout: string; stderr: string }, start: string) => {
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringContaining(start)]);
    expect(r.stderr).toStartWith(`rl: ${start}`);
    expect(r.stdout).toBe("");
    expect(r.code).toBe(125);
  };

  test("each refuses it with 125, saying it has no cgroup and why", async () => {
    for (const [args, start] of [
      [["stats", "--no-stream", "plain"], "cannot show the stats of container plain: it has no cgroup of its own: "],
      [["pause", "plain"], "cannot pause container plain: it has no cgroup of its own, so no cgroup v2 freezer: "],
      [["unpause", "plain"], "cannot unpause container plain: it has no cgroup of its own, so no cgroup v2 freezer: "],
      [["update", "--pids-limit", "10", "plain"], "cannot update container plain: it has no cgroup of its own: "],
    ] as const) {
      const r = await rl([...args], { env: t.env });
      oneLine(r, start);
      expect(r.stderr).toContain(why());
    }
    // The container runs on, untouched.
    expect((await rl(["inspect", "-f", "{{.State.Status}} {{.State.Paused}} {{.HostConfig.PidsLimit}}", "plain"], { env: t.env })).stdout).toBe("running false 0\n");
  });

  test("rl stats without names says the same of this host where no container can have a cgroup", async () => {
    const info = cgroupInfo(process.getuid!());
    const r = await rl(["stats", "--no-stream"], { env: t.env });
    if (info.ok) {
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET IO +BLOCK IO +PIDS +CPU TIME +AVG CPU %\n[0-9a-f]{12} +plain +-- /);
      return;
    }
    oneLine(r, "cannot show container stats: containers get no cgroup of their own here: ");
    expect(r.stderr).toContain(info.reason!);
  });

  test("no such container, not running, bad values, no flag: one line, 125, nothing changed", async () => {
    expect((await rl(["run", "--name", "exited", "--network", "none", ALPINE, "true"], { env: t.env })).code).toBe(0);
    for (const [args, start] of [
      [["stats", "--no-stream", "nosuch"], "no such container: nosuch"],
      [["pause", "nosuch", "plain"], "no such container: nosuch"],
      [["unpause", "nosuch"], "no such container: nosuch"],
      [["update", "--memory", "64m", "nosuch"], "no such container: nosuch"],
      [["stats", "--no-stream", "exited"], "cannot show the stats of container exited: it is not running"],
      [["pause", "exited"], "cannot pause container exited: it is not running"],
      [["update", "--cpus", "1", "exited"], "cannot update container exited: it is not running"],
      [["update", "--memory", "12q", "plain"], 'invalid size "12q" for --memory'],
      [["update", "--cpus", "1", "--cpu-quota", "5000", "plain"], "--cpu-quota and --cpus cannot be set together"],
      [["update", "--pids-limit", "ten", "plain"], 'invalid --pids-limit "ten"'],
      [["update", "plain"], "rl update needs a resource flag"],
      [["stats", "-a", "plain"], "--all and container names cannot be used together"],
      [["stats", "--interval", "0", "plain"], 'invalid value "0" for --interval: use a number of seconds above 0'],
    ] as const) {
      oneLine(await rl([...args], { env: t.env }), start);
    }
    expect((await rl(["inspect", "-f", "{{.State.Status}} {{.HostConfig.Memory}}", "plain"], { env: t.env })).stdout).toBe("running 0\n");
  });
});

// Real enforcement, in the guest of ../shared/tools/cgroup-vm (cgroup v2 delegated to its user tester).
// One boot runs every check; the tests read its KEY=VALUE lines. CI (CI=true) builds the guest first
// (.ci/run): there a missing guest is a failure, not a skip.
const vmMissing = reason ?? cgroupVmMissing();
if (vmMissing && process.env.CI === "true" && !reason) {
  test("the cgroup VM is available", () => {
    throw new Error(vmMissing);
  });
}

const GUEST_SCRIPT = String.raw`
IMG=${GUEST_ALPINE}
CG=$RL_CGVM_CGROUP
count_rl() { ls "$CG" | grep -c '^rl-'; }
echo "uid=$(id -u)"
echo "subuid=$(grep "^$(id -un):" /etc/subuid)"
echo "info_controllers=$(rl info | sed -n 's/^ *controllers: *//p')"
echo "info_limits=$(rl info | sed -n 's/^ *cgroup limits: *//p')"

# What the container sees of cgroups.
rl run --rm --network none --memory 64m --pids-limit 50 --cpus 0.5 "$IMG" sh -c '
  echo "ns_cgroup=$(cat /proc/self/cgroup)"
  echo "ns_memory_max=$(cat /sys/fs/cgroup/memory.max)"
  echo "ns_swap_max=$(cat /sys/fs/cgroup/memory.swap.max)"
  echo "ns_pids_max=$(cat /sys/fs/cgroup/pids.max)"
  echo "ns_cpu_max=$(cat /sys/fs/cgroup/cpu.max)"
  echo "ns_children=$(find /sys/fs/cgroup -mindepth 1 -type d | wc -l)"
  echo "ns_mount=$(grep " /sys/fs/cgroup " /proc/self/mounts | tail -n1 | cut -d" " -f3,4 | cut -d, -f1)"
  mkdir /sys/fs/cgroup/sub 2>/dev/null; echo "ns_mkdir=$?"'
echo "view_rc=$?"
echo "view_left=$(count_rl)"
# With the host's network /sys is the host's, bound read-only: the container's cgroup2 goes over it.
rl run --rm --network host --pids-limit 20 "$IMG" sh -c 'echo "hostnet_cgroup=$(cat /proc/self/cgroup)"; echo "hostnet_pids_max=$(cat /sys/fs/cgroup/pids.max)"'

# The memory limit: killed by the OOM killer, 137, recorded.
# (dd's 64 MiB buffer is touched as /dev/zero fills it: the kill comes past 32 MiB)
rl run --name oom --network none --memory 32m "$IMG" dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null
echo "oom_rc=$?"
echo "oom_recorded=$(rl inspect -f '{{.State.OOMKilled}}' oom)"
echo "oom_left_exited=$(count_rl)"
rl rm oom >/dev/null
rl run --rm --network none --memory 64m "$IMG" true
echo "nooom_rc=$?"

# The pids limit: forks fail past it.
# (a failed fork ends the shell that tried it: here a subshell, whose started sleeps stay)
rl run --rm --network none --pids-limit 10 "$IMG" sh -c '
  ( for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 30 & done ) 2>/dev/null
  echo "pids_running=$(cat /sys/fs/cgroup/pids.current)"
  echo "pids_events=$(cat /sys/fs/cgroup/pids.events)"' 2>/dev/null
echo "pids_rc=$?"

# cpu.max: a busy loop with --cpus 0.5 gets half of the CPU (its usage over the wall time).
rl run --rm --network none --cpus 0.5 "$IMG" sh -c '
  stat() { grep "^$1 " /sys/fs/cgroup/cpu.stat | cut -d" " -f2; }
  u0=$(stat usage_usec); t0=$(cut -d" " -f1 /proc/uptime)
  timeout 4 sh -c "while :; do :; done"
  u1=$(stat usage_usec); t1=$(cut -d" " -f1 /proc/uptime)
  echo "cpu_usage_usec=$((u1 - u0))"
  echo "cpu_wall_csec=$(echo "$t0 $t1" | awk "{ printf \"%d\", (\$2 - \$1) * 100 }")"
  echo "cpu_throttled=$(stat nr_throttled)"'
echo "cpu_rc=$?"

# io.max on the guest's disk: 3 MiB written and synced at 1 MiB/s.
rl run --rm --network none --device-write-bps /dev/ubda:1mb "$IMG" sh -c '
  echo "io_max=$(cat /sys/fs/cgroup/io.max)"
  t0=$(cut -d" " -f1 /proc/uptime)
  dd if=/dev/zero of=/big bs=64k count=48 conv=fsync 2>/dev/null
  t1=$(cut -d" " -f1 /proc/uptime)
  echo "io_wall_csec=$(echo "$t0 $t1" | awk "{ printf \"%d\", (\$2 - \$1) * 100 }")"
  echo "io_wbytes=$(sed -n "s/.*wbytes=\([0-9]*\).*/\1/p" /sys/fs/cgroup/io.stat | head -n1)"'
echo "io_rc=$?"

# A killed rl: the next rl's sweep removes the cgroup its container left.
${GUEST_REPO}/helpers/build/rl run --name stale --network none --memory 64m "$IMG" sleep 60 &
RL=$!
for i in $(seq 1 100); do [ "$(count_rl)" = 1 ] && break; sleep 0.1; done
echo "stale_made=$(count_rl)"
kill -9 $RL; wait $RL 2>/dev/null
rl ps -a >/dev/null
echo "stale_left=$(count_rl)"
rl rm stale >/dev/null
`;

describe.skipIf(Boolean(vmMissing))("cgroup v2 limits enforced in the guest", () => {
  let kv: Record<string, string> = {};
  let out = "";
  beforeAll(async () => {
    const r = await inGuest(GUEST_SCRIPT);
    out = `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
    kv = keyValues(r.stdout);
  }, 600_000);
  const got = (k: string) => {
    if (!(k in kv)) throw new Error(`no ${k}= in the guest's output:\n${out}`);
    return kv[k]!;
  };

  test("rl runs as the guest's unprivileged user with subordinate ids; info shows the controllers", () => {
    expect(got("uid")).toBe("1000");
    expect(got("subuid")).toBe("tester:100000:65536");
    expect(got("info_controllers").split(" ").sort()).toEqual(["cpu", "io", "memory", "pids"]);
    expect(got("info_limits")).toStartWith("ok");
  });

  test("the container sees / as its cgroup and only its own subtree, read-only, with the limits asked", () => {
    expect(got("ns_cgroup")).toBe("0::/");
    expect(got("ns_memory_max")).toBe(String(64 * 1024 * 1024));
    expect(got("ns_swap_max")).toBe(String(64 * 1024 * 1024));
    expect(got("ns_pids_max")).toBe("50");
    expect(got("ns_cpu_max")).toBe("50000 100000");
    expect(got("ns_children")).toBe("0");
    expect(got("ns_mount")).toBe("cgroup2 ro");
    expect(got("ns_mkdir")).not.toBe("0");
    expect(got("view_rc")).toBe("0");
    expect(got("hostnet_cgroup")).toBe("0::/");
    expect(got("hostnet_pids_max")).toBe("20");
  });

  test("--rm removes the container's cgroup", () => {
    expect(got("view_left")).toBe("0");
  });

  test("a container over its memory limit is OOM-killed: 137, inspect says OOMKilled, cgroup gone at exit", () => {
    expect(got("oom_rc")).toBe("137");
    expect(got("oom_recorded")).toBe("true");
    expect(got("oom_left_exited")).toBe("0");
    expect(got("nooom_rc")).toBe("0");
  });

  test("--pids-limit 10 stops forks", () => {
    expect(Number(got("pids_running"))).toBeLessThanOrEqual(10);
    expect(got("pids_events")).toMatch(/^max [1-9]/);
    expect(got("pids_rc")).toBe("0");
  });

  test("--cpus 0.5 throttles a busy loop to half a CPU", () => {
    const ratio = Number(got("cpu_usage_usec")) / (Number(got("cpu_wall_csec")) * 10_000);
    expect(ratio).toBeGreaterThanOrEqual(0.4);
    expect(ratio).toBeLessThanOrEqual(0.6);
    expect(Number(got("cpu_throttled"))).toBeGreaterThan(0);
  });

  test("--device-write-bps sets io.max on the disk's MAJ:MIN and slows writes to it", () => {
    expect(got("io_max")).toBe("98:0 rbps=max wbps=1048576 riops=max wiops=max");
    expect(Number(got("io_wbytes"))).toBeGreaterThanOrEqual(3 * 1024 * 1024);
    // 3 MiB at 1 MiB/s: a lower bound only (a loaded machine makes it slower, never faster).
    expect(Number(got("io_wall_csec"))).toBeGreaterThanOrEqual(150);
    expect(got("io_rc")).toBe("0");
  });

  test("the cgroup of a container whose rl was killed is removed by the next rl's sweep", () => {
    expect(got("stale_made")).toBe("1");
    expect(got("stale_left")).toBe("0");
  });
});
