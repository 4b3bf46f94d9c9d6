import { lstatSync, mkdirSync, realpathSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";
import { RlError } from "./errors";

const HINT = "set XDG_RUNTIME_DIR or RL_RUNROOT to a directory only you can write";
const STICKY = 0o1000;
const mode = (st: Stats) => `mode ${(st.mode & 0o7777).toString(8).padStart(4, "0")}`;

/** Why another user could change what is in `st` (a directory on the way to rl's own), or undefined. */
function otherCanChange(st: Stats, uid: number, self: boolean): string | undefined {
  if (!st.isDirectory()) return "it is not a directory";
  if (st.uid !== uid && (self || st.uid !== 0)) return `it belongs to uid ${st.uid}, not to you (uid ${uid})`;
  // Others may write in an ancestor whose sticky bit stops them renaming what is not theirs (/tmp).
  if (st.mode & 0o022 && (self || !(st.mode & STICKY))) return `other users can write in it (${mode(st)})`;
  return undefined;
}

/**
 * `path` as a directory only this user can change: created (0700) when missing, then checked, with each
 * directory above it, so that no other local user can have planted it, read what rl puts there or swap
 * a name in it. `links`: "follow" for a directory the user named (XDG_RUNTIME_DIR may be a link),
 * "refuse" for a name rl makes itself in a shared place (a planted link there is someone else's).
 * Returns the path with links resolved; throws one line saying which directory, why and what to do.
 */
export function ownDirectory(path: string, what: string, links: "follow" | "refuse" = "follow"): string {
  const uid = process.getuid!();
  const refuse = (dir: string, why: string) => new RlError(`cannot use ${dir} as ${what}: ${why}; ${HINT}`);
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EEXIST") throw refuse(path, `cannot create it (${code})`);
  }
  let real: string;
  try {
    real = links === "follow" ? realpathSync(path) : join(realpathSync(dirname(path)), basename(path));
  } catch (err) {
    throw refuse(path, `cannot resolve it (${(err as NodeJS.ErrnoException).code})`);
  }
  const st = lstatSync(real);
  if (st.isSymbolicLink()) throw refuse(path, "it is a symbolic link, which rl did not make (another user may have planted it)");
  const why = otherCanChange(st, uid, true);
  if (why) throw refuse(path, why);
  for (let dir = dirname(real); ; dir = dirname(dir)) {
    const above = otherCanChange(lstatSync(dir), uid, false);
    if (above) throw refuse(path, `${dir} above it: ${above}`);
    if (dir === "/") break;
  }
  return real;
}

/**
 * The user's runtime dir, as podman finds it: $XDG_RUNTIME_DIR; else /run/user/UID when it is the
 * user's; else /tmp/rl-run-UID, which rl makes itself. Checked with ownDirectory.
 */
export function userRuntimeDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return ownDirectory(env.XDG_RUNTIME_DIR, "XDG_RUNTIME_DIR");
  const uid = process.getuid!();
  const run = `/run/user/${uid}`;
  try {
    const st = lstatSync(run);
    if (st.isDirectory() && st.uid === uid && !(st.mode & 0o022)) return run;
  } catch {}
  return ownDirectory(`/tmp/rl-run-${uid}`, "the runtime directory", "refuse");
}
