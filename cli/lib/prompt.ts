import { RlError } from "./errors";

/**
 * Ask on the terminal and read one line from stdin; with `echo: false` (passwords) nothing typed is shown,
 * as podman's login prompts. The question goes to stdout, as podman writes it.
 */
export async function promptLine(question: string, o: { echo: boolean }): Promise<string> {
  return (await ask(question, o)).text;
}

/**
 * podman's confirmation (prune without -f): yes when the answer starts with y or Y. As podman, it asks
 * whatever stdin is (a pipe answers it too), and stdin ending before a whole line is an error.
 */
export async function confirm(question: string, action: string): Promise<boolean> {
  const answer = await ask(question, { echo: true });
  if (!answer.line) throw new RlError(`cannot ${action}: stdin ended before an answer (use -f not to be asked)`);
  return answer.text[0] === "y" || answer.text[0] === "Y";
}

/** The line typed (`line`: it ended with a newline, not with the end of stdin). */
async function ask(question: string, o: { echo: boolean }): Promise<{ text: string; line: boolean }> {
  const stdin = process.stdin;
  // Echo is off before the question shows, so that nothing typed after it can appear.
  if (!o.echo) stdin.setRawMode(true);
  process.stdout.write(question);
  try {
    return await new Promise<{ text: string; line: boolean }>((resolve, reject) => {
      let text = "";
      const finish = (line: boolean, err?: Error) => {
        stdin.off("data", onData);
        stdin.off("end", onEnd);
        stdin.pause();
        if (err) reject(err);
        else resolve({ text, line });
      };
      const onEnd = () => finish(false);
      // Cooked mode hands over whole lines; raw mode (no echo) each key, so editing keys are ours to handle.
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") return finish(true);
          if (ch === "\x03") return finish(false, new RlError("interrupted", 130));
          if (ch === "\x04") {
            if (!text) return finish(false);
          } else if (ch === "\x7f" || ch === "\b") text = [...text].slice(0, -1).join("");
          else if (ch === "\x15") text = "";
          else text += ch;
        }
      };
      stdin.on("data", onData);
      stdin.on("end", onEnd);
      stdin.resume();
    });
  } finally {
    if (!o.echo) {
      stdin.setRawMode(false);
      process.stdout.write("\n");
    }
  }
}
