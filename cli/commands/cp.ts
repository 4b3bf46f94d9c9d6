import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { copyContainerFiles, currentMapping, paths, RlError, withContext, writingArchive } from "../lib/index";
import { Session } from "../lib/engine/session";

export const command = "cp <SRC> <DEST>";
export const describe = "Copy files between a container and the host";

export const POSITIONALS = {
  SRC: "CONTAINER:PATH, a host path, or - (a tar stream on stdin)",
  DEST: "CONTAINER:PATH, a host path, or - (a tar stream on stdout)",
};
export const OPTIONS = {
  archive: { alias: "a", type: "boolean", default: false, describe: "Keep the source's owners (the container's uids and gids); else what is copied belongs to the container's root, or to you on the host" },
  "follow-link": { alias: "L", type: "boolean", default: false, describe: "Copy what a symlink named by SRC leads to, not the link" },
  overwrite: { type: "boolean", default: false, describe: "Let a directory replace a file or a file replace a directory" },
} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["$0 cp web:/etc/nginx/nginx.conf .", "A file out of container web, into the current directory"],
  ["$0 cp ./site web:/usr/share/nginx/html", "A directory in: html/site if html exists, else html with site's contents"],
  ["$0 cp ./site/. web:/usr/share/nginx/html", "The contents of site into html"],
  ["$0 cp -a web:/home/app ./app-backup", "Keep owners: files owned by a user of the container go to that user's subordinate id"],
  ["$0 cp web:/var/log - | tar -t", "Out as a tar stream"],
  ["tar -c conf | $0 cp - web:/etc", "In from a tar stream, extracted into /etc"],
];

export async function handler(a: { SRC: string; DEST: string; archive: boolean; "follow-link": boolean; overwrite: boolean }): Promise<number> {
  if (a.DEST === "-" && process.stdout.isTTY) throw new RlError("refusing to write an archive to a terminal: redirect stdout, or copy to a path");
  const p = paths();
  // The sweep first: a container whose process is gone is copied from as a stopped one.
  const d = await new Session(p).swept();
  const o = { archive: a.archive, followLink: a["follow-link"], overwrite: a.overwrite };
  return writingArchive(() => withContext(`copy ${a.SRC} to ${a.DEST}`, () => copyContainerFiles(d, p, a.SRC, a.DEST, o, currentMapping())));
}
