/** `rl container ls` (and `list`, `ps`): the same as `rl ps`. */
export const command = "ls";
export { describe, OPTIONS, EXAMPLES, handler } from "./ps";
