import type { Database } from "bun:sqlite";
import { existsSync, mkdirSync } from "node:fs";
import { join, posix } from "node:path";
import { RlError, withContext } from "../errors";
import type { Paths } from "../paths";
import { transaction } from "../store/db";
import { createVolume, findVolume, markFilled, noCopy, removeVolume, volumeData, volumeEmpty } from "../store/volumes";
import { runWorkerJob } from "../rootfs/worker-job";
import { withLocks } from "../store/locks";
import type { IdMapping } from "../security/idmap";
import { findContainer } from "../store/containers-table";
import { imageVolumeMount } from "./mounts";
import type { Spec } from "./spec";

type Mount = Spec["mounts"][number];

export interface AttachedVolumes {
  /** The user's mounts with every volume turned into a bind of its directory. */
  mounts: Mount[];
  /** Volumes this run created (removed again when it fails). */
  created: string[];
  /** Volume directories to chown to the container's user (`:U`). */
  chown: string[];
}

const norm = (dest: string) => posix.normalize(dest).replace(/(.)\/+$/, "$1");

/** `--volumes-from CTR[:ro|rw]`: the volumes and binds container CTR mounts, read-only with :ro. */
function mountsFrom(d: Database, spec: string): Mount[] {
  const [name, mode, ...rest] = spec.split(":");
  if (!name || rest.length || (mode !== undefined && mode !== "ro" && mode !== "rw")) throw new RlError(`invalid --volumes-from ${JSON.stringify(spec)}: use CONTAINER[:ro|rw]`);
  const c = findContainer(d, name);
  if (!c) throw new RlError(`cannot use the volumes of container ${name}: no such container`);
  return recordedMounts(d, c.id, { mode, chown: false });
}

/**
 * The volumes and binds container `id` mounts, as recorded when it was made (`mode`: all read-only or
 * read-write; `chown: false` leaves out `:U`, which only its own first start applies).
 */
export function recordedMounts(d: Database, id: string, o: { mode?: string; chown?: boolean } = {}): Mount[] {
  const rows = d.query("SELECT destination, volume, source, options FROM container_volumes WHERE container_id = ?").all(id) as { destination: string; volume: string | null; source: string | null; options: string }[];
  return rows.map((r) => {
    let options = (JSON.parse(r.options) as string[]).filter((opt) => o.chown !== false || opt !== "U");
    if (o.mode) options = [...options.filter((opt) => opt !== "ro" && opt !== "rw"), o.mode];
    return r.volume !== null ? { destination: r.destination, type: "volume", source: r.volume, options } : { destination: r.destination, type: "bind", source: r.source!, options };
  });
}

/**
 * Resolve the volumes of a new container `id` (recorded already): the user's volume mounts, those of
 * --volumes-from containers, and an anonymous volume for each of the image's VOLUME paths not mounted
 * otherwise. Creates the volumes missing, fills each new one from the image (`layerDirsTopFirst`) at its
 * path, and records what the container mounts.
 */
export async function attachVolumes(d: Database, p: Paths, id: string, userMounts: Mount[], volumesFrom: string[], imageVolumes: string[], layerDirsTopFirst: string[], mapping: IdMapping): Promise<AttachedVolumes> {
  const mounts = [...userMounts];
  const taken = new Set(mounts.map((m) => norm(m.destination)));
  for (const spec of volumesFrom) {
    for (const m of mountsFrom(d, spec)) if (!taken.has(norm(m.destination))) (mounts.push(m), taken.add(norm(m.destination)));
  }
  for (const m of imageVolumes.map(imageVolumeMount)) if (!taken.has(norm(m.destination))) (mounts.push(m), taken.add(norm(m.destination)));
  const created: string[] = [];
  const firstUse: { path: string; name: string }[] = [];
  const chown: string[] = [];
  try {
    const out: Mount[] = [];
    const recorded: Mount[] = [];
    for (const m of mounts) {
      if (m.type !== "volume") {
        out.push(m);
        recorded.push(m);
        continue;
      }
      let name = m.source;
      if (!name || !findVolume(d, name)) {
        try {
          name = await createVolume(d, p, { name: name || undefined, anonymous: !name });
          created.push(name);
        } catch (err) {
          // Another rl created the same name meanwhile: use theirs.
          if (!name || !findVolume(d, name)) throw err;
        }
      }
      // A record whose directory is missing (a killed create): made again, empty.
      if (!existsSync(volumeData(p, name))) {
        mkdirSync(join(p.volumes, name), { recursive: true, mode: 0o700 });
        mkdirSync(volumeData(p, name), { mode: 0o755 });
      }
      if (!findVolume(d, name)!.filled && !firstUse.some((f) => f.name === name)) firstUse.push({ path: m.destination, name });
      if (m.options.includes("U")) chown.push(volumeData(p, name));
      out.push({ destination: m.destination, type: "bind", source: volumeData(p, name), options: m.options.filter((o) => o !== "U") });
      recorded.push({ ...m, source: name });
    }
    // A container's own records: no sync of their own (as its row); none at all without mounts (rl run's hot path).
    if (recorded.length) {
      transaction(d, p.db, () => {
        const insert = d.query("INSERT OR REPLACE INTO container_volumes (container_id, destination, volume, source, options) VALUES (?, ?, ?, ?, ?)");
        for (const m of recorded) {
          if (m.type === "volume") insert.run(id, m.destination, m.source, null, JSON.stringify(m.options));
          else if (m.type === "bind") insert.run(id, m.destination, null, m.source, JSON.stringify(m.options));
        }
      }, { transient: true });
    }
    if (firstUse.length) await fillVolumes(d, p, firstUse, layerDirsTopFirst, mapping);
    return { mounts: out, created, chown };
  } catch (err) {
    await dropVolumes(d, p, id, created);
    throw err;
  }
}

/**
 * podman's copy-up: a volume not filled yet, and empty, gets the image's content at its path (unless
 * created with nocopy); once it got some, it is never filled again. Locked, so that two containers
 * starting with the same new volume do not both fill it.
 */
async function fillVolumes(d: Database, p: Paths, firstUse: { path: string; name: string }[], layerDirsTopFirst: string[], mapping: IdMapping): Promise<void> {
  await withLocks(p, firstUse.map((f) => ({ name: `volume-${f.name}`, exclusive: true })), async () => {
    const fills = firstUse.filter((f) => {
      const v = findVolume(d, f.name);
      return v && !v.filled && !noCopy(v.options) && volumeEmpty(p, f.name);
    });
    if (!fills.length) return;
    const job = { kind: "volumes" as const, layerDirs: layerDirsTopFirst, fills: fills.map((f) => ({ path: f.path, dest: volumeData(p, f.name) })), chowns: [] };
    const r = await withContext(`fill volume ${fills.map((f) => f.name).join(", ")} from the image`, () => runWorkerJob(p.tmp, job, mapping));
    fills.forEach((f, i) => r.filled?.[i] && markFilled(d, p, f.name));
  });
}

/** Undo attachVolumes for a container that does not start: its records, and the volumes its run created. */
export async function dropVolumes(d: Database, p: Paths, id: string, created: string[]): Promise<void> {
  transaction(d, p.db, () => d.query("DELETE FROM container_volumes WHERE container_id = ?").run(id), { transient: true });
  for (const name of created) await removeVolume(d, p, name).catch(() => {});
}

/** `:U`: chown the volumes' content to the container's user, from inside the user namespace. */
export async function chownVolumes(p: Paths, dirs: string[], user: { uid: number; gid: number }, mapping: IdMapping): Promise<void> {
  if (!dirs.length) return;
  await runWorkerJob(p.tmp, { kind: "volumes", layerDirs: [], fills: [], chowns: dirs.map((dir) => ({ dir, uid: user.uid, gid: user.gid })) }, mapping);
}
