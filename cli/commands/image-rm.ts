import * as rmi from "./rmi";

/** `rl image rm`: the same as `rl rmi`. */
export const command = "rm <IMAGE..>";
export const describe = rmi.describe;
export const builder = rmi.builder;
export const handler = rmi.handler;
