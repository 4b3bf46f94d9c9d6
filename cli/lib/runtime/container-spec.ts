import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { atomicWriteFile } from "../atomic-write";
import type { Paths } from "../paths";
import { containerRunDir } from "../store/containers-table";
import type { Spec } from "./spec";

// The runtime spec of a container, as podman keeps it: with the runtime state (tmpfs), not in the store.

const specFile = (p: Paths, id: string) => join(containerRunDir(p, id), "config.json");

export function writeSpec(p: Paths, id: string, spec: Spec): void {
  atomicWriteFile(specFile(p, id), JSON.stringify(spec, null, 2));
}

/** The container's spec, or undefined when there is none (its runtime dir went with a reboot). */
export function readSpec(p: Paths, id: string): Spec | undefined {
  const file = specFile(p, id);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Spec;
  } catch {
    return undefined;
  }
}
