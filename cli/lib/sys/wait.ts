import { exitCodeOf, waitChild } from "./executor";

/**
 * Resolve with the exit code (docker style) of our child `pid` when it ends. Uses SIGCHLD plus
 * waitpid(pid, WNOHANG) on that pid only: Bun reaps its own subprocesses and must not lose them.
 */
export function waitForExit(pid: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setInterval> | undefined;
    const check = () => {
      let status: number | undefined;
      try {
        status = waitChild(pid, true);
      } catch (err) {
        done();
        reject(err);
        return;
      }
      if (status === undefined) return;
      done();
      resolve(exitCodeOf(status));
    };
    const done = () => {
      process.off("SIGCHLD", check);
      if (timer) clearInterval(timer);
    };
    process.on("SIGCHLD", check);
    // A safety net: signals of several children can merge into one delivery.
    timer = setInterval(check, 250);
    check();
  });
}
