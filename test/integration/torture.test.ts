import { expect, test } from "bun:test";
import { skipReason } from "./harness";
import { torture } from "./torture";

// A few trials of each command here; bench/torture.ts runs as many as asked.
const TRIALS = Number(process.env.RL_TORTURE_TRIALS) || 3;

test.skipIf(Boolean(skipReason()))(`kill -9 of every store-writing command, ${TRIALS} times each: the store stays consistent and leaks nothing`, async () => {
  const figures = await torture({ trials: TRIALS });
  for (const f of figures) expect({ command: f.command, failures: f.failures }).toEqual({ command: f.command, failures: [] });
  // Most trials must kill rl midway, or the test tests nothing.
  const kills = figures.reduce((n, f) => n + f.kills, 0);
  expect(kills).toBeGreaterThan(figures.length * TRIALS * 0.5);
}, 600_000);
