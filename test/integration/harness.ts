import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dir, "../..");
/** The `rl` command as package.json's "bin" gives it: the executable `bun install` builds (it runs the sources when they changed). */
export const RL_BIN = join(REPO, "helpers/build/rl");
export const FIXTURES = resolve(REPO, "../shared/fixtures");
export const ALPINE = `oci:${FIXTURES}/oci/alpine-3.20.3:3.20.3`;
export const BUSYBOX = `oci:${FIXTURES}/oci/busybox-1.38.0-musl-amd64`;
export const HELLO = `oci:${FIXTURES}/oci/hello-world-multiarch:linux`;

export const isRoot = process.getuid!() === 0;
/** Rootless behaviour is only real as an ordinary user: say so once and skip as root. */
export function skipReason(): string | undefined {
  if (isRoot) return "integration tests must run as an unprivileged user with /etc/subuid ranges (see .ci/run)";
  return undefined;
}

export interface RlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestEnv {
  /** The environment rl runs with: RL_ROOT and RL_RUNROOT point into `root`. */
  readonly env: Record<string, string>;
  /** The directory under /tmp that holds the store and anything else the tests put there. */
  readonly root: string;
  /** Removes `root`; does nothing when it was never created. */
  cleanup(): Promise<void>;
}

/**
 * A private store and runtime dir for one test file or describe block. Nothing is created until `env`
 * or `root` is first read (in a hook or a test), so a describe that a `-t` filter skips, whose
 * afterAll never runs, leaves nothing in /tmp. `setup` runs once, when the directory is created.
 */
export function makeEnv(setup?: (root: string, env: Record<string, string>) => void): TestEnv {
  let made: { root: string; env: Record<string, string> } | undefined;
  const make = () => {
    if (made) return made;
    const root = mkdtempSync(join(tmpdir(), "rl-test-"));
    made = { root, env: { ...process.env, RL_ROOT: join(root, "data"), RL_RUNROOT: join(root, "run") } as Record<string, string> };
    setup?.(root, made.env);
    return made;
  };
  return {
    get env() {
      return make().env;
    },
    get root() {
      return make().root;
    },
    async cleanup() {
      if (!made) return;
      const { root } = made;
      // The store holds files owned by subordinate ids: remove it from inside a user namespace (the
      // job's files go in a fresh private dir beside it, since `root` itself goes).
      const { runWorkerJob } = await import("../../cli/lib/rootfs/worker-job");
      await runWorkerJob(tmpdir(), { kind: "remove", paths: [root] });
    },
  };
}

export async function rl(args: string[], o: { env: Record<string, string>; stdin?: string }): Promise<RlResult> {
  const p = Bun.spawn([RL_BIN, ...args], {
    env: o.env,
    stdin: o.stdin === undefined ? "ignore" : new TextEncoder().encode(o.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

/** `fn`'s first truthy answer, asked every 100 ms; gives up (naming `what`) after `tries`. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v) return v;
    await Bun.sleep(100);
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** A TCP port free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** What a TCP server on 127.0.0.1:port sends before it closes, or undefined when nothing answers (2 s). */
export async function fetchTcp(port: number): Promise<string | undefined> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    let data = "";
    const s = connect(port, "127.0.0.1");
    s.on("data", (d) => (data += d));
    s.on("end", () => resolve(data || undefined));
    s.on("error", () => resolve(undefined));
    setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, 2000);
  });
}
