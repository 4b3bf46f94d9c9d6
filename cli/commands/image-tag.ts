import * as tag from "./tag";

/** `rl image tag`: the same as `rl tag`. */
export const command = tag.command;
export const describe = tag.describe;
export const builder = tag.builder;
export const handler = tag.handler;
