import { RlError } from "./errors";

/**
 * Ask on the terminal and read one line from stdin; with `echo: false` (passwords) nothing typed is shown,
 * as podman's login prompts. The question goes to stdout, as podman writes it.
 */
export async function promptLine(question: string, o: { echo: boolean }): Promise<string> {
  const stdin = process.stdin;
  // Echo is off before the question shows, so that nothing typed after it can appear.
  if (!o.echo) stdin.setRawMode(true);
  process.stdout.write(question);
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = "";
      const finish = (err?: Error) => {
        stdin.off("data", onData);
        stdin.off("end", onEnd);
        stdin.pause();
        if (err) reject(err);
        else resolve(text);
      };
      const onEnd = () => finish();
      // Cooked mode hands over whole lines; raw mode (no echo) each key, so editing keys are ours to handle.
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString("utf8")) {
          if (ch === "\r" || ch === "\n") return finish();
          if (ch === "\x03") return finish(new RlError("interrupted", 130));
          if (ch === "\x04") {
            if (!text) return finish();
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
