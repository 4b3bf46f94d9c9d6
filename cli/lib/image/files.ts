import { statSync } from "node:fs";
import { join } from "node:path";
import { indexTarFile } from "./tar-entries";

/** A byte range in a file on disk: a blob kept as its own file or as a member of a tar archive. */
export interface FileRange {
  file: string;
  offset: number;
  size: number;
}

/** Named files of an image source: a directory, or an uncompressed tar archive read in place. */
export interface FileSet {
  locate(name: string): FileRange | undefined;
  describe: string;
}

export function directoryFiles(dir: string): FileSet {
  return {
    describe: dir,
    locate(name) {
      const file = join(dir, name);
      try {
        const st = statSync(file);
        return st.isFile() ? { file, offset: 0, size: st.size } : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

export async function archiveFiles(file: string): Promise<FileSet> {
  const members = await indexTarFile(file);
  return {
    describe: file,
    locate(name) {
      const m = members.get(name.replace(/^\.?\/+/, ""));
      return m && { file, offset: m.offset, size: m.size };
    },
  };
}

export async function readRange(r: FileRange): Promise<Uint8Array> {
  return new Uint8Array(await Bun.file(r.file).slice(r.offset, r.offset + r.size).arrayBuffer());
}
