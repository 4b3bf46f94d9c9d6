import { RlError } from "../lib/errors";

/** The containers a verb that also takes --all was given: some names, or --all, never neither nor both. */
export function namesOrAll(verb: string, a: { CONTAINER?: string[]; all: boolean }): string[] {
  const names = a.CONTAINER ?? [];
  if (!a.all && !names.length) throw new RlError(`${verb} needs at least one container, or --all`);
  if (a.all && names.length) throw new RlError(`${verb} takes containers or --all, not both`);
  return names;
}
