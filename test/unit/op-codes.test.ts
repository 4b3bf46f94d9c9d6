import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CODES } from "../../cli/lib/sys/ops";
import { START } from "../../cli/lib/sys/executor";

/** The op enum of helpers/executor.c: OP_MOUNT = 1, then one more per name. */
function executorOps(): Map<string, number> {
  const src = readFileSync(join(import.meta.dir, "../../helpers/executor.c"), "utf8");
  const body = /enum\s*{\s*(OP_MOUNT\s*=\s*1[\s\S]*?)};/.exec(src)?.[1];
  if (!body) throw new Error("no op enum in helpers/executor.c");
  const names = body.replace(/\/\*[\s\S]*?\*\//g, "").split(",").map((n) => n.replace(/=.*/, "").trim()).filter(Boolean);
  return new Map(names.map((n, i) => [n, i + 1]));
}

test("every op code of the TS planner is the executor's for the same op, and none is missing on either side", () => {
  const c = executorOps();
  // camelCase "readonlyIn" is OP_READONLY_IN; "dropCaps" is OP_DROP_CAPS.
  const cName = (ts: string) => `OP_${ts.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}`;
  const renamed: Record<string, string> = { remountReadOnlyIn: "OP_REMOUNT_RO_IN", sysfsIn: "OP_SYSFS_IN", loopbackUp: "OP_LOOPBACK_UP", spawnWait: "OP_SPAWN_WAIT" };
  const fromTs = Object.entries(CODES).map(([ts, code]) => [renamed[ts] ?? cName(ts), code] as const);
  expect(Object.fromEntries(fromTs)).toEqual(Object.fromEntries(c));
});

test("every start status of the TS side is the executor's START_ define of the same name, and none is missing on either side", () => {
  const src = readFileSync(join(import.meta.dir, "../../helpers/executor.c"), "utf8");
  const c = Object.fromEntries([...src.matchAll(/^#define START_([A-Z_]+) \((-?\d+)\)/gm)].map((m) => [m[1]!, Number(m[2])]));
  // releaseFailed is START_RELEASE_FAILED.
  const fromTs = Object.fromEntries(Object.entries(START).map(([ts, v]) => [ts.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(), v as number]));
  expect(Object.keys(c).length).toBeGreaterThan(0);
  expect(fromTs).toEqual(c);
  // They cannot be mistaken for an op's index.
  expect(Object.values(START).every((v) => v < 0)).toBe(true);
});
