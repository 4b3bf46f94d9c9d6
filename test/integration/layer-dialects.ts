/**
 * Layer contents in the tar dialects builders write, shared by the unit and integration tests: a
 * sparse file for GNU tar's sparse formats, and entries repeated in one layer.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";
import type { TarSpec } from "./hostile-inputs";

/**
 * A sparse file: 45 pieces of data, none on a block boundary, between holes, and a hole at the end
 * (so the map needs old GNU extension blocks and more than one block of pax 1.0 map text).
 */
export const SPARSE_SIZE = 12 * 1024 * 1024 + 3;
export const SPARSE_PIECES = 45;

export function writeSparseFile(path: string): void {
  const fd = openSync(path, "w");
  try {
    for (let i = 0; i < SPARSE_PIECES; i++) {
      const piece = new Uint8Array(1000 + i * 97).map((_, k) => (i * 31 + k * 7) % 251 || 1);
      writeSync(fd, piece, 0, piece.length, i * 256 * 1024 + i * 37);
    }
    ftruncateSync(fd, SPARSE_SIZE);
  } finally {
    closeSync(fd);
  }
}

/** GNU tar's arguments for each way it writes sparse files. */
export const SPARSE_FORMATS: Record<string, string[]> = {
  "old GNU": ["--format=gnu", "--sparse"],
  "pax 0.0": ["--format=posix", "--sparse", "--sparse-version=0.0"],
  "pax 0.1": ["--format=posix", "--sparse", "--sparse-version=0.1"],
  "pax 1.0": ["--format=posix", "--sparse", "--sparse-version=1.0"],
};

/**
 * Names repeated in one layer (each under `dir`), the last entry of each winning: a file then a
 * directory (f2d, 0750, holding "in"), a directory with contents then a file (d2f: "now a file"),
 * a symlink then a file (s2f: "was a symlink"), a file twice (twice: "two", 0600).
 */
export function repeatedEntries(dir: string): TarSpec[] {
  return [
    { name: `${dir}f2d`, body: "file" },
    { name: `${dir}f2d`, type: "dir", mode: 0o750 },
    { name: `${dir}f2d/in`, body: "in" },
    { name: `${dir}d2f`, type: "dir", mtime: 1_000_000_000 },
    { name: `${dir}d2f/sub`, type: "dir" },
    { name: `${dir}d2f/sub/deep`, body: "deep" },
    { name: `${dir}d2f`, body: "now a file", mtime: 1_200_000_000 },
    { name: `${dir}s2f`, type: "symlink", link: "/etc/passwd" },
    { name: `${dir}s2f`, body: "was a symlink" },
    { name: `${dir}twice`, body: "one" },
    { name: `${dir}twice`, body: "two", mode: 0o600 },
  ];
}
