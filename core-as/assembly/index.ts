// Entry point of the WASM core: re-exports what core-as/index.ts calls.
export { parseTarHeader } from "./tar-header";
import { BLOCK, OUT } from "./tar-header";

/** Address of the 512-byte input block. */
export function blockPtr(): usize {
  return BLOCK;
}

/** Address of the results area. */
export function outPtr(): usize {
  return OUT;
}
