/**
 * What any Bun program that does rl's kind of work pays before doing it: Bun's start, node:fs, SQLite
 * (open the WAL database given as the argument, one write transaction) and bun:ffi (load rl's C executor),
 * then exit. bench/run-true.ts compiles it into an executable, as `bun install` compiles rl, and times it
 * as the "bun" row: the part of rl's start-up that is Bun's.
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Database } from "bun:sqlite";
import { executor } from "../cli/lib/sys/executor";

const path = process.argv[2];
if (!path) throw new Error("usage: bun bench/bun-floor.ts DB-PATH");
mkdirSync(dirname(path), { recursive: true });
const db = new Database(path, { create: true });
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = NORMAL");
db.exec("CREATE TABLE IF NOT EXISTS t (a)");
db.transaction(() => db.query("INSERT INTO t VALUES (1)").run()).immediate();
db.transaction(() => db.query("DELETE FROM t").run()).immediate();
executor();
