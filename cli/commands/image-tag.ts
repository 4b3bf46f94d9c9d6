/** `rl image tag`: the same as `rl tag`. */
export { command, describe, POSITIONALS, EXAMPLES, handler } from "./tag";
