/** `rl image ls`: the same as `rl images`. */
export const command = "ls";
export { describe, OPTIONS, EXAMPLES, handler } from "./images";
