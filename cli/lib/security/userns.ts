import { RlError } from "../errors";
import { keepIdMapping, noMapping, type IdMapping } from "./idmap";

/** What `--userns` asked for. */
export type UsernsMode = { mode: "default" } | { mode: "keep-id"; uid?: number; gid?: number } | { mode: "nomap" };

const ID = /^\d{1,10}$/;

/**
 * podman's values, rootless: "" (the user as root and the subordinate ids), keep-id[:uid=N,gid=N] and
 * nomap. host is refused: without privileges a container cannot run in the host's user namespace (rootless
 * podman takes it as its own pause namespace, i.e. its default); auto, ns: and container: are refused too.
 */
export function parseUserns(text: string): UsernsMode {
  const bad = (why: string) => new RlError(`invalid --userns ${JSON.stringify(text)}: ${why}`);
  if (text === "") return { mode: "default" };
  if (text === "host") throw bad("a rootless container cannot share the host's user namespace; without --userns you are root inside, your own uid outside (--userns=keep-id keeps your uid inside)");
  if (text === "nomap") return { mode: "nomap" };
  const [mode, opts] = text.split(/:(.*)/s, 2) as [string, string?];
  if (mode === "keep-id") {
    const out: UsernsMode = { mode: "keep-id" };
    for (const kv of opts ? opts.split(",") : []) {
      const [k, v = ""] = kv.split("=", 2) as [string, string?];
      if ((k !== "uid" && k !== "gid") || !ID.test(v) || Number(v) > 0xfffffffe) throw bad(`keep-id takes uid=N and gid=N (decimal ids)`);
      out[k] = Number(v);
    }
    return out;
  }
  if (mode === "auto") throw bad("rl does not pick id ranges itself (auto); use keep-id, nomap or the default");
  if (mode === "ns" || mode === "container" || mode === "private") throw bad(`rl creates each container's user namespace itself; ${mode} is not supported`);
  throw bad("use keep-id[:uid=N,gid=N] or nomap");
}

/** The container's id mapping for this mode, from the user's own (`base`). */
export function usernsMapping(u: UsernsMode, base: IdMapping): IdMapping {
  if (u.mode === "keep-id") return keepIdMapping(base, u.uid ?? base.uid, u.gid ?? base.gid);
  if (u.mode === "nomap") return noMapping(base);
  return base;
}

/** podman's HostConfig.UsernsMode. */
export function usernsText(u: UsernsMode): string {
  if (u.mode === "keep-id") return `keep-id${u.uid !== undefined || u.gid !== undefined ? `:${[u.uid !== undefined && `uid=${u.uid}`, u.gid !== undefined && `gid=${u.gid}`].filter(Boolean).join(",")}` : ""}`;
  return u.mode === "nomap" ? "nomap" : "";
}
