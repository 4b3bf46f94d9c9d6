import { RlError } from "../errors";
import type { Descriptor, Platform } from "./types";

const ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" };

export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  return architecture === "arm64" ? { os: "linux", architecture, variant: "v8" } : { os: "linux", architecture };
}

/** Parse `os/arch[/variant]` as podman's --platform does. */
export function parsePlatform(text: string): Platform {
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new RlError(`invalid platform ${JSON.stringify(text)}: expected os/arch[/variant], e.g. linux/amd64 or linux/arm/v7`);
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** The platform to pull or run: --platform, else the host's, with --os/--arch/--variant replacing parts. */
export function wantedPlatform(o: { platform?: string; os?: string; arch?: string; variant?: string }): Platform {
  const base = o.platform ? parsePlatform(o.platform) : hostPlatform();
  if (!o.os && !o.arch && !o.variant) return base;
  const p: Platform = { os: o.os || base.os, architecture: o.arch || base.architecture };
  const variant = o.variant || (o.arch ? undefined : base.variant);
  return variant ? { ...p, variant } : p;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** Variants that are implied when absent (arm64 means v8). */
function normalVariant(p: Platform): string | undefined {
  if (p.architecture === "arm64" && (!p.variant || p.variant === "v8")) return "v8";
  return p.variant || undefined;
}

export function platformMatches(want: Platform, have: Platform): boolean {
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  const wv = normalVariant(want);
  return !wv || wv === normalVariant(have);
}

/** Choose the manifest for `want` from an index, skipping attestations (unknown/unknown). */
export function selectManifest(manifests: Descriptor[], want: Platform, where: string): Descriptor {
  const candidates = manifests.filter((d) => d.platform && d.platform.os !== "unknown");
  const match = candidates.find((d) => platformMatches(want, d.platform!));
  if (match) return match;
  const offered = candidates.map((d) => formatPlatform(d.platform!)).join(", ") || "none";
  throw new RlError(`no image for platform ${formatPlatform(want)} in ${where} (it has: ${offered})`);
}
