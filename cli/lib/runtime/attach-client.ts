import { RlError } from "../errors";
import { writeAll } from "../write-all";
import { closeFd } from "../sys/executor";
import { detachScanner } from "./detach-keys";
import { forwardSignals } from "./signal-forwarding";

/** The frame kinds of a monitor's attach socket: helpers/monitor.c's ATTACH_* (a unit test compares them). */
export const ATTACH = { STDIN: 0, STDOUT: 1, STDERR: 2, EXIT: 3, CLOSE: 4, RESIZE: 5 } as const;
/** The largest frame the monitor takes from a client (its ATTACH_MAX_IN). */
export const ATTACH_MAX_IN = 4096;

export interface AttachOptions {
  /** The container has a pty: the user's terminal goes raw and its size follows. */
  tty: boolean;
  /** rl's stdin goes to the container (it was made with -i, and the user did not say --no-stdin). */
  stdin: boolean;
  /** Which of its outputs to show (run -a; both otherwise). */
  stdout?: boolean;
  stderr?: boolean;
  /** The bytes that detach (parseDetachKeys); empty: none. */
  detachKeys: readonly number[];
  /** The container's first process: the signals rl receives are sent on to it (docker's sig-proxy). */
  signalsTo?: number;
}

/** How an attachment ended: the container's exit code, the user's detach keys, or a monitor gone. */
export type AttachEnd = { exited: number } | { detached: true } | { lost: true };

/**
 * The error for a connection to the monitor that ended without the container's exit: the monitor drops a
 * client that reads nothing for 10 s and serves 8 at most (helpers/monitor.c), and the container runs on.
 */
export function lostAttach(name: string, runsOn: boolean): RlError {
  if (runsOn) return new RlError(`container ${name}'s monitor closed the connection (it drops a client that reads nothing for 10 s, and serves 8 at most); the container runs on: rl attach ${name} comes back`);
  return new RlError(`lost the connection to container ${name}'s monitor before it ended (rl wait ${name} prints its exit code)`);
}

function frame(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = kind;
  new DataView(out.buffer).setUint32(1, payload.length, true);
  out.set(payload, 5);
  return out;
}

/**
 * Be attached to a container through its monitor (`fd`: a connection to its attach socket): show its
 * output, send it the user's input (in raw mode on a terminal with -t, with the window size), until it
 * exits, the user types the detach keys, or the connection is lost. The connection is closed at the end.
 */
export async function attachContainer(fd: number, o: AttachOptions): Promise<AttachEnd> {
  const sink = Bun.file(fd).writer();
  let sending = Promise.resolve();
  let closed = false;
  const send = (kind: number, payload: Uint8Array) => {
    sending = sending.then(async () => {
      if (closed) return;
      try {
        sink.write(frame(kind, payload));
        await sink.flush();
      } catch {}
    });
    return sending;
  };
  let finish!: (end: AttachEnd) => void;
  const ended = new Promise<AttachEnd>((resolve) => (finish = resolve));

  const stdin = process.stdin;
  const raw = o.tty && o.stdin && Boolean(stdin.isTTY);
  const resize = () => {
    if (!process.stdout.isTTY) return;
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint16(0, process.stdout.rows, true);
    new DataView(size.buffer).setUint16(2, process.stdout.columns, true);
    void send(ATTACH.RESIZE, size);
  };
  const scan = detachScanner(o.detachKeys);
  const onInput = (data: Buffer) => {
    const { pass, detach } = scan(data);
    for (let off = 0; off < pass.length; off += ATTACH_MAX_IN) void send(ATTACH.STDIN, pass.subarray(off, off + ATTACH_MAX_IN));
    if (detach) void sending.then(() => finish({ detached: true }));
  };
  const onEnd = () => void send(ATTACH.CLOSE, new Uint8Array(0));
  if (o.tty) {
    resize();
    process.stdout.on("resize", resize);
  }
  if (o.stdin) {
    if (raw) stdin.setRawMode(true);
    stdin.on("data", onInput);
    stdin.on("end", onEnd);
    stdin.resume();
  }
  const signals = o.signalsTo ? forwardSignals() : undefined;
  if (o.signalsTo) signals!.to(o.signalsTo);

  const reading = (async () => {
    let buf = new Uint8Array(0);
    for await (const chunk of Bun.file(fd).stream()) {
      const joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
      buf = joined;
      let off = 0;
      while (buf.length - off >= 5) {
        const len = new DataView(buf.buffer, buf.byteOffset + off + 1, 4).getUint32(0, true);
        if (buf.length - off < 5 + len) break;
        const kind = buf[off]!;
        const payload = buf.subarray(off + 5, off + 5 + len);
        off += 5 + len;
        try {
          if (kind === ATTACH.STDOUT && o.stdout !== false) writeAll(1, payload);
          else if (kind === ATTACH.STDERR && o.stderr !== false) writeAll(2, payload);
        } catch {} // rl's own output closed (a pipe whose reader left): the container goes on
        if (kind === ATTACH.EXIT) return finish({ exited: Number(new TextDecoder().decode(payload)) });
      }
      buf = buf.subarray(off);
    }
    finish({ lost: true });
  })().catch(() => finish({ lost: true }));

  const end = await ended;
  closed = true;
  signals?.stop();
  process.stdout.off("resize", resize);
  if (o.stdin) {
    stdin.off("data", onInput);
    stdin.off("end", onEnd);
    if (raw) stdin.setRawMode(false);
    stdin.pause();
    stdin.unref?.();
  }
  try {
    sink.end();
  } catch {}
  closeFd(fd);
  void reading;
  return end;
}
