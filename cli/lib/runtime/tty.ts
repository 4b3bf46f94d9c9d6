import { read, writeSync } from "node:fs";
import { closeFd, setWinsize } from "../sys/executor";

/**
 * Connect the user's terminal to the container's pty master: raw mode, both directions, window size
 * now and on every resize. Resolves when the container side closes (EIO once no process holds it).
 */
export function attachTerminal(master: number, interactive: boolean): { done: Promise<void>; detach: () => void } {
  const stdin = process.stdin;
  const isTty = Boolean(stdin.isTTY);
  const resize = () => {
    if (process.stdout.isTTY) setWinsize(master, process.stdout.rows, process.stdout.columns);
  };
  resize();
  process.stdout.on("resize", resize);
  const onInput = (data: Buffer) => {
    try {
      writeSync(master, data);
    } catch {}
  };
  if (interactive) {
    if (isTty) stdin.setRawMode(true);
    stdin.on("data", onInput);
    stdin.resume();
  }
  const done = new Promise<void>((resolve) => {
    const buf = Buffer.allocUnsafe(1 << 16);
    const pump = () =>
      read(master, buf, 0, buf.length, null, (err, n) => {
        if (err || n === 0) return resolve();
        process.stdout.write(buf.subarray(0, n), () => pump());
      });
    pump();
  });
  return {
    done,
    detach() {
      process.stdout.off("resize", resize);
      if (interactive) {
        stdin.off("data", onInput);
        if (isTty) stdin.setRawMode(false);
        stdin.pause();
        stdin.unref?.();
      }
      closeFd(master);
    },
  };
}
