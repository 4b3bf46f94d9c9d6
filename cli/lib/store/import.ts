import type { Database } from "bun:sqlite";
import { writeAll } from "../write-all";
import { closeSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { RlError } from "../errors";
import { digestOf } from "../image/digest";
import { openLayer } from "../image/layer-stream";
import type { Compression } from "../image/compression";
import { hostPlatform } from "../image/platform";
import { imageName } from "../image/reference";
import { MEDIA, type ImageConfig, type ResolvedImage } from "../image/types";
import type { Paths } from "../paths";
import type { IdMapping } from "../security/idmap";
import { tmpName } from "./tmp-name";
import type { StoredImage } from "./images";
import { storeImage } from "./store-image";

type Config = NonNullable<ImageConfig["config"]>;

/** A JSON array as written, or a shell-form string run with /bin/sh -c (as a Dockerfile does). */
function command(value: string): string[] {
  try {
    const v = JSON.parse(value);
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v;
  } catch {}
  return ["/bin/sh", "-c", value];
}

/** Apply `--change` instructions (Dockerfile syntax: "CMD [...]", "ENV K=V"; also "CMD=..."). */
export function applyChanges(base: Config, changes: string[]): Config {
  const c: Config = { ...base };
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)(?:\s+|=)([\s\S]*)$/.exec(change);
    if (!m) throw new RlError(`invalid --change ${JSON.stringify(change)}: expected INSTRUCTION VALUE (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE)`);
    const value = m[2]!.trim();
    switch (m[1]!.toUpperCase()) {
      case "CMD":
        c.Cmd = command(value);
        break;
      case "ENTRYPOINT":
        c.Entrypoint = command(value);
        break;
      case "ENV": {
        const eq = value.indexOf("=");
        const [k, v] = eq < 0 ? value.split(/\s+(.*)/s) : [value.slice(0, eq), value.slice(eq + 1)];
        c.Env = [...(c.Env ?? []).filter((e) => !e.startsWith(`${k}=`)), `${k}=${v ?? ""}`];
        break;
      }
      case "WORKDIR":
        c.WorkingDir = value;
        break;
      case "USER":
        c.User = value;
        break;
      case "LABEL": {
        const eq = value.indexOf("=");
        if (eq < 0) throw new RlError(`invalid --change ${JSON.stringify(change)}: LABEL needs KEY=VALUE`);
        c.Labels = { ...(c.Labels ?? {}), [value.slice(0, eq)]: value.slice(eq + 1).replace(/^"(.*)"$/, "$1") };
        break;
      }
      case "EXPOSE":
        c.ExposedPorts = { ...(c.ExposedPorts ?? {}), [value.includes("/") ? value : `${value}/tcp`]: {} };
        break;
      default:
        throw new RlError(`invalid --change ${JSON.stringify(change)}: ${m[1]} is not supported (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE)`);
    }
  }
  return c;
}

const OCI_LAYER: Record<Compression, string> = {
  none: "application/vnd.oci.image.layer.v1.tar",
  gzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  zstd: "application/vnd.oci.image.layer.v1.tar+zstd",
};

/**
 * `import`: a root filesystem tarball (plain, gzip or zstd; a file or stdin) becomes a one-layer image.
 * The tarball's bytes are kept as the layer blob as they are.
 */
export async function importTarball(d: Database, p: Paths, file: string | undefined, ref: string | undefined, changes: string[], mapping: IdMapping): Promise<StoredImage> {
  const names = ref ? [imageName(ref)] : [];
  mkdirSync(p.tmp, { recursive: true, mode: 0o700 });
  const config0 = applyChanges({}, changes);
  let path = file;
  let spooled: string | undefined;
  try {
    if (!file) {
      spooled = `${tmpName(p, "import")}.tar`;
      const fd = openSync(spooled, "wx", 0o600);
      try {
        for await (const c of Bun.stdin.stream() as unknown as AsyncIterable<Uint8Array>) writeAll(fd, c);
      } finally {
        closeSync(fd);
      }
      path = spooled;
    }
    let size: number;
    try {
      size = statSync(path!).size;
    } catch {
      throw new RlError(`${file}: no such file`);
    }
    if (size === 0) throw new RlError(`${file ?? "stdin"} is empty`);
    const probe = openLayer({ file: path!, offset: 0, size, mediaType: "", diffId: "" });
    for await (const _ of probe.chunks);
    const layer = probe.verify();
    const now = new Date().toISOString();
    const platform = hostPlatform();
    const config: ImageConfig = {
      created: now,
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: config0,
      rootfs: { type: "layers", diff_ids: [layer.diffId] },
      history: [{ created: now, created_by: `rl import ${file ?? "-"}`, comment: "imported from tarball" }],
    };
    const enc = new TextEncoder();
    const configBytes = enc.encode(JSON.stringify(config));
    const id = digestOf(configBytes);
    const layerDesc = { mediaType: OCI_LAYER[layer.compression], digest: layer.digest, size: layer.size };
    const manifestBytes = enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, digest: id, size: configBytes.length }, layers: [layerDesc] }));
    const img: ResolvedImage = {
      source: file ?? "stdin",
      id,
      manifestDigest: digestOf(manifestBytes),
      manifestBytes,
      configBytes,
      config,
      layers: [{ file: path!, offset: 0, size, mediaType: layerDesc.mediaType, digest: layer.digest, diffId: layer.diffId }],
      names,
    };
    return await storeImage(d, p, img, mapping);
  } finally {
    if (spooled) rmSync(spooled, { force: true });
  }
}
