/** `rl image ls`: the same as `rl images`. */
export const command = "ls [REFERENCE]";
export { describe, OPTIONS, POSITIONALS, EXAMPLES, handler } from "./images";
