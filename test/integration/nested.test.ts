import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeEnv, skipReason } from "./harness";
import { IN_ALPINE, NESTED_IMAGE_TAR, OUTER_HOSTNAME, OuterPodman } from "./nested-harness";

// rl inside a container (a CI job, a devcontainer): rootless podman with runc runs the Debian image of
// .ci/nested-image (uidmap, fuse-overlayfs, slirp4netns, user tester with tester:100000:65536) and rl
// runs in it as tester. Each row is one outer setting from issue 19 and what rl does there.

const reason = skipReason() ?? (existsSync(NESTED_IMAGE_TAR) ? undefined : `no outer image at ${NESTED_IMAGE_TAR}: run .ci/nested-image as root (.ci/run does)`);
if (reason) console.warn(`skipping nested tests: ${reason}`);

const UNMASK = ["--security-opt", "unmask=/proc/*"];
const NO_SECCOMP = ["--security-opt", "seccomp=unconfined"];
/** The container's own view: a file written on its root, its hostname, its id map. */
const PROBE = `rl run --rm --network none ${IN_ALPINE} sh -c 'echo x > /y && cat /y && hostname && cat /proc/self/uid_map'`;
const lines = (s: string) => s.trim().split("\n").filter(Boolean);
const mapLines = (s: string) => lines(s).slice(2).map((l) => l.trim().split(/\s+/).join(" "));
const warnings = (stderr: string) => lines(stderr).filter((l) => l.startsWith("rl: warning: "));

describe.skipIf(Boolean(reason))("rl inside rootless podman", () => {
  const t = makeEnv();
  let outer: OuterPodman;
  let podmanStyleIds = "", noIds = "";

  beforeAll(() => {
    outer = new OuterPodman(join(t.root, "podman"));
    outer.importImage();
    mkdirSync(join(t.root, "ids"));
    // Ranges as podman's own images list them, around the user's uid, inside what the outer podman maps.
    podmanStyleIds = join(t.root, "ids/podman-style");
    writeFileSync(podmanStyleIds, "tester:1:999\ntester:1001:64535\n", { mode: 0o644 });
    noIds = join(t.root, "ids/none");
    writeFileSync(noIds, "", { mode: 0o644 });
  }, 120_000);
  afterAll(async () => {
    outer?.stopPause();
    await t.cleanup();
  }, 120_000);

  const ids = (file: string) => ["-v", `${file}:/etc/subuid:ro`, "-v", `${file}:/etc/subgid:ro`];

  test("podman defaults: rl info shows the ids here; the range is not there, so single-id with one warning; the masked /proc is one line naming the flags", async () => {
    const info = await outer.run([], "rl info");
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^ {2}subuid: +100000:65536$/m);
    expect(info.stdout).toMatch(/^ {2}ids here: +uids 0-65536; gids 0-65536 \(rl runs in a user namespace: a container\?\)$/m);
    expect(info.stdout).toMatch(/^ {2}id mapping: +partial: no subordinate ids for this user exist in the user namespace rl runs in .*\/etc\/subuid lists 100000-165535, only 0-65536 exist here/m);
    expect(info.stdout).toMatch(/^ {2}uid map: +0 1000 1$/m);
    const r = await outer.run([], PROBE);
    expect(r.code).toBe(125);
    expect(warnings(r.stderr)).toHaveLength(2);
    expect(r.stderr).toMatch(/^rl: warning: no subordinate ids for this user exist in the user namespace rl runs in/m);
    expect(r.stderr).not.toContain("newuidmap");
    const errors = lines(r.stderr).filter((l) => !l.startsWith("rl: warning: "));
    expect(errors).toEqual([
      "rl: cannot mount proc on /proc in the container: Operation not permitted (EPERM): the container rl runs in masks paths under /proc, " +
        "so the kernel refuses a new proc: run that container with --security-opt unmask=/proc/* (podman) or --security-opt systempaths=unconfined (docker)",
    ]);
  }, 120_000);

  test("podman defaults, no subordinate ids: the same warning as on a host, the same one line for /proc", async () => {
    const r = await outer.run(ids(noIds), PROBE);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/^rl: warning: no subordinate ids for this user in \/etc\/subuid and \/etc\/subgid: only the user's own id is mapped/m);
    expect(lines(r.stderr).at(-1)).toMatch(/^rl: cannot mount proc on \/proc in the container: .*--security-opt unmask=\/proc\/\* \(podman\)/);
  }, 120_000);

  test("--security-opt unmask=/proc/*: runs; podman's seccomp refuses sethostname, so the outer hostname is kept with one warning", async () => {
    const r = await outer.run(UNMASK, PROBE);
    expect(r.stderr).toMatch(/^rl: warning: cannot set the container's hostname to [0-9a-f]{12}: the seccomp filter of the container rl runs in refuses sethostname .*--security-opt seccomp=unconfined; it keeps the hostname outer-box$/m);
    expect(warnings(r.stderr)).toHaveLength(2);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).slice(0, 2)).toEqual(["x", OUTER_HOSTNAME]);
    expect(mapLines(r.stdout)).toEqual(["0 1000 1"]);
  }, 120_000);

  test("--security-opt unmask=/proc/*, a hostname asked for: refused in one line naming the flag, never dropped; no /dev/net/tun: said so", async () => {
    const r = await outer.run(UNMASK, `rl run --rm --network none --hostname asked ${IN_ALPINE} hostname; echo "exit $?"; rl run --rm ${IN_ALPINE} true; echo "exit $?"`);
    expect(lines(r.stdout)).toEqual(["exit 125", "exit 125"]);
    expect(lines(r.stderr).filter((l) => !l.startsWith("rl: warning: "))).toEqual([
      "rl: cannot set the hostname to asked: Operation not permitted (EPERM): the seccomp filter of the container rl runs in refuses sethostname " +
        "(podman's default profile allows it only with CAP_SYS_ADMIN): run that container with --security-opt seccomp=unconfined",
      // And the default network there: podman gives a container no /dev/net/tun unless asked.
      expect.stringMatching(/^rl: cannot start slirp4netns: .*\(there is no \/dev\/net\/tun: if rl runs in a container, run that container with --device \/dev\/net\/tun, or use --network none or host\)$/),
    ]);
  }, 120_000);

  test("--security-opt unmask=/proc/* --security-opt seccomp=unconfined: runs with rl's hostname, single-id (the issue's last row)", async () => {
    const r = await outer.run([...UNMASK, ...NO_SECCOMP], PROBE);
    expect(r.code).toBe(0);
    expect(warnings(r.stderr)).toEqual([expect.stringMatching(/^rl: warning: no subordinate ids for this user exist/)]);
    const [x, host] = lines(r.stdout);
    expect(x).toBe("x");
    expect(host).toMatch(/^[0-9a-f]{12}$/);
  }, 120_000);

  test("ranges that exist (1:999, 1001:64535), setuid newuidmap, no CAP_SYS_ADMIN: single-id with one warning saying why, not newuidmap's EPERM", async () => {
    const r = await outer.run([...UNMASK, ...NO_SECCOMP, ...ids(podmanStyleIds)], PROBE);
    expect(r.code).toBe(0);
    expect(warnings(r.stderr)).toEqual([expect.stringContaining("rl: warning: newuidmap and newgidmap are setuid root and the container rl runs in has no CAP_SYS_ADMIN")]);
    expect(mapLines(r.stdout)).toEqual(["0 1000 1"]);
  }, 120_000);

  test("ranges that exist, --cap-add SYS_ADMIN: both ranges mapped after the user, hostname set", async () => {
    const r = await outer.run([...UNMASK, "--cap-add", "SYS_ADMIN", ...ids(podmanStyleIds)], PROBE);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(lines(r.stdout)[1]).toMatch(/^[0-9a-f]{12}$/);
    expect(mapLines(r.stdout)).toEqual(["0 1000 1", "1 1001 64535", "64536 1 999"]);
  }, 120_000);

  test("ranges that exist, newuidmap with file capabilities (as podman's images): full mapping, echo x > /y on overlay, fuse-overlayfs and vfs", async () => {
    // As root of the outer container, then tester: what an image's Containerfile would do.
    const script = [
      "chmod u-s /usr/bin/newuidmap /usr/bin/newgidmap",
      "setcap cap_setuid+ep /usr/bin/newuidmap && setcap cap_setgid+ep /usr/bin/newgidmap",
      `exec setpriv --reuid 1000 --regid 1000 --init-groups env HOME=/home/tester sh -c '${[
        "set -e",
        "bun /rl/repo/cli/main.ts info | grep -E \"^  (id mapping|uid map):\"",
        ...["overlay", "fuse-overlayfs", "vfs"].map((d) => `bun /rl/repo/cli/main.ts run --rm --network none --storage-driver ${d} ${IN_ALPINE} sh -c "echo x > /y && cat /y && stat -c %g /etc/shadow && cat /proc/self/uid_map | wc -l"`),
      ].join("\n")}'`,
    ].join("\n");
    const r = await outer.run([...UNMASK, ...NO_SECCOMP, "--device", "/dev/fuse", ...ids(podmanStyleIds)], script, "0");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual([
      expect.stringMatching(/^ *id mapping: +ok \(container ids 0-65534\)$/),
      expect.stringMatching(/^ *uid map: +0 1000 1, 1 1001 64535, 64536 1 999$/),
      // Group 42 (shadow) of /etc/shadow exists: a single-id mapping gives it to root (0).
      ...Array(3).fill(["x", "42", "3"]).flat(),
    ]);
  }, 180_000);
});
