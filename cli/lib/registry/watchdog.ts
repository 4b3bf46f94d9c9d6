import { seconds } from "./limits";

/**
 * Read only when the consumer asks: a chunk read ahead into the queue would be lost when the next read
 * fails (an errored stream drops its queue), and a resumed download would fetch it again.
 */
const ON_DEMAND = { highWaterMark: 0 };

/** The error a stalled request ends with: a transient failure (retried like a dropped connection). */
export class StallError extends Error {
  readonly code = "ETIMEDOUT";
}

/**
 * The idle timer of one request: armed while rl waits for the registry (for its answer, for the next
 * bytes of a body, for it to take the next bytes of an upload), disarmed while rl itself is busy. When
 * it runs out it aborts the request's signal with a StallError that says what was waited for.
 */
export class Watchdog {
  private readonly ctl = new AbortController();
  private timer?: ReturnType<typeof setTimeout>;
  /** The signal to give fetch(): aborted by the timer, or by `outer` (Ctrl-C). */
  readonly signal: AbortSignal;

  constructor(
    private readonly ms: number,
    /** Who is waited for, as error lines name it: "registry 127.0.0.1:5000". */
    private readonly server: string,
    outer?: AbortSignal,
  ) {
    this.signal = outer ? AbortSignal.any([this.ctl.signal, outer]) : this.ctl.signal;
  }

  /** Start (or restart) the clock: `waitingFor` completes "registry H sent nothing for 30s …". */
  arm(waitingFor: string): void {
    this.disarm();
    this.timer = setTimeout(() => this.ctl.abort(new StallError(`${this.server} sent nothing for ${seconds(this.ms)} ${waitingFor}`)), this.ms);
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The StallError this watchdog fired, if it did. */
  get fired(): StallError | undefined {
    const r = this.ctl.signal.reason;
    return r instanceof StallError ? r : undefined;
  }

  /**
   * `body` as a stream whose reads are watched: each wait for the next chunk may last `ms`. Cancelling
   * it (a caller that has read enough) cancels the download.
   */
  watch(body: ReadableStream<Uint8Array>, what: string): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>({
      pull: async (ctl) => {
        this.arm(`in the middle of ${what}`);
        try {
          const r = await reader.read();
          if (r.done) ctl.close();
          else ctl.enqueue(r.value);
        } catch (err) {
          throw this.fired ?? err;
        } finally {
          this.disarm();
        }
      },
      cancel: async (reason) => {
        this.disarm();
        await reader.cancel(reason).catch(() => {});
      },
    }, ON_DEMAND);
  }

  /** An upload body whose every chunk taken by the connection restarts the clock. */
  feed(body: ReadableStream<Uint8Array>, what: string): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new ReadableStream<Uint8Array>({
      pull: async (ctl) => {
        this.arm(`while taking ${what}`);
        const r = await reader.read();
        if (r.done) ctl.close();
        else ctl.enqueue(r.value);
      },
      cancel: (reason) => reader.cancel(reason),
    }, ON_DEMAND);
  }
}
