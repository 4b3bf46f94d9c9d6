import type { OptionTable } from "../parse-options";
import type { Example } from "../verb";
import { writeSync } from "node:fs";
import { completionScript } from "../completion";
import { RlError } from "../lib/errors";

export const command = "completion <SHELL>";
export const describe = "Print the script that completes rl's verbs, flags, containers and images in a shell";
export const POSITIONALS = { SHELL: "bash, zsh or fish" };
export const OPTIONS = {} as const satisfies OptionTable;
export const EXAMPLES: Example[] = [
  ["echo 'eval \"$(rl completion bash)\"' >> ~/.bashrc", "Complete rl in every new bash"],
  ["echo 'eval \"$(rl completion zsh)\"' >> ~/.zshrc", "The same in zsh (after compinit)"],
  ["rl completion fish > ~/.config/fish/completions/rl.fish", "The same in fish"],
];

export async function handler(a: { SHELL: string }): Promise<number> {
  if (a.SHELL !== "bash" && a.SHELL !== "zsh" && a.SHELL !== "fish") throw new RlError(`cannot print completion for ${JSON.stringify(a.SHELL)}: choose bash, zsh or fish`);
  writeSync(1, completionScript(a.SHELL));
  return 0;
}
