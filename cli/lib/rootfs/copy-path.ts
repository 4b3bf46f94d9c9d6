/** A `cp` path as docker reads it: where its last component is, and what its spelling asks for. */
export interface CopyPath {
  /** The directory that holds the entry (absolute). */
  dir: string;
  /** The entry's name in `dir`; "" when the path names a directory as such ("/", "a/.."). */
  base: string;
  /** It ends in "/.": the directory's contents, not the directory. */
  contents: boolean;
  /** It ends in "/" or "/.": it must be a directory, and a symlink there is followed. */
  dirOnly: boolean;
}

/** Split an absolute path (a container's paths are taken from its root) for `cp`. */
export function parseCopyPath(path: string): CopyPath {
  const contents = path === "/." || path.endsWith("/.");
  const dirOnly = contents || path.endsWith("/");
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  const last = parts.at(-1);
  if (last === undefined || last === "..") return { dir: `/${parts.join("/")}`, base: "", contents, dirOnly: true };
  return { dir: `/${parts.slice(0, -1).join("/")}`, base: last, contents, dirOnly };
}

/** The path a symlink found at `at` leads to (a relative target is taken from the link's directory). */
export function linkTarget(at: CopyPath, target: string): CopyPath {
  return parseCopyPath(target.startsWith("/") ? target : `${at.dir}/${target}`);
}

/** What is at the destination, its symlinks followed. */
export type DestState = "none" | "dir" | "other";

/**
 * Where docker's rules put a copy of `src` (a directory or not, `name` its name, "" for a root) given
 * what is at the destination: into that directory under the source's name, or its contents into it
 * (`name` ""), or at the destination's own name (a new entry, or one replacing a file). Refused: a
 * directory onto a file, and a file to a directory that does not exist (a path ending in "/").
 */
export function placeCopy(
  src: { isDir: boolean; contents: boolean; name: string },
  dest: { state: DestState; dirOnly: boolean; name: string },
): { into: "dest" | "parent"; name: string } | { refused: "dir-onto-file" | "no-dir" } {
  if (dest.state === "dir") return { into: "dest", name: src.contents ? "" : src.name };
  if (dest.state === "other") return src.isDir ? { refused: "dir-onto-file" } : { into: "parent", name: dest.name };
  if (!src.isDir && dest.dirOnly) return { refused: "no-dir" };
  return { into: "parent", name: dest.name };
}
