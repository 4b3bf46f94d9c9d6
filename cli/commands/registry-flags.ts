import type { Options } from "yargs";
import type { ImageOptions } from "../lib/runtime/run-options";
import { checkAuthFile } from "../lib/registry/auth-file";
import { parsePullPolicy } from "../lib/registry/pull-policy";
import type { RegistryOptions, TlsVerify } from "../lib/registry/options";

/** Flags of every verb that talks to a registry (not a verb itself). */
export const REGISTRY_FLAGS = {
  "tls-verify": {
    type: "boolean",
    describe: "Require HTTPS and verify certificates, even for a registry marked insecure in registries.conf (--tls-verify=false: allow http and unverified TLS; unset: registries.conf decides)",
  },
  creds: { type: "string", describe: "Credentials USERNAME:PASSWORD for the registry" },
  authfile: { type: "string", describe: "Credentials file (default: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json)" },
} as const satisfies Record<string, Options>;

/** Flags that choose what to pull. */
export const PULL_FLAGS = {
  ...REGISTRY_FLAGS,
  platform: { type: "string", describe: "Platform to choose from a multi-platform image: os/arch[/variant]" },
  os: { type: "string", describe: "Operating system to choose (e.g. linux), instead of the host's" },
  arch: { type: "string", describe: "Architecture to choose (e.g. arm64), instead of the host's" },
  variant: { type: "string", describe: "Variant to choose (e.g. v7 for arm)" },
  quiet: { alias: "q", type: "boolean", default: false, describe: "Print no progress while pulling" },
} as const satisfies Record<string, Options>;

/** --tls-verify as given: true, false, or undefined when absent (registries.conf decides). */
export function tlsVerifyOf(a: Record<string, unknown>): TlsVerify {
  return a["tls-verify"] === undefined ? undefined : Boolean(a["tls-verify"]);
}

export function registryOptions(a: Record<string, unknown>): RegistryOptions {
  checkAuthFile(a.authfile as string | undefined);
  return { tlsVerify: tlsVerifyOf(a), creds: a.creds as string | undefined, authfile: a.authfile as string | undefined };
}

export function imageOptions(a: Record<string, unknown>): ImageOptions {
  return {
    ...registryOptions(a),
    platform: a.platform as string | undefined,
    os: a.os as string | undefined,
    arch: a.arch as string | undefined,
    variant: a.variant as string | undefined,
    pull: a.pull === undefined ? undefined : parsePullPolicy(String(a.pull)),
    quiet: Boolean(a.quiet),
  };
}
