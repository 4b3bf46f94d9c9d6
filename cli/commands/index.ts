import type { Verb } from "../verb";
import * as run from "./run";

/**
 * The command table, in the order help lists it: each verb is a small module in cli/commands/ (see
 * cli/verb.ts), imported only when it is the one to run. `run`, the hot path, is imported up front.
 */
export const COMMANDS: Record<string, () => Promise<Verb>> = {
  run: async () => run,
  exec: () => import("./exec"),
  ps: () => import("./ps"),
  rm: () => import("./rm"),
  create: () => import("./create"),
  start: () => import("./start"),
  attach: () => import("./attach"),
  restart: () => import("./restart"),
  logs: () => import("./logs"),
  healthcheck: () => import("./healthcheck"),
  stop: () => import("./stop"),
  kill: () => import("./kill"),
  wait: () => import("./wait"),
  port: () => import("./port"),
  inspect: () => import("./inspect"),
  stats: () => import("./stats"),
  update: () => import("./update"),
  pause: () => import("./pause"),
  unpause: () => import("./unpause"),
  rename: () => import("./rename"),
  top: () => import("./top"),
  container: () => import("./container"),
  images: () => import("./images"),
  image: () => import("./image"),
  volume: () => import("./volume"),
  pull: () => import("./pull"),
  push: () => import("./push"),
  login: () => import("./login"),
  logout: () => import("./logout"),
  tag: () => import("./tag"),
  history: () => import("./image-history"),
  rmi: () => import("./rmi"),
  load: () => import("./load"),
  save: () => import("./save"),
  import: () => import("./import"),
  export: () => import("./export"),
  cp: () => import("./cp"),
  system: () => import("./system"),
  info: () => import("./info"),
  completion: () => import("./completion"),
};
