import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { execInContainer } from "../lib/runtime/exec";
import { Session } from "../lib/engine/session";

export const command = "exec <CONTAINER> <COMMAND..>";
export const describe = "Run a command in a running container";

export const OPTIONS = {
  detach: { alias: "d", type: "boolean", default: false, describe: "Start the command in the background and return at once (its output goes to /dev/null; with -t to a terminal that is kept for it)" },
  interactive: { alias: "i", type: "boolean", default: false, describe: "Keep stdin open" },
  tty: { alias: "t", type: "boolean", default: false, describe: "Allocate a terminal (from the container's own /dev/pts)" },
  env: { alias: "e", type: "string", array: true, default: [], describe: "Set an environment variable (KEY=VALUE, or KEY to pass rl's own) on top of the container's" },
  "env-file": { type: "string", array: true, default: [], describe: "Read environment variables from a file" },
  user: { alias: "u", type: "string", describe: "User: uid[:gid] or name[:group], resolved in the container's /etc/passwd and /etc/group (default: the container's)" },
  workdir: { alias: "w", type: "string", describe: "Working directory inside the container (default: the container's)" },
  privileged: { type: "boolean", default: false, describe: "Give the command every capability (in the container's user namespace); the container's seccomp filter stays, as in podman" },
} as const satisfies OptionTable;

export const POSITIONALS = { CONTAINER: "container name or id (a running one)", COMMAND: "command and arguments, run in the container's namespaces" };
/** `exec web ls -la`: what follows CONTAINER is the command, options included. */
export const OPTIONS_END_AT_FIRST_ARGUMENT = true;
export const EXAMPLES: Example[] = [
  ["$0 exec web cat /etc/hostname", "Run a command in the running container web; rl exits with its code"],
  ["$0 exec -it web sh", "An interactive shell in web, on a terminal of its own"],
  ["$0 exec -u nobody -w /tmp -e DEBUG=1 web env", "As another user of the container, in another directory, with one more variable"],
  ["$0 exec -d web httpd -p 8080 -h /srv", "Start a server in the background inside web (it stays when rl returns)"],
  ["$0 exec -i web sh -c 'cat > /tmp/config' < config", "Copy rl's stdin into a file of the container"],
];

type Args = { CONTAINER: string; COMMAND: string[]; detach: boolean; interactive: boolean; tty: boolean; env: string[]; "env-file": string[]; user?: string; workdir?: string; privileged: boolean };

export async function handler(a: Args): Promise<number> {
  // No sweep: exec looks at one container, which it checks is running.
  const s = new Session();
  return execInContainer(s.d, s.p, {
    container: a.CONTAINER,
    command: a.COMMAND.map(String),
    detach: a.detach,
    interactive: a.interactive,
    tty: a.tty,
    env: a.env,
    envFiles: a["env-file"],
    user: a.user,
    workdir: a.workdir,
    privileged: a.privileged,
  });
}
