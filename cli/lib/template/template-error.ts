import { RlError } from "../errors";

/** A template that does not parse or cannot be run on its data: the message names the line:column. */
export class TemplateError extends RlError {
  constructor(src: string, pos: number, detail: string) {
    const before = src.slice(0, pos);
    const line = before.split("\n").length;
    const column = pos - (before.lastIndexOf("\n") + 1) + 1;
    super(`at ${line}:${column}: ${detail}`);
    this.name = "TemplateError";
  }
}
