import { existsSync } from "node:fs";
import { isAbsolute, posix, resolve } from "node:path";
import { RlError } from "../errors";
import type { Spec } from "./spec";
import { VALID_NAME } from "../store/names";

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

/**
 * `-v HOST:CTR[:ro|rw|z|Z|U]`, `-v NAME:CTR[:…]` (a named volume), `-v CTR` (an anonymous one), `--tmpfs
 * PATH[:opts]` and `--mount type=…` as runtime-spec mounts. A volume is a mount of type "volume" whose
 * source is its name ("" for a new anonymous one): attachVolumes turns it into a bind of its directory.
 */
export function parseMountSpecs(volumes: string[], tmpfs: string[], mounts: string[] = []): Spec["mounts"] {
  const out: Spec["mounts"] = [];
  for (const v of volumes) {
    const parts = v.split(":");
    if (parts.length === 1 && isAbsolute(v)) {
      checkTarget(v, `volume ${JSON.stringify(v)}`, false);
      out.push({ destination: v, type: "volume", source: "", options: ["rbind"] });
      continue;
    }
    const [src, dest, opts = "", ...rest] = parts;
    if (!src || !dest || rest.length) throw new RlError(`invalid volume ${JSON.stringify(v)}: expected HOST-DIR:CONTAINER-DIR[:OPTIONS] or VOLUME-NAME:CONTAINER-DIR[:OPTIONS]`);
    if (!isAbsolute(dest)) throw new RlError(`invalid volume ${JSON.stringify(v)}: the container path must be absolute`);
    const named = !src.startsWith("/") && !src.startsWith(".");
    if (named && !VALID_NAME.test(src)) throw new RlError(`invalid volume ${JSON.stringify(v)}: ${JSON.stringify(src)} is neither a path (absolute, or starting with ./) nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`);
    checkTarget(dest, `volume ${JSON.stringify(v)}`, !named);
    const options = ["rbind"];
    for (const o of opts.split(",").filter(Boolean)) {
      if (o === "ro" || o === "rw") options.push(o);
      else if (o === "U") options.push(o);
      else if (o !== "z" && o !== "Z") throw new RlError(`invalid volume option ${JSON.stringify(o)} in ${JSON.stringify(v)}: use ro, rw, z, Z or U`);
    }
    if (named) {
      out.push({ destination: dest, type: "volume", source: src, options });
      continue;
    }
    const source = resolve(src);
    if (!existsSync(source)) throw new RlError(`bind source path does not exist: ${source}`);
    out.push({ destination: dest, type: "bind", source, options });
  }
  for (const m of mounts) out.push(parseMountFlag(m));
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

const PROPAGATIONS = ["private", "rprivate", "shared", "rshared", "slave", "rslave"];

/**
 * `--mount type=bind|volume|tmpfs,source=…,destination=…[,ro][,tmpfs-size=…][,tmpfs-mode=…][,bind-propagation=…]`,
 * with podman's keys and their aliases (src, dst, target, readonly).
 */
export function parseMountFlag(text: string): Spec["mounts"][number] {
  const bad = (why: string) => new RlError(`invalid --mount ${JSON.stringify(text)}: ${why}`);
  let type = "volume";
  let source = "";
  let dest = "";
  let ro = false;
  const tmpfsOpts: string[] = [];
  let propagation: string | undefined;
  for (const part of text.split(",").filter(Boolean)) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? undefined : part.slice(eq + 1);
    const need = () => {
      if (!value) throw bad(`${key} needs a value`);
      return value;
    };
    switch (key) {
      case "type": type = need(); break;
      case "source": case "src": source = need(); break;
      case "destination": case "dst": case "target": dest = need(); break;
      case "readonly": case "ro":
        if (value !== undefined && !["true", "false", "1", "0"].includes(value)) throw bad(`${key} is true or false`);
        ro = value === undefined || value === "true" || value === "1";
        break;
      case "tmpfs-size": tmpfsOpts.push(`size=${need()}`); break;
      case "tmpfs-mode": {
        const mode = need();
        if (!/^[0-7]{1,4}$/.test(mode)) throw bad(`tmpfs-mode is an octal mode such as 1777`);
        tmpfsOpts.push(`mode=${mode}`);
        break;
      }
      case "bind-propagation":
        propagation = need();
        if (!PROPAGATIONS.includes(propagation)) throw bad(`bind-propagation is one of ${PROPAGATIONS.join(", ")}`);
        break;
      case "z": case "Z": case "relabel": break;
      default: throw bad(`unknown key ${JSON.stringify(key)} (source, destination, readonly, tmpfs-size, tmpfs-mode, bind-propagation)`);
    }
  }
  if (!dest) throw bad("destination (dst, target) is required");
  if (!isAbsolute(dest)) throw bad("the destination must be an absolute path");
  if (tmpfsOpts.length && type !== "tmpfs") throw bad("tmpfs-size and tmpfs-mode are for type=tmpfs");
  if (propagation && type !== "bind") throw bad("bind-propagation is for type=bind");
  const mode = ro ? ["ro"] : [];
  if (type === "tmpfs") {
    if (source) throw bad("a tmpfs has no source");
    checkTarget(dest, `--mount ${JSON.stringify(text)}`, false);
    return { destination: dest, type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec", ...mode, ...tmpfsOpts] };
  }
  if (type === "volume") {
    if (source && !VALID_NAME.test(source)) throw bad(`${JSON.stringify(source)} is not a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`);
    checkTarget(dest, `--mount ${JSON.stringify(text)}`, false);
    return { destination: dest, type: "volume", source, options: ["rbind", ...mode] };
  }
  if (type !== "bind") throw bad(`type ${JSON.stringify(type)} is not bind, volume or tmpfs`);
  if (!source) throw bad("a bind needs a source");
  checkTarget(dest, `--mount ${JSON.stringify(text)}`, true);
  const abs = resolve(source);
  if (!existsSync(abs)) throw new RlError(`bind source path does not exist: ${abs}`);
  return { destination: dest, type: "bind", source: abs, options: ["rbind", ...mode, ...(propagation ? [propagation] : [])] };
}

/** Mounts in the order they can be made: by the depth of their destination, keeping the given order otherwise. */
export function byDepth<M extends { destination: string }>(mounts: M[]): M[] {
  const depth = (m: M) => posix.normalize(m.destination).split("/").filter(Boolean).length;
  return mounts.map((m, i) => [m, i] as const).sort(([a, i], [b, j]) => depth(a) - depth(b) || i - j).map(([m]) => m);
}

/** An anonymous volume for the image's `VOLUME` path (its config is the image author's: checked as -v is). */
export function imageVolumeMount(path: string): Spec["mounts"][number] {
  if (!isAbsolute(path)) throw new RlError(`the image's VOLUME ${JSON.stringify(path)} is not an absolute path`);
  checkTarget(path, `image VOLUME ${JSON.stringify(path)}`, false);
  return { destination: posix.normalize(path), type: "volume", source: "", options: ["rbind"] };
}
