import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tarEntries } from "../../cli/lib/image/tar-entries";
import { concat, TAR_END, tarHeader, tarPadding, type TarWriteEntry } from "../../cli/lib/image/tar-writer";
import { applyChanges } from "../../cli/lib/store/import";
import { closeDb, openDb } from "../../cli/lib/store/db";
import { findImage } from "../../cli/lib/store/images";
import { spreadLayers } from "../../cli/lib/store/store-image";
import { cleanDebris } from "../../cli/lib/store/debris";
import { withLocks } from "../../cli/lib/store/locks";
import { pidStartTime } from "../../cli/lib/sys/pid-start-time";
import { formatTable, humanSize } from "../../cli/lib/format";
import { paths } from "../../cli/lib/paths";

function tempStore() {
  const root = mkdtempSync(join(tmpdir(), "rl-store-unit-"));
  return { p: paths({ RL_ROOT: root, HOME: root }), done: () => rmSync(root, { recursive: true, force: true }) };
}

async function readBack(entries: [TarWriteEntry, Uint8Array?][]) {
  const parts: Uint8Array[] = [];
  for (const [e, data] of entries) {
    parts.push(tarHeader(e));
    if (data) parts.push(data, tarPadding(data.length));
  }
  parts.push(TAR_END);
  const out = [];
  for await (const e of tarEntries((async function* () { yield concat(parts); })())) {
    const chunks: Uint8Array[] = [];
    for await (const c of e.body) chunks.push(c.slice());
    out.push({ path: e.path, type: e.type, uid: e.uid, gid: e.gid, mode: e.mode, linkpath: e.linkpath, body: new TextDecoder().decode(concat(chunks)) });
  }
  return out;
}

describe("tar writer", () => {
  test("entries read back as written, long names and big ids through pax", async () => {
    const long = `${"d".repeat(120)}/${"f".repeat(150)}`;
    const body = new TextEncoder().encode("hello");
    const got = await readBack([
      [{ path: "etc", type: "dir", mode: 0o755 }],
      [{ path: "etc/alpine-release", type: "file", size: 5, mode: 0o644, uid: 0, gid: 42 }, body],
      [{ path: long, type: "file", size: 5, uid: 3_000_000, gid: 7 }, body],
      [{ path: "bin/sh", type: "symlink", linkpath: `/${"x".repeat(130)}` }],
      [{ path: "bin/hard", type: "hardlink", linkpath: "etc/alpine-release" }],
    ]);
    expect(got).toEqual([
      { path: "etc", type: "dir", uid: 0, gid: 0, mode: 0o755, linkpath: "", body: "" },
      { path: "etc/alpine-release", type: "file", uid: 0, gid: 42, mode: 0o644, linkpath: "", body: "hello" },
      { path: long, type: "file", uid: 3_000_000, gid: 7, mode: 0o644, linkpath: "", body: "hello" },
      { path: "bin/sh", type: "symlink", uid: 0, gid: 0, mode: 0o644, linkpath: `/${"x".repeat(130)}`, body: "" },
      { path: "bin/hard", type: "hardlink", uid: 0, gid: 0, mode: 0o644, linkpath: "etc/alpine-release", body: "" },
    ]);
  });

  test("GNU tar reads what it writes", () => {
    const dir = mkdtempSync(join(tmpdir(), "rl-tarw-"));
    const long = `${"a".repeat(110)}/name.txt`;
    const file = join(dir, "x.tar");
    const data = new TextEncoder().encode("content\n");
    writeFileSync(file, concat([tarHeader({ path: long, type: "file", size: data.length }), data, tarPadding(data.length), TAR_END]));
    const r = Bun.spawnSync(["tar", "-xOf", file, long]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.toString()).toBe("content\n");
    rmSync(dir, { recursive: true });
  });
});

describe("import --change", () => {
  test.each([
    [['CMD ["/bin/cat", "/etc/os-release"]'], { Cmd: ["/bin/cat", "/etc/os-release"] }],
    [["CMD=echo hi"], { Cmd: ["/bin/sh", "-c", "echo hi"] }],
    [['ENTRYPOINT ["/init"]', "WORKDIR /app", "USER 1000:1000"], { Entrypoint: ["/init"], WorkingDir: "/app", User: "1000:1000" }],
    [["ENV A=1", "ENV B 2", "ENV A=3"], { Env: ["B=2", "A=3"] }],
    [["LABEL version=\"1.0\"", "EXPOSE 80"], { Labels: { version: "1.0" }, ExposedPorts: { "80/tcp": {} } }],
  ])("%p", (changes, want) => {
    expect(applyChanges({}, changes as string[])).toEqual(want as object);
  });

  test("unknown or malformed instructions are refused", () => {
    expect(() => applyChanges({}, ["RUN make"])).toThrow("RUN is not supported");
    expect(() => applyChanges({}, ["nonsense"])).toThrow("invalid --change");
  });
});

describe("image lookup", () => {
  test("an id prefix two images share is ambiguous; a longer one finds one", () => {
    const { p, done } = tempStore();
    try {
      const d = openDb(p.db);
      const cfg = JSON.stringify({ rootfs: { type: "layers", diff_ids: [] } });
      for (const id of ["abc1", "abc2"]) {
        d.query("INSERT INTO images (id, config, layers, created) VALUES (?, ?, '[]', 0)").run(`sha256:${id}${"0".repeat(60)}`, cfg);
      }
      d.query("INSERT INTO image_names (name, image_id) VALUES (?, ?)").run("docker.io/library/alpine:latest", `sha256:abc1${"0".repeat(60)}`);
      expect(() => findImage(d, "abc")).toThrow("abc matches 2 images: use more of the id");
      expect(findImage(d, "abc2")?.id).toBe(`sha256:abc2${"0".repeat(60)}`);
      expect(findImage(d, "alpine")?.names).toEqual(["docker.io/library/alpine:latest"]);
      expect(findImage(d, "ab")).toBeUndefined();
      expect(findImage(d, "busybox")).toBeUndefined();
    } finally {
      closeDb();
      done();
    }
  });
});

describe("store housekeeping", () => {
  test("cleanDebris removes the temp files of dead rl processes only", async () => {
    const { p, done } = tempStore();
    try {
      mkdirSync(p.tmp, { recursive: true });
      let dead = 4_000_000;
      while (existsSync(`/proc/${dead}`)) dead--;
      writeFileSync(join(p.tmp, `blob-${dead}-x`), "partial");
      mkdirSync(join(p.tmp, `unpack-${dead}-y`, "layer"), { recursive: true });
      writeFileSync(join(p.tmp, `blob-${process.ppid}-z`), "a live process's");
      // Names with the owner's start time: a live pid with another start time is a reused pid.
      const start = pidStartTime(process.ppid)!;
      writeFileSync(join(p.tmp, `blob-${process.ppid}.${start}-w`), "a live process's");
      writeFileSync(join(p.tmp, `blob-${process.ppid}.${Number(start) + 1}-v`), "a dead process's, its pid reused");
      await cleanDebris(openDb(p.db), p);
      expect(existsSync(join(p.tmp, `blob-${dead}-x`))).toBe(false);
      expect(existsSync(join(p.tmp, `unpack-${dead}-y`))).toBe(false);
      expect(existsSync(join(p.tmp, `blob-${process.ppid}-z`))).toBe(true);
      expect(existsSync(join(p.tmp, `blob-${process.ppid}.${start}-w`))).toBe(true);
      expect(existsSync(join(p.tmp, `blob-${process.ppid}.${Number(start) + 1}-v`))).toBe(false);
    } finally {
      closeDb();
      done();
    }
  });

  test("an exclusive lock keeps a second holder out until it is released", async () => {
    const { p, done } = tempStore();
    try {
      const events: string[] = [];
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const first = withLocks(p, [{ name: "store", exclusive: true }], async () => {
        events.push("first in");
        await held;
        events.push("first out");
      });
      await Bun.sleep(0);
      const second = withLocks(p, [{ name: "store", exclusive: false }], async () => void events.push("second in"));
      for (let i = 0; i < 5; i++) await Bun.sleep(1);
      expect(events).toEqual(["first in"]);
      release();
      await Promise.all([first, second]);
      expect(events).toEqual(["first in", "first out", "second in"]);
    } finally {
      done();
    }
  });
});

describe("output formats", () => {
  test("sizes as podman prints them", () => {
    expect([0, 999, 1000, 8_089_600, 12_800, 1_234_567_890].map(humanSize)).toEqual(["0 B", "999 B", "1 kB", "8.09 MB", "12.8 kB", "1.23 GB"]);
  });
  test("tables align columns two spaces apart", () => {
    expect(formatTable([["A", "BB", "C"], ["xxx", "y", "z"]])).toBe("A    BB  C\nxxx  y   z");
  });
});

describe("spreading layers over unpack workers", () => {
  test.each([
    [[10, 1, 1, 1], 2, [[0], [1, 2, 3]]],
    [[5, 5, 5, 5], 2, [[0, 2], [1, 3]]],
    [[7], 4, [[0]]],
    [[3, 9, 4], 1, [[0, 1, 2]]],
  ])("%p over %p workers", (sizes, workers, want) => {
    expect(spreadLayers(sizes as number[], workers as number)).toEqual(want as number[][]);
  });
});

