/** What the user sees while blobs move: redrawn lines on a terminal, plain lines otherwise, nothing with -q. */
export type ProgressMode = "tty" | "plain" | "quiet";

export type ItemState = "waiting" | "copying" | "done" | "exists" | "mounted" | "failed";

/** The speed shown is over this last stretch of time, not the average since the start. */
const WINDOW_MS = 3000;
const SAMPLE_MS = 100;
/** Less than this much time measured gives no speed yet. */
const MIN_SPAN_MS = 250;
const BAR_MIN = 10;
const BAR_MAX = 40;

export function mib(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)}MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)}KiB` : `${Math.round(n)}B`;
}

function rate(bytesPerSec: number): string {
  const [v, unit] = bytesPerSec >= 1 << 20 ? [bytesPerSec / (1 << 20), "MiB"] : bytesPerSec >= 1024 ? [bytesPerSec / 1024, "KiB"] : [bytesPerSec, "B"];
  return `${unit === "B" ? Math.round(v) : v.toFixed(1)} ${unit}/s`;
}

/** Bytes of one blob as they move, sampled so that the speed is that of the last few seconds. */
export class Meter {
  done = 0;
  private samples: { t: number; done: number }[];

  constructor(private readonly clock: () => number = Date.now) {
    this.samples = [{ t: clock(), done: 0 }];
  }

  add(n: number): void {
    this.done += n;
    const now = this.clock();
    if (now - this.samples[this.samples.length - 1]!.t >= SAMPLE_MS) this.samples.push({ t: now, done: this.done });
    while (this.samples.length > 1 && this.samples[0]!.t < now - WINDOW_MS) this.samples.shift();
  }

  /** Bytes per second over the last WINDOW_MS; 0 when nothing came in that time; undefined too early to tell. */
  speed(now = this.clock()): number | undefined {
    const base = this.samples.find((s) => s.t >= now - WINDOW_MS);
    if (!base) return 0;
    const span = now - base.t;
    return span < MIN_SPAN_MS ? undefined : ((this.done - base.done) * 1000) / span;
  }
}

/** A `[=====>-----]` bar `width` wide (brackets included). */
export function drawBar(done: number, total: number, width: number): string {
  const inner = width - 2;
  const filled = total > 0 ? Math.min(inner, Math.floor((inner * done) / total)) : 0;
  if (filled >= inner) return `[${"=".repeat(inner)}]`;
  return `[${"=".repeat(filled)}>${"-".repeat(inner - filled - 1)}]`;
}

/** Cut a line so that it fits a terminal `columns` wide without wrapping (which would spoil the redraw). */
function fit(line: string, columns: number): string {
  return line.length < columns ? line : line.slice(0, Math.max(columns - 1, 0));
}

/**
 * One terminal line for a blob, as podman and docker draw them:
 * `Copying blob d6b744460580 [=========>----------] 56.7MiB / 109.1MiB | 271.5 MiB/s`, then `... done`.
 */
export function renderItem(i: { label: string; total: number; state: ItemState; meter: Meter }, now: number, columns: number): string {
  const head = `Copying blob ${i.label}`;
  const done = i.meter.done;
  if (i.state === "exists") return fit(`${head} skipped: already exists`, columns);
  if (i.state === "mounted") return fit(`${head} mounted from another repository`, columns);
  if (i.state === "done") return fit(`${head} done ${mib(i.total)}`, columns);
  if (i.state === "failed") return fit(`${head} failed at ${mib(done)} / ${mib(i.total)}`, columns);
  const speed = i.state === "copying" ? i.meter.speed(now) : undefined;
  const bytes = ` ${mib(done)} / ${mib(i.total)}`;
  // Narrower terminals lose the speed first, then the bar.
  const tails = speed === undefined ? [bytes] : [`${bytes} | ${rate(speed)}`, bytes];
  for (const tail of tails) {
    const room = columns - 1 - head.length - 1 - tail.length;
    if (room >= BAR_MIN) return `${head} ${drawBar(done, i.total, Math.min(room, BAR_MAX))}${tail}`;
  }
  return fit(`${head}${bytes}`, columns);
}

interface Item {
  label: string;
  total: number;
  state: ItemState;
  meter: Meter;
}

/** How a blob hidden from a full block is counted in its last line, in this order. */
const SUMMARY: [string, ItemState[]][] = [["copying", ["copying"]], ["waiting", ["waiting"]], ["failed", ["failed"]], ["done", ["done", "exists", "mounted"]]];
/** Which blobs a full block shows first: the moving ones, failed ones, waiting ones, then finished ones. */
const RANK: Record<ItemState, number> = { copying: 0, failed: 1, waiting: 2, done: 3, exists: 3, mounted: 3 };
const FINISHED = RANK.done;

/**
 * The lines of the redrawn block on a terminal `rows` high and `columns` wide. It is never taller than
 * rows - 1 (a taller block scrolls, and moving the cursor up no longer reaches its top): when the blobs do
 * not fit, those shown are picked by RANK and kept in their order, and one last line counts the rest:
 * `+ 7 more blobs: 1 waiting, 6 done`.
 */
export function renderBlock(items: readonly Item[], now: number, rows: number, columns: number): string[] {
  const height = Math.max(rows - 1, 1);
  if (items.length <= height) return items.map((i) => renderItem(i, now, columns));
  // Within a rank: the earliest unfinished (a bar stays put until it is done), the latest finished.
  const order = items
    .map((item, index) => ({ item, index, rank: RANK[item.state] }))
    .sort((a, b) => a.rank - b.rank || (a.rank === FINISHED ? b.index - a.index : a.index - b.index));
  const shown = order.slice(0, height - 1).sort((a, b) => a.index - b.index);
  const hidden = order.slice(height - 1).map((o) => o.item.state);
  const counts = SUMMARY.map(([word, states]) => [hidden.filter((s) => states.includes(s)).length, word] as const).filter(([n]) => n > 0);
  const what = counts.map(([n, word]) => `${n} ${word}`).join(", ");
  const summary = shown.length ? `+ ${hidden.length} more blobs: ${what}` : `${hidden.length} blobs: ${what}`;
  return [...shown.map((o) => renderItem(o.item, now, columns)), fit(summary, columns)];
}

export function progressMode(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  return quiet ? "quiet" : stream.isTTY ? "tty" : "plain";
}

export class Progress {
  private items: Item[] = [];
  private drawn = 0;
  private timer?: ReturnType<typeof setInterval>;
  private stopped = false;

  constructor(
    private readonly mode: ProgressMode,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Print a plain message line (kept above the redrawn block on a terminal). */
  line(text: string): void {
    if (this.mode === "quiet") return;
    this.clear();
    this.out.write(`${text}\n`);
    this.draw();
  }

  add(label: string, total: number): { bytes(n: number): void; finish(state: "done" | "exists" | "mounted" | "failed"): void } {
    const item: Item = { label, total, state: "waiting", meter: new Meter(this.clock) };
    this.items.push(item);
    if (this.mode === "tty" && !this.timer) this.timer = setInterval(() => this.redraw(), 200);
    return {
      bytes: (n) => {
        item.meter.add(n);
        if (item.state !== "waiting") return;
        item.state = "copying";
        this.redraw(); // the bar shows as soon as its first bytes move
      },
      finish: (state) => {
        item.state = state;
        const word = { exists: "Blob exists", mounted: "Mounted blob", failed: "Failed blob", done: "Copied blob" }[state];
        if (this.mode === "plain") this.out.write(`${word} ${label} (${mib(item.total)})\n`);
        this.redraw();
      },
    };
  }

  /** Draw the final state once; later lines go below it. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    this.redraw();
    this.stopped = true;
    this.drawn = 0;
  }

  private clear(): void {
    if (this.mode !== "tty" || !this.drawn) return;
    this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (this.mode !== "tty" || this.stopped) return;
    const lines = renderBlock(this.items, this.clock(), this.out.rows || 24, this.out.columns || 80);
    this.out.write(lines.map((l) => `${l}\x1b[K\n`).join(""));
    this.drawn = lines.length;
  }

  private redraw(): void {
    this.clear();
    this.draw();
  }
}
