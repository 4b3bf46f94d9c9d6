/**
 * A sparse file for tests of GNU tar's sparse formats: 45 pieces of data, none on a block boundary,
 * between holes, and a hole at the end (so the map needs old GNU extension blocks and more than one
 * block of pax 1.0 map text).
 */
import { closeSync, ftruncateSync, openSync, writeSync } from "node:fs";

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
