/** OCI image-spec shapes (docker schema2 uses the same fields). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: Platform & { "os.version"?: string };
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface Index {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[] | null;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  config?: {
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
    Volumes?: Record<string, object>;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  rootfs: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

/** A layer to unpack: where its bytes are and what they must hash to. */
export interface LayerSource {
  /** File holding the blob, and the byte range of the blob inside it (archives keep blobs as tar members). */
  file: string;
  offset: number;
  size: number;
  mediaType: string;
  /** Digest of the bytes as stored (compressed), when the source names one. */
  digest?: string;
  diffId: string;
  /**
   * `file` is still being written (a download, from offset 0): read it as it grows, to `size` bytes. When it
   * is gone, the download either failed (then reading fails) or landed at `final`, read from there.
   */
  growing?: { final: string };
}

/** An image read from a source, ready to be stored. */
export interface ResolvedImage {
  /** Where it came from, as the user wrote it. */
  source: string;
  /** Config digest: the image id. */
  id: string;
  manifestDigest?: string;
  manifestBytes?: Uint8Array;
  configBytes: Uint8Array;
  config: ImageConfig;
  layers: LayerSource[];
  /** Names to tag the stored image with (docker-archive RepoTags). */
  names: string[];
}

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;
