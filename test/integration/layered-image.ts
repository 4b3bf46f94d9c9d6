import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, linkSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { digestOf } from "../../cli/lib/image/digest";
import { FIXTURES } from "./harness";

const BUSYBOX_DIR = `${FIXTURES}/oci/busybox-1.38.0-musl-amd64`;

function tar(cwd: string, args: string[]): Uint8Array {
  const r = Bun.spawnSync(["tar", "-C", cwd, "--numeric-owner", "--sort=name", "--mtime=2024-01-01", ...args, "-cf", "-", "."], { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tar: ${r.stderr}`);
  return new Uint8Array(r.stdout);
}

/** GNU tar appends one archive to another: concatenating two single-owner trees into one layer. */
function joinTars(dir: string, a: Uint8Array, b: Uint8Array): Uint8Array {
  writeFileSync(join(dir, "a.tar"), a);
  writeFileSync(join(dir, "b.tar"), b);
  const r = Bun.spawnSync(["tar", "-Af", join(dir, "a.tar"), join(dir, "b.tar")]);
  if (r.exitCode !== 0) throw new Error("tar -A failed");
  return readFileSync(join(dir, "a.tar"));
}

/**
 * An OCI layout (ref "layered") on busybox with two more layers that exercise overlay semantics:
 * layer 2 adds files, a hardlink pair, a setuid file, a fifo, a symlink and a file owned by 42:42;
 * layer 3 deletes a file (.wh.), makes a directory opaque (.wh..wh..opq) and replaces a symlink
 * with a directory.
 */
export function makeLayeredImage(dir: string): string {
  const work = join(dir, "work");
  const l2 = join(work, "l2"), l2b = join(work, "l2b"), l3 = join(work, "l3");
  for (const d of [l2, l2b, l3]) mkdirSync(d, { recursive: true });
  mkdirSync(join(l2, "data/keep"), { recursive: true });
  mkdirSync(join(l2, "data/opaque"), { recursive: true });
  writeFileSync(join(l2, "data/gone"), "to be deleted\n");
  writeFileSync(join(l2, "data/keep/file"), "kept\n");
  writeFileSync(join(l2, "data/opaque/old"), "hidden by layer 3\n");
  writeFileSync(join(l2, "data/suid"), "#!/bin/sh\n");
  chmodSync(join(l2, "data/suid"), 0o4755);
  linkSync(join(l2, "data/keep/file"), join(l2, "data/keep/hardlink"));
  symlinkSync("keep", join(l2, "data/link"));
  Bun.spawnSync(["mkfifo", join(l2, "data/fifo")]);
  mkdirSync(join(l2b, "data"));
  writeFileSync(join(l2b, "data/owned42"), "by 42\n");
  mkdirSync(join(l3, "data/opaque"), { recursive: true });
  mkdirSync(join(l3, "data/link"));
  writeFileSync(join(l3, "data/.wh.gone"), "");
  writeFileSync(join(l3, "data/opaque/.wh..wh..opq"), "");
  writeFileSync(join(l3, "data/opaque/new"), "only this\n");
  writeFileSync(join(l3, "data/link/inside"), "a dir now\n");
  const layer2 = joinTars(work, tar(l2, ["--owner=0", "--group=0"]), tar(l2b, ["--owner=42", "--group=42"]));
  const layer3 = tar(l3, ["--owner=0", "--group=0"]);

  const baseIndex = JSON.parse(readFileSync(join(BUSYBOX_DIR, "index.json"), "utf8"));
  const baseManifest = JSON.parse(readFileSync(join(BUSYBOX_DIR, "blobs", baseIndex.manifests[0].digest.replace(":", "/")), "utf8"));
  const baseConfig = JSON.parse(readFileSync(join(BUSYBOX_DIR, "blobs", baseManifest.config.digest.replace(":", "/")), "utf8"));

  const layout = join(dir, "layout");
  mkdirSync(join(layout, "blobs/sha256"), { recursive: true });
  const put = (bytes: Uint8Array) => {
    const digest = digestOf(bytes);
    writeFileSync(join(layout, "blobs", digest.replace(":", "/")), bytes);
    return { digest, size: bytes.length };
  };
  const baseLayer = baseManifest.layers[0];
  appendFileSync(join(layout, "blobs", baseLayer.digest.replace(":", "/")), readFileSync(join(BUSYBOX_DIR, "blobs", baseLayer.digest.replace(":", "/"))));
  const tarType = "application/vnd.oci.image.layer.v1.tar";
  const layers = [baseLayer, { mediaType: tarType, ...put(layer2) }, { mediaType: tarType, ...put(layer3) }];
  const config = { ...baseConfig, rootfs: { type: "layers", diff_ids: [...baseConfig.rootfs.diff_ids, digestOf(layer2), digestOf(layer3)] } };
  const configDesc = { mediaType: "application/vnd.oci.image.config.v1+json", ...put(new TextEncoder().encode(JSON.stringify(config))) };
  const manifest = { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: configDesc, layers };
  const manifestDesc = { mediaType: manifest.mediaType, ...put(new TextEncoder().encode(JSON.stringify(manifest))), annotations: { "org.opencontainers.image.ref.name": "layered" } };
  writeFileSync(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(layout, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [manifestDesc] }));
  return `oci:${layout}:layered`;
}
