/** `rl image rm`: the same as `rl rmi`. */
export const command = "rm <IMAGE..>";
export { describe, POSITIONALS, OPTIONS, EXAMPLES, handler } from "./rmi";
