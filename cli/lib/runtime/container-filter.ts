import type { Database } from "bun:sqlite";
import { labelMatches, nameMatches, parseFilters, requireReference, untilTimes } from "../filters";
import { shortName } from "../image/reference";
import { networkModeName } from "../network/options";
import { loadNetwork } from "../network/store";
import { findImage } from "../store/images";
import { containerVolumeNames } from "../store/volumes";
import { shownState } from "../store/container-state";
import { type ContainerRow } from "../store/containers-table";
import { pausedContainers } from "./cgroup/container-cgroup";

/** `--filter` for containers, docker's keys; `before`/`since` name a container, `ancestor` an image (name or id). */
export function containerFilter(d: Database, all: ContainerRow[], filters: string[]) {
  const byRef = (value: string) => all.find((c) => c.name === value || c.id.startsWith(value));
  const created = (key: string, value: string) => requireReference(byRef(value), key, value, "container").created;
  let paused: Set<string> | undefined;
  return parseFilters<ContainerRow>(filters, {
    id: (r, v) => r.id.startsWith(v),
    name: (r, v) => nameMatches(r.name, v),
    status: (r, v) => shownState(r, (paused ??= pausedContainers(d))) === v,
    exited: (r, v) => r.state === "exited" && String(r.exit_code) === v,
    ancestor: (r, v) => {
      const img = findImage(d, v);
      return img ? img.id === r.image_id : r.image_name === v || shortName(r.image_name) === v;
    },
    label: (r, v) => labelMatches(labelsOf(d, r), v),
    before: (r, v) => r.created < created("before", v),
    since: (r, v) => r.created > created("since", v),
    network: (r, v) => {
      const n = loadNetwork(d, r.id);
      return n ? networkModeName(n.config) === v : v === "none";
    },
    volume: (r, v) => [...containerVolumeNames(d, r.id)].some(([dest, name]) => name === v || dest === v),
  });
}

/** `container prune --filter`, podman's keys: until (created before a time, or that long ago) and label. */
export function containerPruneFilter(d: Database, filters: string[]) {
  const until = untilTimes(filters);
  return parseFilters<ContainerRow>(filters, {
    until: (r, v) => r.created < until.get(v)!,
    label: (r, v) => labelMatches(labelsOf(d, r), v),
  });
}

/** A container's labels: its image's (rl run has no --label). */
const labelsOf = (d: Database, r: ContainerRow) => findImage(d, r.image_id)?.config.config?.Labels ?? {};
