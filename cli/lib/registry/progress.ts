/** What the user sees while blobs move: redrawn lines on a terminal, plain lines otherwise, nothing with -q. */
export type ProgressMode = "tty" | "plain" | "quiet";

interface Item {
  label: string;
  total: number;
  done: number;
  state: "waiting" | "copying" | "done" | "exists" | "mounted" | "failed";
  started: number;
}

function mib(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)}MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)}KiB` : `${n}B`;
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
  ) {}

  /** Print a plain message line (kept above the redrawn block on a terminal). */
  line(text: string): void {
    if (this.mode === "quiet") return;
    this.clear();
    this.out.write(`${text}\n`);
    this.draw();
  }

  add(label: string, total: number): { bytes(n: number): void; finish(state: "done" | "exists" | "mounted" | "failed"): void } {
    const item: Item = { label, total, done: 0, state: "waiting", started: Date.now() };
    this.items.push(item);
    if (this.mode === "tty" && !this.timer) this.timer = setInterval(() => this.redraw(), 200);
    return {
      bytes: (n) => {
        if (item.state === "waiting") item.state = "copying";
        item.done += n;
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

  private text(i: Item): string {
    const secs = Math.max((Date.now() - i.started) / 1000, 0.001);
    if (i.state === "exists") return `Blob ${i.label} already there`;
    if (i.state === "mounted") return `Mounted ${i.label} from another repository`;
    if (i.state === "done") return `Copied ${i.label} ${mib(i.total)} done`;
    if (i.state === "failed") return `Failed ${i.label} at ${mib(i.done)}`;
    const pct = i.total ? Math.floor((100 * i.done) / i.total) : 0;
    return `Copying ${i.label} ${mib(i.done)} / ${mib(i.total)} (${pct}%) ${mib(i.done / secs)}/s`;
  }

  private clear(): void {
    if (this.mode !== "tty" || !this.drawn) return;
    this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (this.mode !== "tty" || this.stopped) return;
    for (const i of this.items) this.out.write(`${this.text(i)}\x1b[K\n`);
    this.drawn = this.items.length;
  }

  private redraw(): void {
    this.clear();
    this.draw();
  }
}
