#!/usr/bin/env bun
/**
 * The `rl` command. It runs the bytecode bundle of cli/rl.ts when that is fresh (helpers/bundle.ts
 * explains when), else cli/rl.ts itself; `rl info` says which and why.
 */
import { BUNDLE, bundleStaleReason } from "../helpers/bundle";

const stale = bundleStaleReason();
(globalThis as Record<symbol, unknown>)[Symbol.for("rl.start")] = stale ? `sources (the bundle is not used: ${stale})` : `bytecode bundle ${BUNDLE}`;
if (stale) await import("./rl");
else require(BUNDLE);
