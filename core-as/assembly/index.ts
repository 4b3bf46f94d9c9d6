// Entry point of the WASM core: re-exports what core-as/index.ts calls.
export { tarHeader, tarMetaEnd, tarReset, tarReserve, tarSparseBlock } from "./tar-stream";
export { sha256Init, sha256Update, sha256Final, digestCompare, chainIds } from "./sha256";
export { planPath, decideEntry } from "./layer-entry";
export { zstdScanInit, zstdScanUpdate, zstdScanFinish } from "./zstd-frames";
import { ZSTATE } from "./zstd-frames";
import { BLOCK, OUT } from "./tar-header";
import { TSTATE, TSTATE_BYTES, DATA } from "./tar-stream";
import { PATH_IN, PATH_OUT, PLAN, PATH_MAX } from "./layer-entry";
import { CTX, INPUT, INPUT_SIZE, DIGEST } from "./sha256";

/** Address of the 512-byte input block. */
export function blockPtr(): usize {
  return BLOCK;
}

/** Address of the results area. */
export function outPtr(): usize {
  return OUT;
}

/** Address and size of a tar stream's state, and the address of its data area (metadata bodies). */
export function tarStatePtr(): usize {
  return TSTATE;
}
export function tarStateSize(): u32 {
  return TSTATE_BYTES;
}
export function tarDataPtr(): usize {
  return DATA;
}

/** Addresses and size of the SHA-256 areas: context, input, digest. */
export function shaCtxPtr(): usize {
  return CTX;
}
export function shaInputPtr(): usize {
  return INPUT;
}
export function shaInputSize(): u32 {
  return INPUT_SIZE;
}
export function shaDigestPtr(): usize {
  return DIGEST;
}

/** Addresses of the layer-entry areas: name in, normalized path out, plan results; and the name limit. */
export function pathInPtr(): usize {
  return PATH_IN;
}
export function pathOutPtr(): usize {
  return PATH_OUT;
}
export function planPtr(): usize {
  return PLAN;
}
export function pathMax(): u32 {
  return PATH_MAX;
}

/** Address of the zstd scanner's state. */
export function zstdStatePtr(): usize {
  return ZSTATE;
}

export { seccompCompile } from "./seccomp";
import { SC_OUT } from "./seccomp";

/** Address of the compiled seccomp program (the policy goes in the SHA-256 input area). */
export function seccompOutPtr(): usize {
  return SC_OUT;
}
