import { describe, expect, test } from "bun:test";
import { parseLogOpts } from "../../cli/lib/runtime/log-options";
import { parseRestartPolicy, restartBackoff, wantsRestart } from "../../cli/lib/runtime/restart-policy";
import { parseSignal } from "../../cli/lib/sys/signals";
import { lastLines, parseLogTime, parseRecords } from "../../cli/lib/engine/container-logs";

describe("--restart", () => {
  test("docker's spellings; a count only for on-failure", () => {
    expect(parseRestartPolicy("no")).toEqual({ name: "no", maxRetries: 0 });
    expect(parseRestartPolicy("on-failure:3")).toEqual({ name: "on-failure", maxRetries: 3 });
    expect(parseRestartPolicy("unless-stopped")).toEqual({ name: "unless-stopped", maxRetries: 0 });
    for (const bad of ["always:2", "sometimes", "on-failure:", "on-failure:-1", ""]) expect(() => parseRestartPolicy(bad)).toThrow("invalid --restart");
  });
  test("who is started again", () => {
    const always = parseRestartPolicy("always"), onFailure = parseRestartPolicy("on-failure:2");
    expect(wantsRestart(always, 0, 10, false)).toBe(true);
    expect(wantsRestart(always, 1, 0, true)).toBe(false);
    expect(wantsRestart(onFailure, 0, 0, false)).toBe(false);
    expect(wantsRestart(onFailure, 1, 1, false)).toBe(true);
    expect(wantsRestart(onFailure, 1, 2, false)).toBe(false);
    expect(wantsRestart(parseRestartPolicy("on-failure"), 1, 1000, false)).toBe(true);
    expect(wantsRestart(parseRestartPolicy("no"), 1, 0, false)).toBe(false);
    expect(wantsRestart(undefined, 1, 0, false)).toBe(false);
  });
  test("back-off: 100 ms doubled, at most a minute, back to 100 ms after a run of 10 s", () => {
    expect([0, 1, 2, 3, 20].map((step) => restartBackoff(step, 500).delayMs)).toEqual([100, 200, 400, 800, 60_000]);
    expect(restartBackoff(3, 500).next).toBe(4);
    // After a run of 10 s or more, back to 100 ms (docker's reset); just under it, on up.
    expect(restartBackoff(20, 10_000)).toEqual({ delayMs: 100, next: 1 });
    expect(restartBackoff(5, 9_999)).toEqual({ delayMs: 3_200, next: 6 });
  });
});

describe("--log-opt", () => {
  test("sizes in docker's units, files, repeated or comma-joined", () => {
    expect(parseLogOpts([])).toEqual({ maxSize: 0, maxFiles: 1 });
    expect(parseLogOpts(["max-size=10m", "max-file=3"])).toEqual({ maxSize: 10_000_000, maxFiles: 3 });
    expect(parseLogOpts(["max-size=512k,max-file=2"])).toEqual({ maxSize: 512_000, maxFiles: 2 });
    expect(parseLogOpts(["max-size=1MiB"])).toEqual({ maxSize: 1 << 20, maxFiles: 1 });
    for (const bad of ["max-size=0", "max-size=10q", "max-file=0", "max-file=x", "max-size"]) expect(() => parseLogOpts([bad])).toThrow("invalid --log-opt");
    expect(() => parseLogOpts(["tag=x"])).toThrow('unsupported --log-opt "tag"');
  });
});

describe("signals", () => {
  test("names, SIG names, numbers, real-time", () => {
    expect(["KILL", "SIGTERM", "sighup", "9", "RTMIN+3", "SIGRTMAX"].map(parseSignal)).toEqual([9, 15, 1, 9, 37, 64]);
    for (const bad of ["0", "65", "NOPE", "RTMIN+40"]) expect(() => parseSignal(bad)).toThrow("invalid signal");
  });
});

describe("k8s-file logs", () => {
  const log = new TextEncoder().encode(
    "2026-12-07T10:00:00.000000001Z stdout F one\n2026-12-07T10:00:01.000000000Z stderr P tw\n2026-12-07T10:00:01.5Z stderr F o\nnot a record\n2026-12-07T10:00:02Z stdout F three\n",
  );
  test("records: time, stream, partial, the text as bytes; what is not a record is skipped", () => {
    const r = parseRecords(log);
    expect(r.map((x) => [x.fd, x.partial, new TextDecoder().decode(x.text)])).toEqual([[1, false, "one"], [2, true, "tw"], [2, false, "o"], [1, false, "three"]]);
  });
  test("--tail counts lines, a partial record with the one that ends it", () => {
    const r = parseRecords(log);
    expect(lastLines(r, 2).map((x) => new TextDecoder().decode(x.text))).toEqual(["tw", "o", "three"]);
    expect(lastLines(r, 0)).toEqual([]);
    expect(lastLines(r, 10)).toEqual(r);
  });
  test("--since/--until: RFC 3339, Unix seconds, durations before now", () => {
    const now = Date.parse("2026-12-07T12:00:00Z");
    expect(parseLogTime("2026-12-07T10:00:00Z", now)).toBe(Date.parse("2026-12-07T10:00:00Z"));
    expect(parseLogTime("1700000000", now)).toBe(1_700_000_000_000);
    expect(parseLogTime("10m", now)).toBe(now - 600_000);
    expect(parseLogTime("1h30m", now)).toBe(now - 5_400_000);
    expect(() => parseLogTime("yesterday", now)).toThrow("invalid time");
  });
});
