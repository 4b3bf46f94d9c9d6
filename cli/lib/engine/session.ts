import type { Database } from "bun:sqlite";
import { paths, type Paths } from "../paths";
import { openDb } from "../store/db";
import { cleanDebris } from "../store/debris";
import { sweepContainers } from "../runtime/sweep-stale";

/**
 * One command's store: opened once, on first use, and passed down (no handle is shared). What killed rl
 * processes left is cleared once, by the first `cleaned` (image commands) or `swept` (container
 * commands: their stale containers, whose processes are gone, are recorded too).
 */
export class Session {
  readonly p: Paths;
  #d?: Database;
  #cleaned?: Promise<Database>;
  #swept?: Promise<Database>;

  constructor(p: Paths = paths()) {
    this.p = p;
  }

  /** The store's database. */
  get d(): Database {
    return (this.#d ??= openDb(this.p.db));
  }

  /** The store's database once the debris of killed writers is gone (store/debris.ts). */
  cleaned(): Promise<Database> {
    return (this.#cleaned ??= cleanDebris(this.d, this.p).then(() => this.d));
  }

  /** The store's database once the debris is gone and the stale containers are recorded. */
  swept(): Promise<Database> {
    return (this.#swept ??= this.cleaned().then(() => sweepContainers(this.d, this.p)).then(() => this.d));
  }
}
