const ADJECTIVES = ["brave", "calm", "eager", "fervent", "gentle", "happy", "keen", "lucid", "merry", "nimble", "quiet", "rapid", "serene", "tender", "vivid", "witty", "zealous", "bold", "clever", "daring"];
const NOUNS = ["turing", "hopper", "lovelace", "ritchie", "thompson", "torvalds", "knuth", "dijkstra", "hamilton", "liskov", "perlman", "wirth", "backus", "kay", "lamport", "allen", "shannon", "noether", "curie", "euler"];

export function randomName(): string {
  const pick = (a: string[]) => a[Math.floor(Math.random() * a.length)]!;
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}`;
}

/**
 * 64 hex digits, as docker's ids: two random UUIDs without their dashes (the first 12, the short id,
 * are all random). Formatting 32 random bytes in JS took ~0.3 ms of every `rl run` (cold code).
 */
export function randomId(): string {
  return `${crypto.randomUUID()}${crypto.randomUUID()}`.replaceAll("-", "");
}

/** podman's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
export const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
