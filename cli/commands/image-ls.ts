import * as images from "./images";

/** `rl image ls`: the same as `rl images`. */
export const command = "ls";
export const describe = images.describe;
export const builder = images.builder;
export const handler = images.handler;
