// cli/commands/start.ts still imports processRuns from here; it lives in store/container-state.ts. This
// file goes once start.ts imports it from there (left alone while rl attach changes it).
export { processRuns } from "../store/container-state";
