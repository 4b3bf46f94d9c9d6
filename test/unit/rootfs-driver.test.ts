import { afterEach, describe, expect, test } from "bun:test";
import { driverCandidates, mountsOverlayRoot, rootfsOps } from "../../cli/lib/rootfs/driver";

const layout = { layerDirs: ["/s/layers/a", "/s/layers/b"], layersRoot: "/s/layers", containerDir: "/s/containers/c" };

describe("storage drivers: which are tried, and how each mounts", () => {
  const saved = { env: process.env.RL_STORAGE_DRIVER, path: process.env.PATH };
  afterEach(() => {
    if (saved.env === undefined) delete process.env.RL_STORAGE_DRIVER;
    else process.env.RL_STORAGE_DRIVER = saved.env;
    process.env.PATH = saved.path;
  });

  test("--storage-driver wins over RL_STORAGE_DRIVER, which is checked", () => {
    process.env.RL_STORAGE_DRIVER = "vfs";
    expect(driverCandidates("overlay")).toEqual(["overlay"]);
    expect(driverCandidates(undefined)).toEqual(["vfs"]);
    process.env.RL_STORAGE_DRIVER = "overlay2";
    expect(() => driverCandidates(undefined)).toThrow('unknown RL_STORAGE_DRIVER "overlay2": use overlay, fuse-overlayfs or vfs');
  });

  test("by default fuse-overlayfs is tried only where it is on PATH", () => {
    delete process.env.RL_STORAGE_DRIVER;
    process.env.PATH = "/nonexistent";
    expect(driverCandidates(undefined)).toEqual(["overlay", "vfs"]);
    expect(() => rootfsOps("fuse-overlayfs", layout)).toThrow("cannot use the storage driver fuse-overlayfs: fuse-overlayfs is not installed");
  });

  test("kernel overlay: lower dirs top first, relative to the layer store (the options fit in a page)", () => {
    expect(rootfsOps("overlay", layout)).toEqual([
      { op: "chdir", path: "/s/layers" },
      { op: "mount", src: "overlay", target: "/s/containers/c/merged", fstype: "overlay", flags: 0, data: "lowerdir=b:a,upperdir=/s/containers/c/upper,workdir=/s/containers/c/work,userxattr" },
    ]);
  });

  test("fuse-overlayfs: its daemon gets absolute paths (it never runs inside the container's root)", () => {
    const bin = Bun.which("fuse-overlayfs");
    if (!bin) {
      console.log("fuse-overlayfs is not installed: its op is not checked here (the integration tests need it)");
      return;
    }
    expect(rootfsOps("fuse-overlayfs", layout)).toEqual([
      { op: "spawnWait", argv: [bin, "-o", "lowerdir=/s/layers/b:/s/layers/a,upperdir=/s/containers/c/upper,workdir=/s/containers/c/work", "/s/containers/c/merged"] },
    ]);
  });

  test("vfs: the copy is bound onto itself", () => {
    expect(rootfsOps("vfs", layout)).toEqual([{ op: "mount", src: "/s/containers/c/rootfs", target: "/s/containers/c/rootfs", fstype: "", flags: 4096 | 16384, data: "" }]);
  });

  test("a start that fails at the overlay or fuse-overlayfs mount of the root tries the next driver; at vfs's bind or any other op it does not", () => {
    const [chdir, overlay] = rootfsOps("overlay", layout);
    expect(mountsOverlayRoot(overlay!)).toBe(true);
    expect(mountsOverlayRoot(chdir!)).toBe(false);
    expect(mountsOverlayRoot({ op: "spawnWait", argv: ["/usr/bin/fuse-overlayfs", "-o", "lowerdir=/l,upperdir=/u,workdir=/w", "/m"] })).toBe(true);
    expect(mountsOverlayRoot(rootfsOps("vfs", layout)[0]!)).toBe(false);
    expect(mountsOverlayRoot({ op: "mountIn", src: "proc", target: "/proc", fstype: "proc", flags: 0, data: "" })).toBe(false);
  });
});
