import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ptr } from "bun:ffi";
import { lazyC } from "../../cli/lib/sys/compile-c";
import { closeFd } from "../../cli/lib/sys/executor";
import { MONITOR_WORDS } from "../../cli/lib/sys/monitor";
import { ATTACH, ATTACH_MAX_IN } from "../../cli/lib/runtime/attach-client";

const source = readFileSync(join(import.meta.dir, "../../helpers/monitor.c"), "utf8");

/** The `#define PREFIX_NAME NUMBER` lines of helpers/monitor.c, by NAME. */
function defines(prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of source.matchAll(new RegExp(`^#define ${prefix}_([A-Z_]+) (\\d+)`, "gm"))) out[m[1]!] = Number(m[2]);
  return out;
}

test("the monitor's request words: rl sends them in the order of monitor.c's MON_* numbers", () => {
  const c = defines("MON");
  delete c.MAX_WORDS;
  delete c.MAX_FDS;
  delete c.GO;
  delete c.GO_CLIENT;
  expect(Object.fromEntries(MONITOR_WORDS.map((w, i) => [w, i]))).toEqual(c);
});

test("the attach socket's frame kinds and largest client frame are monitor.c's", () => {
  const c = defines("ATTACH");
  const max = c.MAX_IN;
  delete c.MAX_IN;
  expect(ATTACH).toEqual(c as typeof ATTACH);
  expect(ATTACH_MAX_IN).toBe(max!);
});

test("the commit refuses more descriptors than one message carries instead of handing over some", () => {
  const c = defines("MON");
  const lib = lazyC("monitor.c", {
    rl_monitor_socketpair: { args: ["ptr"], returns: "i32" },
    rl_monitor_commit: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
  })();
  const commit = (n: number): number => {
    const pair = new Int32Array(2);
    expect(lib.rl_monitor_socketpair(ptr(pair))).toBe(0);
    const fds = new Int32Array(Math.max(n, 1)).fill(pair[1]!);
    try {
      return lib.rl_monitor_commit(pair[0]!, ptr(fds), n, -1);
    } finally {
      closeFd(pair[1]!);
    }
  };
  expect(commit(c.MAX_FDS! - 1)).toBe(0);
  expect(commit(c.MAX_FDS!)).toBe(-7); // E2BIG
});
