/** How this rl process started (`rl info` shows it): the executable, or the sources and why. */
let startedFrom = "sources (cli/rl.ts was run directly)";

export function setStartedFrom(how: string): void {
  startedFrom = how;
}

export function getStartedFrom(): string {
  return startedFrom;
}
