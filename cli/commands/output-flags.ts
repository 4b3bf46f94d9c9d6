import { parseFormat } from "../lib/output-format";

/** `--format`: table, json or a Go template (`{{.Names}}`, `table {{.ID}}\t{{.Image}}`), as podman reads it. */
export const FORMAT_FLAG = {
  type: "string",
  default: "table",
  coerce: parseFormat,
  describe: "Output format: table, json, or a Go template such as '{{.Names}}' or 'table {{.ID}}\\t{{.Image}}'",
} as const;
