import type { Example } from "../verb";
import { formatTable, openDb, paths, requireContainer, RlError } from "../lib/index";
import { containerProcesses } from "../lib/runtime/container-procs";
import { AIX_CODES, DEFAULT_DESCRIPTORS, DESCRIPTOR_NAMES, parseDescriptors, topTable } from "../lib/runtime/top";

export const command = "top <CONTAINER> [DESCRIPTORS..]";
export const describe = "Show the processes of a running container";

export const POSITIONALS = {
  CONTAINER: "container name or id",
  DESCRIPTORS: `the columns (words, or one word with commas), podman's format descriptors: ${DESCRIPTOR_NAMES.join(", ")}, or ps(1)'s AIX codes (${AIX_CODES.join(" ")}); default: ${DEFAULT_DESCRIPTORS.join(" ")}. Pids, users and groups are the container's (hpid, huser, hgroup, hgroups: the host's). ps(1) options (-ef) are refused: rl reads /proc, where podman would run ps in the container`,
};
export const OPTIONS = {};
export const EXAMPLES: Example[] = [
  ["$0 top web", "USER, PID, PPID, %CPU, ELAPSED, TTY, TIME and COMMAND of every process in web"],
  ["$0 top web pid hpid user huser args", "Each process's pid inside and on the host, its user inside and on the host"],
  ["$0 top web pid,seccomp,capeff", "Whether each process is filtered by seccomp, and its effective capabilities"],
];

export async function handler(a: { CONTAINER: string; DESCRIPTORS: string[] }): Promise<number> {
  const descriptors = parseDescriptors(a.DESCRIPTORS);
  const c = requireContainer(openDb(paths().db), a.CONTAINER);
  const found = c.state === "running" && c.pid !== null && c.pid_start !== null ? containerProcesses(c.pid, c.pid_start, { label: descriptors.includes("label") }) : undefined;
  if (!found) throw new RlError(`cannot show the processes of container ${a.CONTAINER}: it is not running`);
  console.log(formatTable(topTable(found, descriptors)));
  return 0;
}
