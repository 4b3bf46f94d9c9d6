import type { Database } from "bun:sqlite";
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, dirname } from "node:path";
import { RlError } from "../errors";
import type { Paths } from "../paths";
import { writeAll } from "../write-all";
import { parseDurationMs } from "../format";
import type { ContainerRow } from "../store/containers-table";
import { logPath } from "../store/exit-file";
import { untilRecorded } from "./container-end";
import { processRuns } from "../store/container-state";

export interface LogOptions {
  follow: boolean;
  /** Only the last N lines (of what is there when it starts). */
  tail?: number;
  /** Only records at or after / before these times (ms since the epoch). */
  since?: number;
  until?: number;
  timestamps: boolean;
}

/** One record of a k8s-file log: "TIME STREAM F|P TEXT" (P: the line goes on in the next record). */
export interface LogRecord {
  time: string;
  fd: 1 | 2;
  partial: boolean;
  text: Uint8Array;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;

/** Parse whole lines of a log (bytes, the container's output kept as it was); skip what is not a record. */
export function parseRecords(bytes: Uint8Array): LogRecord[] {
  const out: LogRecord[] = [];
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    const a = bytes.indexOf(SPACE, start), b = a < 0 ? -1 : bytes.indexOf(SPACE, a + 1), c = b < 0 ? -1 : bytes.indexOf(SPACE, b + 1);
    if (c >= 0 && c < end) {
      const stream = new TextDecoder().decode(bytes.subarray(a + 1, b));
      const tag = bytes[b + 1];
      if ((stream === "stdout" || stream === "stderr") && c === b + 2 && (tag === 0x46 || tag === 0x50)) {
        out.push({ time: new TextDecoder().decode(bytes.subarray(start, a)), fd: stream === "stdout" ? 1 : 2, partial: tag === 0x50, text: bytes.subarray(c + 1, end) });
      }
    }
    start = end + 1;
  }
  return out;
}

/** The records of the last `n` lines (a line: partial records and the full one that ends them). */
export function lastLines(records: LogRecord[], n: number): LogRecord[] {
  if (n <= 0) return [];
  let lines = 0;
  for (let i = records.length - 1; i >= 0; i--) {
    if (!records[i]!.partial || i === records.length - 1) {
      if (lines === n) return records.slice(i + 1);
      lines++;
    }
  }
  return records;
}

/** A time for --since and --until as podman takes it: RFC 3339, Unix seconds, or a duration before now (10m, 1h30m). */
export function parseLogTime(text: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const ago = parseDurationMs(text);
  if (ago !== undefined) return now - ago;
  const t = Date.parse(text);
  if (!Number.isNaN(t) && /^\d{4}-\d{2}-\d{2}/.test(text)) return t;
  throw new RlError(`invalid time ${JSON.stringify(text)}: use RFC 3339 (2026-12-07T10:00:00Z), Unix seconds, or a duration before now (10m, 1h30m)`);
}

/** Print a container's log: stdout records to rl's stdout, stderr ones to its stderr. */
export async function printLogs(d: Database, p: Paths, c: ContainerRow, o: LogOptions): Promise<void> {
  const file = logPath(p, c.id);
  // Never started (rl create): nothing written yet, as docker and podman show it.
  if (c.state === "created" && c.started === null) return;
  if (!existsSync(file)) throw new RlError(`container ${c.name} has no logs: rl keeps the output of detached containers (rl run -d) without --log-driver none`);
  let fd = openSync(file, "r");
  try {
    let lineStart = true;
    const print = (records: LogRecord[]) => {
      for (const r of records) {
        const ms = Date.parse(r.time);
        if ((o.since !== undefined && ms < o.since) || (o.until !== undefined && ms > o.until)) continue;
        if (o.timestamps && lineStart) writeAll(r.fd, new TextEncoder().encode(`${r.time} `));
        writeAll(r.fd, r.text);
        if (!r.partial) writeAll(r.fd, Uint8Array.of(NEWLINE));
        lineStart = !r.partial;
      }
    };
    let reader = tailReader(fd);
    // The records from where it read up to the end of the log, through the files rotation made meanwhile.
    const caughtUp = (): LogRecord[] => {
      const out = parseRecords(reader.read());
      while (rotatedAway(file, fd)) {
        out.push(...parseRecords(reader.read()));
        const next = openSync(file, "r");
        for (const f of rotatedBetween(file, fstatSync(fd).ino, fstatSync(next).ino)) out.push(...parseRecords(readOrEmpty(f)));
        closeSync(fd);
        fd = next;
        reader = tailReader(fd);
        out.push(...parseRecords(reader.read()));
      }
      return out;
    };
    // What --log-opt rotation moved aside (LOG.N ... LOG.1, oldest first), then the log itself.
    const first = [...rotatedBetween(file, undefined, fstatSync(fd).ino).flatMap((f) => parseRecords(readOrEmpty(f))), ...caughtUp()];
    print(o.tail === undefined ? first : lastLines(first, o.tail));
    if (!o.follow) return;
    // Until the container ends (and its monitor has written the rest), then what is left.
    for (;;) {
      const running = processRuns(c);
      print(caughtUp());
      if (!running) break;
      if (o.until !== undefined && Date.now() > o.until) break;
      await Bun.sleep(100);
    }
    // Its monitor reads the rest of the output before the end is recorded.
    await untilRecorded(d, p, c.id);
    print(caughtUp());
  } finally {
    closeSync(fd);
  }
}

/** The rotated files beside a log (LOG.1, LOG.2, ...), oldest first. */
function rotatedLogs(file: string): string[] {
  const prefix = `${basename(file)}.`;
  return readdirSync(dirname(file))
    .filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .sort((a, b) => b - a)
    .map((n) => `${file}.${n}`);
}

/**
 * The rotated files beside a log, oldest first, newer than the one whose inode is `after` (undefined, or
 * rotated out already: from the oldest) and older than the one whose inode is `before` (still the log: to
 * the newest).
 */
function rotatedBetween(file: string, after: number | undefined, before: number): string[] {
  const all = rotatedLogs(file).map((f) => ({ f, ino: inodeOf(f) }));
  const to = all.findIndex((x) => x.ino === before);
  const from = after === undefined ? 0 : all.findIndex((x) => x.ino === after) + 1;
  return all.slice(from, to < 0 ? all.length : to).map((x) => x.f);
}

function inodeOf(file: string): number | undefined {
  try {
    return statSync(file).ino;
  } catch {
    return undefined;
  }
}

/** A rotated file's bytes (one that rotation removed meanwhile has none). */
function readOrEmpty(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch {
    return new Uint8Array(0);
  }
}

/** Whether `file` is no longer the file open as `fd` (the monitor rotated it). */
function rotatedAway(file: string, fd: number): boolean {
  try {
    return statSync(file).ino !== fstatSync(fd).ino;
  } catch {
    return false;
  }
}

/** Reads a growing file: each call returns the whole lines added since the last (a record being written waits). */
function tailReader(fd: number): { read: () => Uint8Array } {
  let offset = 0;
  let pending = new Uint8Array(0);
  const buf = new Uint8Array(1 << 16);
  return {
    read() {
      const parts: Uint8Array[] = [pending];
      for (let n; (n = readSync(fd, buf, 0, buf.length, offset)) > 0; offset += n) parts.push(buf.slice(0, n));
      const all = Buffer.concat(parts);
      const end = all.lastIndexOf(NEWLINE) + 1;
      pending = all.subarray(end);
      return all.subarray(0, end);
    },
  };
}
