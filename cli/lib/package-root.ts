import { resolve } from "node:path";

/** Set by helpers/executable.ts when it compiles the rl executable, whose own modules live in Bun's /$bunfs. */
declare const RL_PACKAGE_ROOT: string | undefined;

/** rl's package directory, where helpers/, core-as/build/ and the sources are. */
export const PACKAGE_ROOT: string = typeof RL_PACKAGE_ROOT === "string" ? RL_PACKAGE_ROOT : resolve(import.meta.dir, "../..");
