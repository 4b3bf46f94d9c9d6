import { isatty } from "node:tty";
import { writeAll } from "../write-all";
import { closeFd } from "../sys/executor";
import type { AttachStreams } from "./attach-streams";

/**
 * Which of the container's fds 0-2 get a pipe relayed by rl instead of rl's own (bit i for fd i).
 * Without -t the container must never hold the user's terminal: with a descriptor of it, it could
 * reopen it through /proc/self/fd or push input into the user's shell (TIOCSTI). So a fd of rl's that
 * is a terminal becomes a pipe, as podman's conmon gives; files and pipes are passed as they are.
 * stdin counts only with -i (otherwise the container gets /dev/null).
 */
export function stdioPipes(o: { tty: boolean; interactive: boolean; streams?: AttachStreams }): number {
  if (o.tty) return 0;
  // run -a: an output not attached is a pipe too, read and discarded.
  const out = (fd: 1 | 2, attached = true) => (isatty(fd) || !attached ? 1 << fd : 0);
  return (o.interactive && isatty(0) ? 1 : 0) | out(1, o.streams?.stdout) | out(2, o.streams?.stderr);
}

// Bun's own readers and writers (non-blocking, on its event loop), not fs.read/fs.write: those take a
// thread of a small pool each, and two outputs blocked in reads starve the input's writes.

/**
 * Copy a pipe to rl's fd `to` (-1: nowhere) until EOF, then close it. When rl's fd fails (its reader
 * left), the pipe is still read to its end, so the container never blocks on a full pipe.
 */
async function pump(fd: number, to: number): Promise<void> {
  try {
    for await (const chunk of Bun.file(fd).stream()) {
      if (to < 0) continue;
      try {
        writeAll(to, chunk);
      } catch {}
    }
  } catch {}
  closeFd(fd);
}

/** Feed rl's stdin into the container's stdin pipe; its end closes the pipe (EOF in the container). */
function feed(fd: number): () => void {
  const stdin = process.stdin;
  const sink = Bun.file(fd).writer();
  let closed = false, busy = false;
  const close = () => {
    if (closed) return;
    closed = true;
    stdin.off("data", onData);
    stdin.off("end", close);
    stdin.pause();
    stdin.unref?.();
    if (!busy) finish();
  };
  const finish = () => {
    try {
      sink.end();
    } catch {}
    closeFd(fd);
  };
  const onData = async (data: Buffer) => {
    busy = true;
    stdin.pause();
    let failed = false;
    try {
      sink.write(data);
      await sink.flush();
    } catch {
      failed = true; // EPIPE: the container closed its stdin, or is gone
    }
    busy = false;
    if (closed) return finish();
    if (failed) return close();
    stdin.resume();
  };
  stdin.on("data", onData);
  stdin.on("end", close);
  stdin.resume();
  return close;
}

/**
 * Relay the container's stdio pipes (Spawned.pipes: rl's ends, -1 where the container has rl's own fd):
 * rl's stdin into the container, the container's stdout and stderr out to rl's. `done` resolves once
 * both outputs reached EOF, everything copied; `detach` stops reading rl's stdin.
 */
export function relayPipes(pipes: readonly number[], streams?: AttachStreams): { done: Promise<void>; detach: () => void } {
  const outputs: Promise<void>[] = [];
  if (pipes[1]! >= 0) outputs.push(pump(pipes[1]!, streams?.stdout === false ? -1 : 1));
  if (pipes[2]! >= 0) outputs.push(pump(pipes[2]!, streams?.stderr === false ? -1 : 2));
  const stopInput = pipes[0]! >= 0 ? feed(pipes[0]!) : () => {};
  return { done: Promise.all(outputs).then(() => {}), detach: stopInput };
}
