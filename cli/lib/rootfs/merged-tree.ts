/** What an overlay of layer directories shows: the rules the confined walk (confined-tree.ts) and the copies of it follow. */

/** Xattrs that carry overlay's own bookkeeping (opaque markers), not the image's content. */
export const isOverlayXattr = (name: string) => /^(user|trusted)\.(overlay|fuseoverlayfs)\./.test(name);

/** The xattrs that mark a directory opaque, in the formats of overlayfs (rootless, rootful) and fuse-overlayfs. */
export const OPAQUE_XATTRS = ["user.overlay.opaque", "user.fuseoverlayfs.opaque", "trusted.overlay.opaque"];

/** An opaque marker's value says yes ("y"). */
export const isOpaqueValue = (v: Uint8Array | undefined) => v !== undefined && v[0] === 0x79;

/**
 * Which layer each visible name of one directory comes from, given that directory's listing in each
 * layer (top first; `opaque`: the directory is opaque there): names sorted, whited-out ones left out.
 * Whiteouts in fuse-overlayfs's `.wh.NAME` form and `.wh..wh..opq` are read here; char 0/0 whiteouts
 * are seen by the caller when it looks at the entry.
 */
export function visibleNames(layers: { names: string[]; opaque: boolean }[]): [string, number][] {
  const seen = new Map<string, number>(); // name → index of the topmost layer that has it (-1: whited out)
  for (let i = 0; i < layers.length; i++) {
    const { names, opaque } = layers[i]!;
    for (const n of names) if (n.startsWith(".wh.") && n !== ".wh..wh..opq" && !seen.has(n.slice(4))) seen.set(n.slice(4), -1);
    for (const n of names) if (!n.startsWith(".wh.") && !seen.has(n)) seen.set(n, i);
    if (opaque || names.includes(".wh..wh..opq")) break;
  }
  return [...seen.entries()].filter(([, i]) => i >= 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
