#!/usr/bin/env bun
/**
 * kill -9 torture of the store: each store-writing command (pull, load, import, rmi, prune, reset, run,
 * rm) killed at random moments N times, the store checked after each (test/integration/torture.ts).
 * Run as the test user:
 *
 *   bun bench/torture.ts [N] [COMMAND...]      (N defaults to 30)
 */
import { COMMANDS, torture, type Command } from "../test/integration/torture";

const n = Number(process.argv[2]) || 30;
const commands = (process.argv.slice(3).length ? process.argv.slice(3) : COMMANDS) as Command[];
const figures = await torture({ trials: n, commands, log: (line) => console.error(line) });
console.log("command  trials  kills  consistent");
for (const f of figures) console.log(`${f.command.padEnd(8)} ${String(f.trials).padStart(6)} ${String(f.kills).padStart(6)} ${String(f.consistent).padStart(11)}`);
const total = figures.reduce((a, f) => ({ trials: a.trials + f.trials, kills: a.kills + f.kills, consistent: a.consistent + f.consistent }), { trials: 0, kills: 0, consistent: 0 });
console.log(`${"all".padEnd(8)} ${String(total.trials).padStart(6)} ${String(total.kills).padStart(6)} ${String(total.consistent).padStart(11)}`);
for (const f of figures) for (const line of f.failures) console.log(`${f.command}: ${line}`);
process.exit(total.consistent === total.trials ? 0 : 1);
