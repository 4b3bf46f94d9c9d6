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
      [["pause", "--all"], "cannot pause container plain: it has no cgroup of its own, so no cgroup v2 freezer: "],
      [["unpause", "plain"], "cannot unpause container plain: it has no cgroup of its own, so no cgroup v2 freezer: "],
      [["update", "--pids-limit", "10", "plain"], "cannot update container plain: it has no cgroup of its own: "],
    ] as const) {
      const r = await rl([...args], { env: t.env });
      oneLine(r, start);
      expect(r.stderr).toContain(why());
    }
    // Nothing is paused: unpause --all has nothing to do.
    expect(await rl(["unpause", "-a"], { env: t.env })).toMatchObject({ code: 0, stdout: "", stderr: "" });
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
      [["pause"], "pause needs at least one container, or --all"],
      [["unpause", "-a", "plain"], "unpause takes containers or --all, not both"],
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

# exec joins the container's cgroup (and its cgroup namespace): it counts towards the container's limits.
${GUEST_REPO}/helpers/build/rl run --name ex --network none --pids-limit 30 "$IMG" sleep 60 &
EX=$!
for i in $(seq 1 100); do rl ps --format '{{.Names}} {{.Status}}' | grep -q '^ex Up' && break; sleep 0.1; done
rl exec ex sh -c 'echo "exec_cgroup=$(cat /proc/self/cgroup)"; echo "exec_listed=$(grep -cx $$ /sys/fs/cgroup/cgroup.procs)"; echo "exec_pids_max=$(cat /sys/fs/cgroup/pids.max)"'
echo "exec_rc=$?"
rl rm -f ex >/dev/null; wait $EX 2>/dev/null
echo "exec_left=$(count_rl)"

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

// rl stats, update, pause and unpause on running containers with a cgroup of their own. Every rl command
// costs about a second in the guest, so there are few: each container prints "up HOSTNAME" (its short id)
// first, and the script finds its cgroup from that.
const OPS_SCRIPT = String.raw`
up() {
  for i in $(seq 1 300); do grep -q '^up ' "$1" 2>/dev/null && break; sleep 0.1; done
  echo "$CG/rl-$(sed -n 's/^up //p' "$1" | head -n1)"*
}
one_line() { tr '\n' ' ' < "$1"; }
BG=$(mktemp -d)

# Without a limit a container has no cgroup of its own: each command says so.
rl run --name plain --network none "$IMG" sh -c 'echo "up $(hostname)"; exec sleep 300' > $BG/plain &
PLAIN=$!
up $BG/plain >/dev/null
rl stats --no-stream plain >/dev/null 2>$BG/err; echo "plain_stats=$? $(one_line $BG/err)"
rl pause plain >/dev/null 2>$BG/err; echo "plain_pause=$? $(one_line $BG/err)"
rl update --pids-limit 10 plain >/dev/null 2>$BG/err; echo "plain_update=$? $(one_line $BG/err)"
rl rm -f plain >/dev/null; wait $PLAIN 2>/dev/null

# stats: a busy loop under --cpus 0.5; 20 MiB in a tmpfs under --memory 64m; four processes, and packets
# to the slirp4netns gateway (a refused connection: an ARP exchange, a SYN and a reset at least).
rl run --name hog --network none --cpus 0.5 "$IMG" sh -c 'echo "up $(hostname)"; while :; do :; done' > $BG/hog &
rl run --name mem --network none --memory 64m "$IMG" sh -c 'head -c 20m /dev/zero > /dev/shm/x; echo "up $(hostname)"; exec sleep 300' > $BG/mem &
rl run --name four --pids-limit 50 "$IMG" sh -c 'wget -q -T 3 -O /dev/null http://10.0.2.2:9/ 2>/dev/null; echo "up $(hostname)"; sleep 300 & sleep 300 & sleep 300 & wait' > $BG/four &
HOG_CG=$(up $BG/hog); MEM_CG=$(up $BG/mem); FOUR_CG=$(up $BG/four)
for i in $(seq 1 100); do [ "$(cat $FOUR_CG/pids.current)" = 4 ] && break; sleep 0.1; done
usage() { sed -n "s/^$2 //p" "$1/cpu.stat"; }
echo "hog_usage_before=$(usage $HOG_CG usage_usec)"
rl stats --no-stream --format '{{.Name}} cpu={{.CPU}} perc={{.CPUPerc}} nano={{.CPUNano}} periods={{.CPUPeriods}} throttled={{.CPUThrottledPeriods}} tusec={{.CPUThrottledUsec}} pids={{.PIDs}} mem={{.MemUsageBytes}} limit={{.MemLimit}} rx={{.NetInput}} tx={{.NetOutput}} psi={{.CPUPressure}}' hog mem four > $BG/stats
echo "stats_rc=$?"
echo "hog_usage_after=$(usage $HOG_CG usage_usec)"
echo "hog_throttled_after=$(usage $HOG_CG nr_throttled)"
echo "mem_current_after=$(cat $MEM_CG/memory.current)"
echo "four_pids_current=$(cat $FOUR_CG/pids.current)"
echo "four_net_dev=$(awk -F'[: ]+' '/:/ && $2 != "lo" { rx += $3; tx += $11 } END { print rx + 0, tx + 0 }' /proc/$(head -n1 $FOUR_CG/cgroup.procs)/net/dev)"
sed 's/^\([a-z]*\) /stats_\1=/' $BG/stats
rl rm -f hog >/dev/null
echo "stats_json=$(rl stats --no-stream -i 0.2 --format json mem | tr -d '\n')"
rl stats --no-stream -i 0.2 > $BG/stats
echo "stats_table_header=$(head -n1 $BG/stats)"
echo "stats_table_names=$(tail -n +2 $BG/stats | awk '{ print $2 }' | sort | tr '\n' ' ')"

# Streaming: a report every second, until the one named container ends.
rl run --name brief --network none --pids-limit 20 "$IMG" sh -c 'echo "up $(hostname)"; exec sleep 6' > $BG/brief &
BRIEF=$!
up $BG/brief >/dev/null
timeout 60 ${GUEST_REPO}/helpers/build/rl stats --format '{{.Name}} {{.PIDs}}' brief > $BG/stream; echo "stream_rc=$?"
echo "stream_reports=$(grep -c '^brief 1$' $BG/stream) $(wc -l < $BG/stream)"
wait $BRIEF

# update: lower the pids and memory limits of a running container, which meets them at once; then more
# limits, kept beside those (the record rl inspect shows).
mkdir $BG/upd
# (20 MiB filled by awk in user space: an OOM kill inside a read of /dev/zero can crash the UML kernel)
rl run --name upd --network none --memory 48m --pids-limit 50 -v $BG/upd:/w "$IMG" sh -c '
  fill() { awk "BEGIN { x = sprintf(\"%20971520s\", \"\"); exit (length(x) == 20971520 ? 0 : 1) }"; }
  fill; echo "upd_fill_before=$?"
  touch /w/ready
  while [ ! -e /w/go ]; do sleep 0.1; done
  echo "upd_inside=$(cat /sys/fs/cgroup/pids.max) $(cat /sys/fs/cgroup/memory.max)"
  ( for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done ) 2>/dev/null
  echo "upd_pids_running=$(cat /sys/fs/cgroup/pids.current)"
  echo "upd_pids_events=$(cat /sys/fs/cgroup/pids.events)"
  fill 2>/dev/null; echo "upd_fill_after=$?"
  echo "upd_oom_kills=$(sed -n "s/^oom_kill //p" /sys/fs/cgroup/memory.events)"
  while [ ! -e /w/end ]; do sleep 0.1; done' > $BG/upd.out 2>&1 &
UPD=$!
for i in $(seq 1 300); do [ -e $BG/upd/ready ] && break; sleep 0.1; done
OUT=$(rl update --pids-limit 5 --memory 16m upd); echo "update_out=$? $OUT"
touch $BG/upd/go
rl update --cpus 0.25 --device-write-bps /dev/ubda:2mb upd >/dev/null; echo "update_more_rc=$?"
echo "update_inspect=$(rl inspect -f '{{.Id}} {{.HostConfig.PidsLimit}} {{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpuQuota}} {{.HostConfig.CpuPeriod}} {{json .HostConfig.BlkioDeviceWriteBps}}' upd)"
UPD_CG=$(echo $CG/rl-$(rl ps -q --no-trunc --filter name=upd))
echo "update_files=$(cat $UPD_CG/pids.max) $(cat $UPD_CG/memory.max) $(cat $UPD_CG/cpu.max) $(cat $UPD_CG/io.max)"
rl update --memory-reservation 40m upd >/dev/null 2>$BG/err; echo "update_bad=$? $(one_line $BG/err)"
echo "update_many=$(rl update --pids-limit 60 mem four | wc -l) $(cat $MEM_CG/pids.max) $(cat $FOUR_CG/pids.max)"
touch $BG/upd/end
wait $UPD; echo "upd_rc=$?"
cat $BG/upd.out

# pause: a counter stops while paused and goes on after unpause.
rl run --name counter --network none --pids-limit 20 "$IMG" sh -c 'echo "up $(hostname)"; i=0; while :; do i=$((i+1)); echo $i; sleep 0.1; done' > $BG/counter &
COUNTER=$!
COUNTER_CG=$(up $BG/counter)
for i in $(seq 1 100); do [ "$(wc -l < $BG/counter)" -ge 4 ] && break; sleep 0.1; done
OUT=$(rl pause counter); echo "pause_out=$? $OUT"
echo "pause_events=$(grep frozen $COUNTER_CG/cgroup.events)"
sleep 0.5; C1=$(wc -l < $BG/counter); sleep 2; C2=$(wc -l < $BG/counter)
echo "paused_counts=$C1 $C2"
echo "paused_ps=$(rl ps -a --format '{{.Names}} {{.Status}}' | grep counter)"
echo "paused_ps_running=$(rl ps --format '{{.Names}}' | sort | tr '\n' ' ')"
echo "paused_ps_filter=$(rl ps --filter status=paused --format '{{.Names}}' | tr '\n' ' ')"
echo "paused_inspect=$(rl inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' counter)"
echo "paused_stats=$(rl stats --no-stream -i 0.2 --format '{{.Name}} {{.CPU}}' counter)"
rl pause counter >/dev/null 2>$BG/err; echo "pause_again=$? $(one_line $BG/err)"
rl unpause counter >/dev/null; echo "unpause_rc=$?"
sleep 2; echo "resumed_count=$(wc -l < $BG/counter)"
echo "resumed_inspect=$(rl inspect -f '{{.State.Status}} {{.State.Paused}} {{.State.Running}}' counter)"
rl unpause counter >/dev/null 2>$BG/err; echo "unpause_again=$? $(one_line $BG/err)"
# --all: every running container (each has a cgroup here), then every paused one.
echo "pause_all=$(rl pause -a | wc -l) $(rl ps --filter status=paused --format '{{.Names}}' | sort | tr '\n' ' ')"
echo "unpause_all=$(rl unpause --all | wc -l) $(rl ps --filter status=paused -q | wc -l) $(rl unpause -a | wc -l)"
# A paused container is still removed: killed at once.
rl pause counter >/dev/null
rl rm -f counter >/dev/null; echo "rm_paused_rc=$?"
wait $COUNTER; echo "rm_paused_run_rc=$?"
echo "rm_paused_cgroup=$([ -e $COUNTER_CG ] && echo left || echo gone)"

# With fuse-overlayfs, which serves the container's files from inside its cgroup, paused while the
# container reads files: the helper waits beside the container's cgroup (frozen with it, a read waiting
# for its answer would never freeze), and comes back at unpause.
rl run --name fuse --network none --storage-driver fuse-overlayfs --pids-limit 50 "$IMG" sh -c 'echo "up $(hostname)"; while :; do cat /etc/os-release >/dev/null; ls /usr/bin >/dev/null; done' > $BG/fuse &
FUSE=$!
FUSE_CG=$(up $BG/fuse)
FUSE_PAUSES=""
for round in 1 2 3 4; do
  rl pause fuse >/dev/null; FUSE_PAUSES="$FUSE_PAUSES $?:$(cat $FUSE_CG.helpers/cgroup.procs | wc -l)"
  rl unpause fuse >/dev/null; FUSE_PAUSES="$FUSE_PAUSES/$?:$([ -e $FUSE_CG.helpers ] && echo aside || echo back)"
done
echo "fuse_pauses=$FUSE_PAUSES"
rl pause fuse >/dev/null
rl rm -f fuse >/dev/null; echo "fuse_rm_paused=$? $(ls -d $FUSE_CG $FUSE_CG.helpers 2>/dev/null | wc -l)"
wait $FUSE

rl rm -f mem four upd brief >/dev/null
wait
echo "ops_left=$(count_rl)"
`;

describe.skipIf(Boolean(vmMissing))("cgroup v2 limits enforced in the guest", () => {
  let kv: Record<string, string> = {};
  let out = "";
  beforeAll(async () => {
    const r = await inGuest(GUEST_SCRIPT + OPS_SCRIPT);
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

  test("exec's process joins the container's cgroup and cgroup namespace", () => {
    expect(got("exec_cgroup")).toBe("0::/");
    expect(got("exec_listed")).toBe("1");
    expect(got("exec_pids_max")).toBe("30");
    expect(got("exec_rc")).toBe("0");
    expect(got("exec_left")).toBe("0");
  });

  test("the cgroup of a container whose rl was killed is removed by the next rl's sweep", () => {
    expect(got("stale_made")).toBe("1");
    expect(got("stale_left")).toBe("0");
  });

  test("a container started without a limit: stats, pause and update say it has no cgroup of its own, and why", () => {
    const why = "it has no cgroup of its own%: it was started without a resource limit";
    expect(got("plain_stats")).toStartWith(`125 rl: cannot show the stats of container plain: ${why.replace("%", "")}`);
    expect(got("plain_pause")).toStartWith(`125 rl: cannot pause container plain: ${why.replace("%", ", so no cgroup v2 freezer")}`);
    expect(got("plain_update")).toStartWith(`125 rl: cannot update container plain: ${why.replace("%", "")}`);
  });

  const stats = (name: string) => Object.fromEntries(got(`stats_${name}`).split(/ (?=[a-z]+=)/).map((kv) => kv.split("=", 2) as [string, string]));
  const mib = (text: string) => Number(/^([\d.]+)MiB$/.exec(text)![1]);

  test("stats: CPU of a busy loop under --cpus 0.5, over the interval, within what cpu.stat said before and after; throttled", () => {
    expect(got("stats_rc")).toBe("0");
    const hog = stats("hog");
    expect(Number(hog.cpu)).toBeGreaterThan(0);
    expect(Number(hog.cpu)).toBeLessThanOrEqual(100);
    expect(hog.perc).toBe(`${Number(hog.cpu).toFixed(2)}%`);
    expect(Number(hog.nano) / 1000).toBeGreaterThanOrEqual(Number(got("hog_usage_before")));
    expect(Number(hog.nano) / 1000).toBeLessThanOrEqual(Number(got("hog_usage_after")));
    expect(Number(hog.throttled)).toBeGreaterThan(0);
    expect(Number(hog.throttled)).toBeLessThanOrEqual(Number(got("hog_throttled_after")));
    expect(Number(hog.periods)).toBeGreaterThanOrEqual(Number(hog.throttled));
    expect(Number(hog.tusec)).toBeGreaterThan(0);
    // The guest's kernel has no PSI.
    expect(hog.psi).toBe("--");
  });

  test("stats: memory of 20 MiB in a tmpfs against --memory 64m; pids; network bytes of the container's own namespace", () => {
    const mem = stats("mem");
    const [usage, limit] = mem.mem!.split(" / ");
    expect(mib(usage!)).toBeGreaterThanOrEqual(20);
    expect(mib(usage!)).toBeLessThan(64);
    expect(mib(usage!) * 1024 * 1024).toBeLessThanOrEqual(Number(got("mem_current_after")) + 1024 * 1024);
    expect(limit).toBe("64MiB");
    expect(mem.limit).toBe(String(64 * 1024 * 1024));
    const four = stats("four");
    expect(four.pids).toBe("4");
    expect(four.pids).toBe(got("four_pids_current"));
    const [rx, tx] = got("four_net_dev").split(" ").map(Number);
    expect(Number(four.rx)).toBeGreaterThan(0);
    expect(Number(four.tx)).toBeGreaterThan(0);
    expect(Number(four.rx)).toBeLessThanOrEqual(rx!);
    expect(Number(four.tx)).toBeLessThanOrEqual(tx!);
    expect(stats("mem").rx).toBe("0"); // --network none: only lo, which is not counted
  });

  test("stats --format json: podman's keys, then throttling, memory.events and pressure (null without PSI)", () => {
    const [mem] = JSON.parse(got("stats_json"));
    expect(Object.keys(mem)).toEqual(["id", "name", "cpu_time", "cpu_percent", "avg_cpu", "mem_usage", "mem_percent", "net_io", "block_io", "pids", "cpu_throttling", "memory_events", "pressure"]);
    expect(mem.name).toBe("mem");
    expect(mem.id).toMatch(/^[0-9a-f]{12}$/);
    expect(mem.mem_usage).toMatch(/^2\d(\.\d+)?MB \/ 67\.11MB$/);
    expect(mem.pids).toBe("1");
    expect(mem.cpu_throttling).toEqual({ nr_periods: 0, nr_throttled: 0, throttled_usec: 0 });
    expect(mem.memory_events).toEqual({ low: 0, high: 0, max: 0, oom: 0, oom_kill: 0 });
    expect(mem.pressure).toBeNull();
  });

  test("stats: podman's table of every running container; streaming reports until the named container ends", () => {
    expect(got("stats_table_header").split(/ {2,}/)).toEqual(["ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET IO", "BLOCK IO", "PIDS", "CPU TIME", "AVG CPU %"]);
    expect(got("stats_table_names")).toBe("four mem ");
    expect(got("stream_rc")).toBe("0");
    const [reports, lines] = got("stream_reports").split(" ").map(Number);
    expect(reports).toBeGreaterThanOrEqual(2);
    expect(reports).toBe(lines!);
  });

  test("update: new pids and memory limits in the running container's cgroup, met at once; inspect shows every limit", () => {
    expect(got("upd_fill_before")).toBe("0");
    const [code, id] = got("update_out").split(" ");
    expect(code).toBe("0");
    expect(got("update_inspect")).toStartWith(`${id} `);
    expect(got("upd_inside")).toBe(`5 ${16 * 1024 * 1024}`);
    expect(Number(got("upd_pids_running"))).toBeLessThanOrEqual(5);
    expect(got("upd_pids_events")).toMatch(/^max [1-9]/);
    expect(got("upd_fill_after")).toBe("137");
    expect(got("upd_oom_kills")).toBe("1");
    expect(got("upd_rc")).toBe("0");
    // A second update adds to the record: pids and memory stay, cpu and the device rate join them.
    expect(got("update_more_rc")).toBe("0");
    expect(got("update_inspect")).toBe(`${id} 5 ${16 * 1024 * 1024} ${32 * 1024 * 1024} 250000000 25000 100000 [{"Path":"/dev/ubda","Rate":2097152}]`);
    expect(got("update_files")).toBe(`5 ${16 * 1024 * 1024} 25000 100000 98:0 rbps=max wbps=2097152 riops=max wiops=max`);
    expect(got("update_bad")).toBe("125 rl: invalid --memory-reservation 41943040: it must not be above the memory limit (16777216 bytes) ");
    expect(got("update_many")).toBe("2 60 60");
  });

  test("pause: the counter stops, ps -a says Paused, inspect paused; unpause: it counts on", () => {
    const [code, id] = got("pause_out").split(" ");
    expect(code).toBe("0");
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(got("pause_events")).toBe("frozen 1");
    const [c1, c2] = got("paused_counts").split(" ").map(Number);
    expect(c1).toBeGreaterThanOrEqual(4);
    expect(c2).toBe(c1!);
    expect(got("paused_ps")).toBe("counter Paused");
    // As podman: rl ps without -a lists the running, not the paused.
    expect(got("paused_ps_running")).toBe("four mem ");
    expect(got("paused_ps_filter")).toBe("counter ");
    expect(got("paused_inspect")).toBe("paused true false");
    expect(got("paused_stats")).toBe("counter 0"); // no CPU time while frozen
    expect(got("pause_again")).toBe("125 rl: cannot pause container counter: it is already paused ");
    expect(got("unpause_rc")).toBe("0");
    expect(Number(got("resumed_count"))).toBeGreaterThan(c2!);
    expect(got("resumed_inspect")).toBe("running false true");
    expect(got("unpause_again")).toBe("125 rl: cannot unpause container counter: it is not paused ");
    expect(got("pause_all")).toBe("3 counter four mem ");
    expect(got("unpause_all")).toBe("3 0 0");
  });

  test("pause with fuse-overlayfs: its helper waits beside the container's cgroup, so the freeze completes; back at unpause", () => {
    expect(got("fuse_pauses")).toBe(" 0:1/0:back 0:1/0:back 0:1/0:back 0:1/0:back");
    expect(got("fuse_rm_paused")).toBe("0 0");
  });

  test("rm -f of a paused container kills it at once and removes its cgroup; nothing is left", () => {
    expect(got("rm_paused_rc")).toBe("0");
    // Its rl run says it was removed, with the workload's status: killed.
    expect(got("rm_paused_run_rc")).toBe("137");
    expect(got("rm_paused_cgroup")).toBe("gone");
    expect(got("ops_left")).toBe("0");
  });
});
