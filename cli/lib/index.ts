export { RlError, EXIT_RL_ERROR, messageOf } from "./errors";
export { paths } from "./paths";
export { runContainer, type RunOptions } from "./runtime/run";
export { parseDriver } from "./rootfs/driver";
export { openDb } from "./store/db";
export { listContainers, findContainer, removeContainer, sweepStale, type ContainerRow } from "./runtime/containers";
export { portLines } from "./network/port-lines";
export { loadNetwork } from "./network/store";
export { formatPortsColumn } from "./network/ports";
