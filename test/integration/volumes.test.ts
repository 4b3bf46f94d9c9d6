import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { ALPINE, FIXTURES, makeEnv, rl, RL_BIN, skipReason, until } from "./harness";
import { busyboxLayer, ociLayout, sha256, tar, type TarSpec } from "./hostile-inputs";

const reason = skipReason();
if (reason) console.log(`skipping volume integration tests: ${reason}`);

/** busybox plus a layer of `entries` (or a layer for each list, bottom first), with the config's Volumes set to `volumes`. */
function imageWithVolumes(dir: string, entries: TarSpec[] | TarSpec[][], volumes: string[]): string {
  const base = busyboxLayer(FIXTURES);
  const layers = (Array.isArray(entries[0]) ? (entries as TarSpec[][]) : [entries as TarSpec[]]).map((e) => tar(e));
  const configText = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Cmd: ["/bin/true"], Volumes: Object.fromEntries(volumes.map((v) => [v, {}])) },
    rootfs: { type: "layers", diff_ids: [base.diffId, ...layers.map((l) => sha256(l))] },
  });
  return ociLayout(dir, { layers: [base, ...layers.map((l) => ({ tar: l }))], configText });
}

describe.skipIf(Boolean(reason))("rl volume", () => {
  const t = makeEnv();
  afterAll(() => t.cleanup());
  const run = (args: string[]) => rl(args, { env: t.env });
  const names = async () => (await run(["volume", "ls", "-q"])).stdout.split("\n").filter(Boolean);
  const sh = (args: string[], script: string) => run(["run", "--rm", "--network", "none", ...args, ALPINE, "sh", "-c", script]);

  test("create, ls, inspect, exists, rm, prune, as podman spells them", async () => {
    expect(await run(["volume", "create", "--label", "app=db", "--label", "tier=1", "data1"])).toEqual({ code: 0, stdout: "data1\n", stderr: "" });
    const anon = await run(["volume", "create"]);
    expect(anon.code).toBe(0);
    expect(anon.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    const anonName = anon.stdout.trim();
    expect(await names()).toEqual([anonName, "data1"].sort());
    expect((await run(["volume", "ls"])).stdout).toBe(`DRIVER  VOLUME NAME\n${[anonName, "data1"].sort().map((n) => `local   ${n}\n`).join("")}`);
    expect((await run(["volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}} {{.Mountpoint}}", "--filter", "name=data"])).stdout).toBe(
      `data1 local map[app:db tier:1] local ${t.env.RL_ROOT}/volumes/data1/_data\n`,
    );
    expect((await run(["volume", "ls", "-q", "--filter", "label=app=db"])).stdout).toBe("data1\n");
    expect((await run(["volume", "ls", "-q", "--filter", "label=app=web"])).stdout).toBe("");
    expect((await run(["volume", "ls", "-q", "--filter", "dangling=true", "--filter", "name=^data"])).stdout).toBe("data1\n");
    const [info] = JSON.parse((await run(["volume", "inspect", "data1"])).stdout);
    expect(info).toEqual({ Name: "data1", Driver: "local", Mountpoint: `${t.env.RL_ROOT}/volumes/data1/_data`, CreatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), Labels: { app: "db", tier: "1" }, Scope: "local", Options: {} });
    expect(await run(["volume", "inspect", "-f", "{{.Name}} {{index .Labels \"app\"}} {{.Scope}}", "data1"])).toEqual({ code: 0, stdout: "data1 db local\n", stderr: "" });
    expect(existsSync(info.Mountpoint)).toBe(true);
    expect((await run(["volume", "exists", "data1"])).code).toBe(0);
    expect((await run(["volume", "exists", "nope"])).code).toBe(1);
    expect(await run(["volume", "rm", anonName])).toEqual({ code: 0, stdout: `${anonName}\n`, stderr: "" });
    expect(await run(["volume", "prune", "-f"])).toEqual({ code: 0, stdout: "data1\n", stderr: "" });
    expect(existsSync(info.Mountpoint)).toBe(false);
    expect(await names()).toEqual([]);
  }, 120_000);

  test("bad input: one line, podman's exit codes, nothing created", async () => {
    expect(await run(["volume", "create", "bad/name"])).toEqual({ code: 125, stdout: "", stderr: 'rl: invalid volume name "bad/name": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*\n' });
    expect(await run(["volume", "create", "--opt", "type=tmpfs", "v"])).toMatchObject({ code: 125, stderr: 'rl: invalid volume option "type" for driver "local": rl knows nocopy, uid, gid, o\n' });
    expect(await run(["volume", "create", "-o", "o=size=1m", "v"])).toMatchObject({ code: 125, stderr: expect.stringContaining("of the mount options it knows only nocopy") });
    expect(await run(["volume", "create", "twice"])).toMatchObject({ code: 0 });
    expect(await run(["volume", "create", "twice"])).toEqual({ code: 125, stdout: "", stderr: "rl: volume with name twice already exists: volume already exists\n" });
    expect(await run(["volume", "rm", "nope"])).toEqual({ code: 1, stdout: "", stderr: 'rl: no volume with name "nope" found: no such volume\n' });
    expect(await run(["volume", "rm", "-f", "nope"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await run(["volume", "inspect", "nope"])).toMatchObject({ code: 125, stdout: "", stderr: 'rl: no volume with name "nope" found: no such volume\n' });
    expect(await run(["volume", "ls", "--filter", "driver=local"])).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: .*unknown key "driver" \(keys: name, label, dangling\)\n$/) });
    // A run refused after its volume was created leaves neither the volume nor the container.
    const r = await sh(["--user", "nosuchuser", "-v", "fresh:/data"], "true");
    expect(r.code).toBe(125);
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(await run(["run", "--rm", "-v", "bad/x:/data", ALPINE, "true"])).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: invalid volume "bad\/x:\/data": .*\n$/) });
    expect(await names()).toEqual(["twice"]);
    expect((await run(["ps", "-a", "-q"])).stdout).toBe("");
    expect((await run(["volume", "rm", "twice"])).code).toBe(0);
  }, 120_000);

  test("-v NAME: created on first use, filled from the image with its owners, not refilled, kept across containers", async () => {
    const image = await sh([], "cd /etc && find . | sort | xargs stat -c '%n %u %g %a' && cat shadow | head -1");
    expect(image.code).toBe(0);
    const vol = await sh(["-v", "etcv:/etc"], "cd /etc && find . | sort | xargs stat -c '%n %u %g %a' && cat shadow | head -1");
    expect(vol).toEqual(image);
    expect(vol.stdout).toContain("./shadow 0 42 640\n");
    // The host sees the image's owners through the user's mapping: root is the user, 42 a subordinate id.
    expect(readdirSync(join(t.env.RL_ROOT!, "volumes/etcv/_data"))).toContain("alpine-release");
    // Used again, it keeps what the last container left: nothing of the image comes back.
    expect((await sh(["-v", "etcv:/etc"], "rm /etc/alpine-release && echo kept > /etc/mine")).code).toBe(0);
    expect(await sh(["-v", "etcv:/etc:z"], "cat /etc/mine; ls /etc/alpine-release 2>&1")).toMatchObject({ stdout: "kept\nls: /etc/alpine-release: No such file or directory\n" });
    // A volume mounted where the image has nothing starts empty; read-only with :ro.
    expect(await sh(["-v", "empty:/nothing/here"], "ls -A /nothing/here; echo x > /nothing/here/f && cat /nothing/here/f")).toEqual({ code: 0, stdout: "x\n", stderr: "" });
    expect(await sh(["-v", "empty:/d:ro"], "cat /d/f; echo y > /d/g")).toMatchObject({ code: 1, stdout: "x\n", stderr: expect.stringContaining("Read-only file system") });
    // :U gives the volume's files to the container's user.
    expect(await sh(["--user", "1000:1001", "-v", "empty:/d:U"], "stat -c '%u %g' /d /d/f && echo z > /d/g && cat /d/g")).toEqual({ code: 0, stdout: "1000 1001\n1000 1001\nz\n", stderr: "" });
    expect((await run(["volume", "rm", "etcv", "empty"])).code).toBe(0);
  }, 120_000);

  test("copy-up as podman's: until the image had content at its path; never with nocopy; uid= and gid= own it", async () => {
    // Mounted where the image has nothing, it stays empty and is filled at a later use where it has something.
    expect(await sh(["-v", "later:/nothing"], "ls -A /nothing")).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await sh(["-v", "later:/media"], "ls -A /media")).toEqual({ code: 0, stdout: "cdrom\nfloppy\nusb\n", stderr: "" });
    expect(await sh(["-v", "later:/etc/apk"], "ls -A /etc/apk")).toEqual({ code: 0, stdout: "cdrom\nfloppy\nusb\n", stderr: "" });
    // Made beforehand, it is filled at its first use; with nocopy (podman's -o o=nocopy too), never.
    for (const args of [["pre"], ["--opt", "nocopy", "nc1"], ["-o", "o=nocopy", "nc2"], ["--opt", "uid=1000", "--opt", "gid=1001", "owned"]]) expect((await run(["volume", "create", ...args])).code).toBe(0);
    expect(await sh(["-v", "pre:/media", "-v", "nc1:/etc/apk", "-v", "nc2:/etc/ssl", "-v", "owned:/o"], "ls -A /media /etc/apk /etc/ssl; stat -c '%u %g' /o")).toEqual({
      code: 0,
      stdout: "/etc/apk:\n\n/etc/ssl:\n\n/media:\ncdrom\nfloppy\nusb\n1000 1001\n",
      stderr: "",
    });
    expect(JSON.parse((await run(["volume", "inspect", "nc2"])).stdout)[0].Options).toEqual({ o: "nocopy" });
    expect((await run(["volume", "rm", "later", "pre", "nc1", "nc2", "owned"])).code).toBe(0);
  }, 120_000);

  test("rm is refused while a container uses the volume; -f removes that container; rm -v and system df", async () => {
    expect((await run(["run", "--name", "user1", "--network", "none", "-v", "busy:/data", ALPINE, "sh", "-c", "head -c 100000 /dev/zero > /data/blob"])).code).toBe(0);
    const df = (await run(["system", "df", "--format", "{{.Type}} {{.Total}} {{.Active}} {{.Size}}"])).stdout;
    expect(df).toMatch(/^Local Volumes 1 1 1\d\d(\.\d+)? kB$/m);
    const id = (await run(["ps", "-a", "-q", "--no-trunc", "--filter", "volume=busy"])).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await run(["ps", "-a", "-q", "--filter", "volume=/data"])).stdout.trim()).toBe(id.slice(0, 12));
    expect((await run(["ps", "-a", "-q", "--filter", "volume=other"])).stdout).toBe("");
    expect((await run(["inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}} {{.RW}}{{end}}", "user1"])).stdout).toBe("volume busy /data true\n");
    const refused = await run(["volume", "rm", "busy"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^rl: volume busy is being used by the following container\(s\): [0-9a-f]{64}: volume is being used\n$/);
    expect(await run(["volume", "prune", "-f"])).toEqual({ code: 0, stdout: "", stderr: "" });
    // A named volume survives rm, even rm -v.
    expect((await run(["rm", "-v", "user1"])).code).toBe(0);
    expect(await names()).toEqual(["busy"]);
    expect(await sh(["-v", "busy:/data"], "wc -c < /data/blob")).toMatchObject({ stdout: "100000\n" });
    expect((await run(["run", "--name", "user2", "--network", "none", "-v", "busy:/data", ALPINE, "true"])).code).toBe(0);
    expect(await run(["volume", "rm", "-f", "busy"])).toEqual({ code: 0, stdout: "busy\n", stderr: "" });
    expect((await run(["ps", "-a", "-q"])).stdout).toBe("");
    expect((await run(["system", "df", "--format", "{{.Type}} {{.Total}}"])).stdout).toContain("Local Volumes 0\n");
  }, 120_000);

  test("--mount type=volume|bind|tmpfs with podman's keys", async () => {
    const host = join(t.root, "hostdir");
    mkdirSync(host, { recursive: true });
    writeFileSync(join(host, "f"), "from host\n");
    const r = await sh(
      ["--mount", "type=volume,src=mv,dst=/v", "--mount", `type=bind,source=${host},target=/b,readonly`, "--mount", "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770", "--mount", `type=bind,src=${host},dst=/p,bind-propagation=rshared`],
      "echo v > /v/x && cat /v/x /b/f /p/f; touch /b/g 2>/dev/null || echo ro; stat -c %a /t; df -k /t | tail -1 | awk '{print $2}'; grep -c ' /p .* shared:' /proc/self/mountinfo",
    );
    expect(r).toEqual({ code: 0, stdout: "v\nfrom host\nfrom host\nro\n1770\n1024\n1\n", stderr: "" });
    expect(await names()).toEqual(["mv"]);
    for (const [arg, msg] of [
      ["type=volume,src=x", "destination (dst, target) is required"],
      ["type=bind,dst=/x", "a bind needs a source"],
      ["type=nfs,dst=/x", 'type "nfs" is not bind, volume or tmpfs'],
      ["type=volume,src=x,dst=/x,color=red", 'unknown key "color"'],
      ["type=volume,src=x,dst=/x,tmpfs-size=1m", "tmpfs-size and tmpfs-mode are for type=tmpfs"],
      [`type=bind,src=${host},dst=/x,bind-propagation=sideways`, "bind-propagation is one of"],
    ]) {
      const bad = await sh(["--mount", arg!], "true");
      expect({ arg, code: bad.code, line: bad.stderr.split("\n").length }).toEqual({ arg, code: 125, line: 2 });
      expect(bad.stderr).toContain(msg!);
    }
    expect(await names()).toEqual(["mv"]);
    expect((await run(["volume", "rm", "mv"])).code).toBe(0);
  }, 120_000);

  test("--volumes-from: another container's volumes and binds, read-only with :ro", async () => {
    const host = join(t.root, "shared");
    mkdirSync(host, { recursive: true });
    writeFileSync(join(host, "h"), "host file\n");
    expect((await run(["run", "--name", "src1", "--network", "none", "-v", "vf:/data", "-v", `${host}:/host`, ALPINE, "sh", "-c", "echo one > /data/a"])).code).toBe(0);
    expect(await sh(["--volumes-from", "src1"], "cat /data/a /host/h && echo two > /data/b && cat /data/b")).toEqual({ code: 0, stdout: "one\nhost file\ntwo\n", stderr: "" });
    expect(await sh(["--volumes-from", "src1:ro"], "cat /data/b; touch /data/c")).toMatchObject({ code: 1, stdout: "two\n", stderr: expect.stringContaining("Read-only file system") });
    expect(await sh(["--volumes-from", "nosuch"], "true")).toMatchObject({ code: 125, stderr: "rl: cannot use the volumes of container nosuch: no such container\n" });
    expect((await run(["rm", "src1"])).code).toBe(0);
    expect((await run(["volume", "rm", "vf"])).code).toBe(0);
  }, 120_000);

  test("anonymous volumes for the image's VOLUME: filled, removed by rm -v and --rm, kept by rm", async () => {
    const image = imageWithVolumes(join(t.root, "anon"), [{ name: "cache/", type: "dir", mode: 0o750, uid: 7, gid: 8 }, { name: "cache/seed", body: "seeded\n", uid: 7, gid: 8 }], ["/cache"]);
    expect(await run(["run", "--rm", "--network", "none", image, "sh", "-c", "cat /cache/seed; stat -c '%u %g %a' /cache /cache/seed"])).toEqual({ code: 0, stdout: "seeded\n7 8 750\n7 8 644\n", stderr: "" });
    expect(await names()).toEqual([]);
    expect((await run(["run", "--name", "a1", "--network", "none", image, "true"])).code).toBe(0);
    const [anon] = await names();
    expect(anon).toMatch(/^[0-9a-f]{64}$/);
    expect((await run(["rm", "-v", "a1"])).code).toBe(0);
    expect(await names()).toEqual([]);
    expect((await run(["run", "--name", "a2", "--network", "none", image, "true"])).code).toBe(0);
    expect((await run(["rm", "a2"])).code).toBe(0);
    expect(await names()).toHaveLength(1);
    // A -v onto the same path replaces the anonymous volume.
    expect(await run(["run", "--rm", "--network", "none", "-v", "named:/cache", image, "cat", "/cache/seed"])).toEqual({ code: 0, stdout: "seeded\n", stderr: "" });
    expect((await run(["volume", "prune", "-f"])).stdout.split("\n").filter(Boolean)).toHaveLength(2);
    // An image's VOLUME is checked as -v is: nothing is created for one onto /proc.
    for (const [path, msg] of [["/proc/sys", "is inside /proc"], ["relative", "is not an absolute path"]]) {
      const bad = imageWithVolumes(join(t.root, `bad-${path!.replaceAll("/", "")}`), [], [path!]);
      expect(await run(["run", "--rm", "--network", "none", bad, "true"])).toMatchObject({ code: 125, stderr: expect.stringContaining(msg!) });
    }
    expect(await names()).toEqual([]);
    expect((await run(["ps", "-a", "-q"])).stdout).toBe("");
  }, 120_000);

  test("a hostile image's volume path that is, or goes through, a symlink to a host directory: the image's content where the mount lands, nothing of the host", async () => {
    const secret = join(t.root, "secret");
    mkdirSync(secret, { recursive: true });
    writeFileSync(join(secret, "password"), "host secret\n");
    // The links point at the host's directory; the image has a directory of the same path with a file of
    // its own: that is where they lead inside the container (the mount resolves in the container's root).
    const parents = secret.split("/").filter(Boolean).map((_, i, all) => ({ name: `${all.slice(0, i + 1).join("/")}/`, type: "dir" as const, mode: 0o755 }));
    const image = imageWithVolumes(
      join(t.root, "hostile"),
      [
        ...parents,
        { name: `${secret.slice(1)}/image-file`, body: "the image's\n" },
        { name: "data", type: "symlink", link: secret },
        { name: "up", type: "symlink", link: t.root },
        { name: "rel", type: "symlink", link: `../../../../../../../../..${secret}` },
        { name: "d/", type: "dir" },
        { name: "d/dotdot", type: "symlink", link: `..${secret}` },
      ],
      ["/data"],
    );
    const cases: [string[], string][] = [
      [["-v", "h1:/data"], "/data"],
      [["-v", "h2:/up/secret"], "/up/secret"],
      [["-v", "h3:/rel"], "/rel"],
      [["-v", "h4:/d/dotdot"], "/d/dotdot"],
      [["-v", `h5:/d/../../../..${secret}`], secret],
      [[], "/data"], // the image's own VOLUME, an anonymous volume
    ];
    for (const [args, where] of cases) {
      const r = await run(["run", "--rm", "--network", "none", ...args, image, "sh", "-c", `ls -A ${where}; cat ${where}/image-file`]);
      expect({ args, r }).toEqual({ args, r: { code: 0, stdout: "image-file\nthe image's\n", stderr: "" } });
    }
    for (const n of ["h1", "h2", "h3", "h4", "h5"]) expect({ n, files: readdirSync(join(t.env.RL_ROOT!, "volumes", n, "_data")) }).toEqual({ n, files: ["image-file"] });
    // Nothing was written on the host, where the links point.
    expect(readdirSync(secret)).toEqual(["password"]);
    expect((await run(["volume", "rm", "h1", "h2", "h3", "h4", "h5"])).code).toBe(0);
  }, 120_000);

  test("the copy is of what the image shows at the path: upper layers win, whiteouts and opaque directories hide, owners, modes and hard links kept", async () => {
    const image = imageWithVolumes(
      join(t.root, "overlaid"),
      [
        [
          { name: "srv/", type: "dir" },
          { name: "srv/keep", body: "kept\n", mode: 0o640, uid: 7, gid: 8 },
          { name: "srv/gone", body: "whited out\n" },
          { name: "srv/olddir/", type: "dir" },
          { name: "srv/olddir/f", body: "whited out\n" },
          { name: "srv/opq/", type: "dir" },
          { name: "srv/opq/old", body: "hidden by the opaque directory\n" },
          { name: "srv/opq/olddir/", type: "dir" },
          { name: "srv/hard1", body: "one inode\n", uid: 9, gid: 9 },
          { name: "srv/hard2", type: "hardlink", link: "srv/hard1" },
          { name: "srv/over", body: "lower\n" },
          { name: "wdir/", type: "dir" },
          { name: "wdir/sub/", type: "dir" },
          { name: "wdir/sub/f", body: "whited out\n" },
        ],
        [
          { name: "srv/", type: "dir", mode: 0o750, uid: 3, gid: 4 },
          { name: "srv/.wh.gone", body: "" },
          { name: "srv/.wh.olddir", body: "" },
          { name: "srv/opq/", type: "dir", mode: 0o711 },
          { name: "srv/opq/.wh..wh..opq", body: "" },
          { name: "srv/opq/new", body: "only this\n", uid: 5, gid: 6 },
          { name: "srv/suid", body: "#!/bin/sh\n", mode: 0o4755 },
          { name: "srv/link", type: "symlink", link: "keep" },
          { name: "srv/over", body: "upper\n", mode: 0o600 },
          { name: ".wh.wdir", body: "" },
        ],
      ],
      [],
    );
    // (A merged directory of overlay shows 1 link, a real one 2 and more: links only of the files.)
    const listing = "cd /srv && find . | sort | xargs stat -c '%n %u %g %a %F' && stat -c '%n %h' hard1 hard2 && cat over keep opq/new";
    const plain = await run(["run", "--rm", "--network", "none", image, "sh", "-c", listing]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toStartWith(". 3 4 750 directory\n");
    expect(plain.stdout).toContain("./opq/new 5 6 644 regular file\n");
    expect(plain.stdout).toContain("./hard1 9 9 644 regular file\n");
    expect(plain.stdout).toContain("hard1 2\nhard2 2\n");
    expect(plain.stdout).not.toContain("gone");
    const vol = await run(["run", "--rm", "--network", "none", "-v", "ov:/srv", image, "sh", "-c", listing]);
    expect(vol).toEqual(plain);
    // A path through a whiteout or below an opaque directory has nothing of the image: the volume starts empty.
    for (const [n, path] of [["w1", "/wdir/sub"], ["w2", "/srv/olddir"], ["w3", "/srv/opq/olddir"]]) {
      expect({ path, r: await run(["run", "--rm", "--network", "none", "-v", `${n}:${path}`, image, "ls", "-A", path!]) }).toEqual({ path, r: { code: 0, stdout: "", stderr: "" } });
    }
    expect((await run(["volume", "rm", "ov", "w1", "w2", "w3"])).code).toBe(0);
  }, 120_000);

  test.skipIf(!Bun.which("gcc"))("a running container that races the fill with symlinks to a host directory in the volume gets nothing written there", async () => {
    // Container A uses five volumes not filled yet (mounted where the image has nothing) and, in a loop,
    // puts a symlink to a host directory where the fill will write the image's /etc/apk/keys, and takes it
    // away again: the volume looks empty to the fill's check half of the time, and has the link the other.
    const target = join(t.root, "race-target");
    mkdirSync(target);
    const src = join(t.root, "race.c");
    writeFileSync(
      src,
      `#include <stdio.h>
#include <unistd.h>
int main(void) {
  const char *links[] = { "/v1/keys", "/v2/keys", "/v3/keys", "/v4/keys", "/v5/keys" };
  puts("ready"); fflush(stdout);
  for (long i = 0; i < 2000000000L; i++) { symlink("${target}", links[i % 5]); unlink(links[(i + 4) % 5]); }
  return 0;
}
`,
    );
    const bin = join(t.root, "race");
    expect(Bun.spawnSync(["gcc", "-O2", "-static", "-o", bin, src], { stderr: "pipe" }).stderr.toString()).toBe("");
    const vols = ["r1", "r2", "r3", "r4", "r5"];
    const p = Bun.spawn([RL_BIN, "run", "--name", "racer", "--network", "none", "-v", `${bin}:/race:ro`, ...vols.flatMap((v, i) => ["-v", `${v}:/v${i + 1}`]), ALPINE, "/race"], { env: t.env, stdout: "pipe", stderr: "pipe" });
    try {
      const reader = (p.stdout as ReadableStream<Uint8Array>).getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
      for (const v of vols) {
        const data = join(t.env.RL_ROOT!, "volumes", v, "_data");
        // Run until the fill found the volume empty and copied /etc/apk into it (A never makes "world").
        // Each try finds the volume empty ~4 times in 5 (A's link is in one of the five at a time); on a
        // loaded machine A can sit descheduled with this one's link in place: many tries, then what it saw.
        await until(`${v} filled`, async () => {
          const r = await sh(["-v", `${v}:/etc/apk`], "true");
          expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
          return existsSync(join(data, "world"));
        }, 300).catch(async (err) => {
          // What the fill kept finding, for the next one to read (CI saw this give up once).
          const seen = existsSync(data) ? readdirSync(data).join(" ") : "(no data dir)";
          throw new Error(`${(err as Error).message}: the volume holds [${seen}], the racer ${p.exitCode === null ? "runs" : `ended (${p.exitCode})`}, ${(await run(["volume", "inspect", v])).stdout.replace(/\s+/g, " ")}`);
        });
      }
      expect(readdirSync(target)).toEqual([]);
    } finally {
      p.kill("SIGKILL");
      await p.exited;
      await run(["rm", "-f", "racer"]);
      // Whatever happened, the volumes go: the tests after this one count the store's volumes.
      await run(["volume", "rm", "-f", ...vols]);
    }
    expect(readdirSync(target)).toEqual([]);
  }, 120_000);

  test(":U never follows a link a container left in the volume: the user's own files keep their owner", async () => {
    const mine = join(t.root, "mine");
    mkdirSync(join(mine, "sub"), { recursive: true });
    writeFileSync(join(mine, "sub/file"), "the user's\n");
    const owner = () => [mine, join(mine, "sub"), join(mine, "sub/file")].map((f) => statSync(f).uid);
    const before = owner();
    expect(before).toEqual([process.getuid!(), process.getuid!(), process.getuid!()]);
    expect((await sh(["-v", "trap:/t"], `ln -s ${mine} /t/dirlink && ln -s ${mine}/sub/file /t/filelink && mkdir /t/real && ln -s ${mine}/sub /t/real/deeper`)).code).toBe(0);
    expect(await sh(["--user", "1000:1000", "-v", "trap:/t:U"], "stat -c '%u %n' /t /t/real /t/dirlink /t/real/deeper")).toEqual({ code: 0, stdout: "1000 /t\n1000 /t/real\n1000 /t/dirlink\n1000 /t/real/deeper\n", stderr: "" });
    expect(owner()).toEqual(before);
    expect((await run(["volume", "rm", "trap"])).code).toBe(0);
  }, 120_000);

  test("rl killed while it removes a volume: the volume is gone, and the next rl removes its files", async () => {
    expect((await sh(["-v", "doomed:/etc"], "true")).code).toBe(0);
    const hook = join(t.root, "paused-volume-rm");
    const p = Bun.spawn([RL_BIN, "volume", "rm", "doomed"], { env: { ...t.env, RL_TEST_PAUSE_VOLUME_RM: hook }, stdout: "ignore", stderr: "ignore" });
    while (!existsSync(hook) && p.exitCode === null) await Bun.sleep(10);
    expect(existsSync(hook)).toBe(true);
    p.kill("SIGKILL");
    await p.exited;
    rmSync(hook, { force: true });
    const tmp = join(t.env.RL_ROOT!, "tmp");
    expect(readdirSync(tmp).filter((n) => n.startsWith("volume-"))).toHaveLength(1);
    expect(existsSync(join(t.env.RL_ROOT!, "volumes/doomed"))).toBe(false);
    expect(await names()).toEqual([]);
    expect(readdirSync(tmp).filter((n) => n.startsWith("volume-"))).toEqual([]);
    // The name is free again.
    expect((await run(["volume", "create", "doomed"])).code).toBe(0);
    expect((await run(["volume", "rm", "doomed"])).code).toBe(0);
  }, 120_000);

  test("shell completion offers the volume commands and the store's volume names", async () => {
    expect((await run(["volume", "create", "pgdata"])).code).toBe(0);
    const complete = async (words: string[]) => (await run(["__complete", ...words])).stdout.split("\n").filter(Boolean);
    expect(await complete(["volume", ""])).toEqual(["create", "ls", "inspect", "rm", "prune", "exists"]);
    expect(await complete(["volume", "rm", "pg"])).toEqual(["pgdata"]);
    expect(await complete(["volume", "inspect", "pgdata", ""])).toEqual(["pgdata"]);
    expect((await run(["volume", "rm", "pgdata"])).code).toBe(0);
  }, 120_000);

  test("an older store gains the volume tables", async () => {
    const old = makeEnv();
    try {
      mkdirSync(old.env.RL_ROOT!, { recursive: true });
      const d = new Database(join(old.env.RL_ROOT!, "rl.db"));
      d.exec("CREATE TABLE images (id TEXT PRIMARY KEY, manifest_digest TEXT, manifest BLOB, config BLOB NOT NULL, layers TEXT NOT NULL, created INTEGER NOT NULL); PRAGMA user_version = 12345;");
      d.close();
      expect(await rl(["volume", "create", "v"], { env: old.env })).toEqual({ code: 0, stdout: "v\n", stderr: "" });
      expect((await rl(["volume", "ls", "-q"], { env: old.env })).stdout).toBe("v\n");
    } finally {
      await old.cleanup();
    }
  }, 120_000);
});
