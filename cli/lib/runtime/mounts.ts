import { existsSync } from "node:fs";
import { isAbsolute, posix, resolve } from "node:path";
import { RlError } from "../errors";
import type { Spec } from "./spec";

/**
 * Targets a user's mount may not cover, as runc refuses them: /proc and anything in it (the masks and
 * read-only paths would be gone), and for a bind /dev itself (rl fills /dev with device nodes and
 * links, which would land in the host directory).
 */
function checkTarget(dest: string, what: string, bind: boolean): void {
  const d = posix.normalize(dest).replace(/(.)\/+$/, "$1");
  if (d === "/proc" || d.startsWith("/proc/")) throw new RlError(`invalid ${what}: ${d} is inside /proc, which the container's own proc filesystem covers`);
  if (bind && d === "/dev") throw new RlError(`invalid ${what}: a bind mount cannot replace /dev (rl fills it with device nodes); mount onto a path under /dev instead`);
}

/** `-v HOST:CTR[:ro|rw]` and `--tmpfs PATH[:opts]` as runtime-spec mounts. */
export function parseMountSpecs(volumes: string[], tmpfs: string[]): Spec["mounts"] {
  const out: Spec["mounts"] = [];
  for (const v of volumes) {
    const [src, dest, opts = "", ...rest] = v.split(":");
    if (!src || !dest || rest.length) throw new RlError(`invalid volume ${JSON.stringify(v)}: expected HOST-DIR:CONTAINER-DIR[:ro|rw]`);
    if (!src.startsWith("/") && !src.startsWith(".")) throw new RlError(`invalid volume ${JSON.stringify(v)}: named volumes are not supported yet; give a host path (absolute, or starting with ./)`);
    if (!isAbsolute(dest)) throw new RlError(`invalid volume ${JSON.stringify(v)}: the container path must be absolute`);
    checkTarget(dest, `volume ${JSON.stringify(v)}`, true);
    const source = resolve(src);
    if (!existsSync(source)) throw new RlError(`bind source path does not exist: ${source}`);
    const options = ["rbind"];
    for (const o of opts.split(",").filter(Boolean)) {
      if (o === "ro" || o === "rw") options.push(o);
      else if (o !== "z" && o !== "Z") throw new RlError(`invalid volume option ${JSON.stringify(o)} in ${JSON.stringify(v)}: use ro or rw`);
    }
    out.push({ destination: dest, type: "bind", source, options });
  }
  for (const t of tmpfs) {
    const colon = t.indexOf(":");
    const dest = colon < 0 ? t : t.slice(0, colon);
    const given = colon < 0 ? [] : t.slice(colon + 1).split(",").filter(Boolean);
    if (!isAbsolute(dest)) throw new RlError(`invalid tmpfs mount ${JSON.stringify(t)}: the path must be absolute`);
    checkTarget(dest, `tmpfs mount ${JSON.stringify(t)}`, false);
    const flags = new Set(["nosuid", "nodev", "noexec"]);
    const data: string[] = [];
    for (const o of given) {
      if (o === "exec" || o === "suid" || o === "dev") flags.delete(`no${o}`);
      else if (o === "noexec" || o === "nosuid" || o === "nodev" || o === "ro" || o === "rw") flags.add(o);
      else data.push(o);
    }
    out.push({ destination: dest, type: "tmpfs", source: "tmpfs", options: [...flags, ...data] });
  }
  return out;
}
