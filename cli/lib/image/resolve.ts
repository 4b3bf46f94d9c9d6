import { existsSync, statSync } from "node:fs";
import { RlError } from "../errors";
import { archiveFiles, directoryFiles } from "./files";
import { resolveOciLayout } from "./oci-layout";
import { resolveDockerArchive } from "./docker-archive";
import type { ImageRef } from "./reference";
import type { Platform, ResolvedImage } from "./types";

/** Read an image from a transport source (oci:, oci-archive:, docker-archive:) for `platform`. */
export async function resolveSource(ref: Exclude<ImageRef, { transport: "store" | "docker" }>, platform: Platform): Promise<ResolvedImage> {
  if (!existsSync(ref.path)) throw new RlError(`${ref.path}: no such file or directory`);
  const isDir = statSync(ref.path).isDirectory();
  switch (ref.transport) {
    case "oci":
      if (!isDir) throw new RlError(`${ref.path} is not a directory (for an archive use oci-archive:)`);
      return resolveOciLayout(directoryFiles(ref.path), ref.ref, platform, ref.text);
    case "oci-archive":
      if (isDir) throw new RlError(`${ref.path} is a directory (for an OCI layout use oci:)`);
      return resolveOciLayout(await archiveFiles(ref.path), ref.ref, platform, ref.text);
    case "docker-archive":
      if (isDir) throw new RlError(`${ref.path} is a directory, not a docker-archive file`);
      return resolveDockerArchive(await archiveFiles(ref.path), ref.ref, ref.text);
  }
}
