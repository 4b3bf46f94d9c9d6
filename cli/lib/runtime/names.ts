const ADJECTIVES = ["brave", "calm", "eager", "fervent", "gentle", "happy", "keen", "lucid", "merry", "nimble", "quiet", "rapid", "serene", "tender", "vivid", "witty", "zealous", "bold", "clever", "daring"];
const NOUNS = ["turing", "hopper", "lovelace", "ritchie", "thompson", "torvalds", "knuth", "dijkstra", "hamilton", "liskov", "perlman", "wirth", "backus", "kay", "lamport", "allen", "shannon", "noether", "curie", "euler"];

export function randomName(): string {
  const pick = (a: string[]) => a[Math.floor(Math.random() * a.length)]!;
  return `${pick(ADJECTIVES)}_${pick(NOUNS)}`;
}

export function randomId(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** podman's rule for names: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
export const VALID_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
