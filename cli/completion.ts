/**
 * Shell completion, from the verbs' own data: the scripts `rl completion bash|zsh|fish` prints ask
 * `rl __complete WORDS...` (the words typed after `rl`, the last one being completed) for candidates,
 * one per line, then a last line `:files` when the shell should complete file names instead.
 */
import { existsSync } from "node:fs";
import { COMMANDS } from "./commands/index";
import { aliasesOf, type OptionTable } from "./parse-options";
import { positionalsOf, verbName, type Verb } from "./verb";

export const FILES = ":files";

/** What a positional names, by its name in the verb's command string. */
const POSITIONAL_KINDS: Record<string, "image" | "container" | "volume" | "file"> = {
  IMAGE: "image",
  CONTAINER: "container",
  VOLUME: "volume",
  TARBALL: "file",
};

/** Candidates for the last of `words` (the one being typed), as lines; `:files` last when file names fit. */
export async function complete(words: string[]): Promise<string[]> {
  const cur = words[words.length - 1] ?? "";
  const typed = words.slice(0, -1);
  let names = ["help", ...Object.keys(COMMANDS)];
  let verb: Verb | undefined;
  let i = 0;
  // The verb (and a group's sub-verb): the first words that are not options.
  for (; i < typed.length; i++) {
    const w = typed[i]!;
    if (w.startsWith("-")) continue;
    const found: Verb | undefined = verb?.SUBCOMMANDS ? verb.SUBCOMMANDS.find((s) => verbName(s) === w) : !verb && Object.hasOwn(COMMANDS, w) ? await COMMANDS[w]!() : undefined;
    if (!found) break;
    verb = found;
    names = verb.SUBCOMMANDS ? verb.SUBCOMMANDS.map(verbName) : [];
    if (!verb.SUBCOMMANDS) {
      i++;
      break;
    }
  }
  if (!verb || verb.SUBCOMMANDS) return cur.startsWith("-") ? ["--help"] : names.filter((n) => n.startsWith(cur));
  const options = verb.OPTIONS ?? {};
  // Walk the verb's arguments: option values are skipped, positionals counted.
  let positional = 0;
  for (; i < typed.length; i++) {
    const w = typed[i]!;
    if (w === "--") break;
    if (w.startsWith("-") && w !== "-") {
      const o = optionOf(options, w);
      if (o && o.type !== "boolean" && !w.includes("=") && !/^-[^-].+/.test(w)) i++;
      continue;
    }
    positional++;
    if (verb.OPTIONS_END_AT_FIRST_ARGUMENT) return [FILES]; // the container's own command line
  }
  const previous = typed[typed.length - 1];
  const wanting = previous?.startsWith("-") && !previous.includes("=") ? optionOf(options, previous) : undefined;
  if (wanting && wanting.type !== "boolean") {
    if (wanting.choices) return (wanting.choices as string[]).filter((c) => c.startsWith(cur));
    return FILE_OPTIONS.test(longName(options, previous!)) ? [FILES] : [];
  }
  if (cur.startsWith("-")) return flagsOf(options).filter((f) => f.startsWith(cur));
  const positionals = positionalsOf(verb.command);
  const p = positionals[Math.min(positional, positionals.length - 1)];
  if (!p || (positional >= positionals.length && !p.variadic)) return [];
  const kind = POSITIONAL_KINDS[p.name];
  if (kind === "image") return (await storeNames("image")).filter((n) => n.startsWith(cur));
  if (kind === "container" || kind === "volume") return (await storeNames(kind)).filter((n) => n.startsWith(cur));
  return [FILES];
}

/** Options whose value is a path: the shell completes file names for them. */
const FILE_OPTIONS = /^(output|input|authfile|env-file|volume|cidfile)$/;

function longName(options: OptionTable, flag: string): string {
  const name = flag.replace(/^--?/, "").replace(/=.*/, "");
  for (const [long, o] of Object.entries(options)) if (long === name || aliasesOf(o).includes(name)) return long;
  return name;
}

function optionOf(options: OptionTable, flag: string) {
  return options[longName(options, flag)];
}

function flagsOf(options: OptionTable): string[] {
  const out = ["--help"];
  for (const [long, o] of Object.entries(options)) {
    if (o.hidden) continue;
    out.push(`--${long}`, ...aliasesOf(o).map((a) => (a.length === 1 ? `-${a}` : `--${a}`)));
  }
  return out.sort();
}

/** Container names, volume names, or image names (and short ids of unnamed images), read from the store without changing it. */
async function storeNames(kind: "image" | "container" | "volume"): Promise<string[]> {
  const { paths } = await import("./lib/paths");
  const p = paths();
  if (!existsSync(p.db)) return [];
  const { Database } = await import("bun:sqlite");
  const d = new Database(p.db, { readonly: true });
  try {
    if (kind === "container") return (await import("./lib/store/containers-table")).containerNames(d);
    if (kind === "volume") return (await import("./lib/store/volumes")).volumeNames(d);
    const named = (await import("./lib/store/images")).allImageNames(d);
    // docker.io/library/alpine:3.20 is also `alpine:3.20`, as typed.
    const short = named.filter((n) => n.startsWith("docker.io/library/")).map((n) => n.slice("docker.io/library/".length));
    return [...short, ...named];
  } catch {
    return []; // a store from another rl, or one being written: no candidates rather than an error on the terminal
  } finally {
    d.close();
  }
}

/** The script that installs completion for `shell`, calling `rl` by the name it was started as. */
export function completionScript(shell: "bash" | "zsh" | "fish"): string {
  return SCRIPTS[shell];
}

const SCRIPTS = {
  bash: `# rl completion for bash: eval "$(rl completion bash)" (e.g. in ~/.bashrc)
_rl_complete() {
  local line=\${COMP_LINE:0:$COMP_POINT} cur
  local -a words lines
  # Split the line ourselves: bash's own words break image names at ':' and options at '='.
  read -ra words <<<"$line"
  [[ $line =~ [[:space:]]$ ]] && words+=("")
  cur=\${words[-1]}
  local IFS=$'\\n'
  lines=($(command rl __complete "\${words[@]:1}" 2>/dev/null)) || return 0
  if [[ \${lines[-1]} == ":files" ]]; then
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$cur"))
    return 0
  fi
  COMPREPLY=("\${lines[@]}")
  # What bash replaces is only the part of the word after its last break character.
  local prefix=\${cur%"\${cur##*[=:]}"}
  if [[ -n $prefix && $COMP_WORDBREAKS == *"\${prefix: -1}"* ]]; then
    COMPREPLY=("\${COMPREPLY[@]#"$prefix"}")
  fi
}
complete -F _rl_complete rl
`,
  zsh: `#compdef rl
# rl completion for zsh: eval "$(rl completion zsh)" (e.g. in ~/.zshrc, after compinit)
_rl() {
  local -a lines
  lines=("\${(@f)$(command rl __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ \${lines[-1]} == ":files" ]]; then
    _files
  else
    compadd -- "\${(@)lines}"
  fi
}
compdef _rl rl
`,
  fish: `# rl completion for fish: rl completion fish | source (e.g. in ~/.config/fish/config.fish)
function __rl_complete
    set -l lines (command rl __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)
    if test (count $lines) -gt 0; and test "$lines[-1]" = ":files"
        __fish_complete_path (commandline -ct)
        return
    end
    printf '%s\\n' $lines
end
complete -c rl -f -a '(__rl_complete)'
`,
};
