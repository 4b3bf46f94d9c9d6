import type { Database } from "bun:sqlite";
import { paths, type Paths } from "../paths";
import { openDb } from "../store/db";
import { sweepStale } from "../runtime/sweep-stale";

/**
 * One command's store: opened once, on first use, and passed down (no handle is shared), its stale
 * containers (whose processes are gone) recorded once, by the first `swept`.
 */
export class Session {
  readonly p: Paths;
  #d?: Database;
  #swept?: Promise<Database>;

  constructor(p: Paths = paths()) {
    this.p = p;
  }

  /** The store's database. */
  get d(): Database {
    return (this.#d ??= openDb(this.p.db));
  }

  /** The store's database once the sweep of this command has run. */
  swept(): Promise<Database> {
    return (this.#swept ??= sweepStale(this.d, this.p).then(() => this.d));
  }
}
