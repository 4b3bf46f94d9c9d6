/** `--format table|json`, the output choice of the listing verbs. */
export const FORMAT_FLAG = { type: "string", choices: ["table", "json"], default: "table", describe: "Output format" } as const;
