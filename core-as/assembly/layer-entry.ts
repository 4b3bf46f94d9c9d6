// What to do with one tar entry of a layer: the name normalized and classified (plain, OCI whiteout,
// opaque marker, root), then a decision from the entry's type and what already exists at its path.
// JS writes the name to PATH_IN, calls planPath(len), reads PLAN and PATH_OUT; it does all the I/O.
// Each layer is unpacked into its own empty directory, so whatever exists there was created by an
// earlier entry of the same layer.

export const PATH_MAX: u32 = 4096;
/** The entry name as stored (UTF-8). */
export const PATH_IN: usize = memory.data(PATH_MAX, 16);
/** The normalized relative path ("a/b", "" for the root). */
export const PATH_OUT: usize = memory.data(PATH_MAX, 16);

/** Results of planPath, u32 each. Layout shared with core-as/index.ts. */
export const PLAN: usize = memory.data(32, 16);
const PLAN_LEN: usize = 0; // length of PATH_OUT
const PLAN_PARENT_LEN: usize = 4; // length of the parent part ("a" in "a/b"; 0 at top level)
const PLAN_NAME_OFF: usize = 8; // last component
const PLAN_NAME_LEN: usize = 12;
const PLAN_CLASS: usize = 16; // NAME_*
const PLAN_TARGET_OFF: usize = 20; // whiteouts: the name they hide
const PLAN_TARGET_LEN: usize = 24;

export const NAME_ROOT: u32 = 0;
export const NAME_PLAIN: u32 = 1;
export const NAME_WHITEOUT: u32 = 2; // .wh.NAME
export const NAME_OPAQUE: u32 = 3; // .wh..wh..opq
export const NAME_AUFS_META: u32 = 4; // other .wh..wh.* (AUFS bookkeeping; ignored)

// Reasons for refusing an entry; JS has the messages.
export const OK: i32 = 0;
export const REJECT_ESCAPE: i32 = 1;
export const REJECT_TOO_LONG: i32 = 2;
export const REJECT_NUL: i32 = 3;
export const REJECT_BAD_WHITEOUT: i32 = 4;
export const REJECT_WHITEOUT_SAME_LAYER: i32 = 5;
export const REJECT_LINK_TARGET: i32 = 6;
export const REJECT_ROOT_NOT_DIR: i32 = 7;
export const REJECT_EMPTY: i32 = 8;

// Entry types (as core-as/index.ts numbers them).
export const T_FILE: u32 = 0;
export const T_DIR: u32 = 1;
export const T_SYMLINK: u32 = 2;
export const T_HARDLINK: u32 = 3;
export const T_CHAR: u32 = 4;
export const T_BLOCK: u32 = 5;
export const T_FIFO: u32 = 6;
export const T_OTHER: u32 = 7;

// What exists at a path (for a whiteout: at the name it hides).
export const E_NONE: u32 = 0;
export const E_DIR: u32 = 1;
export const E_WHITEOUT: u32 = 2; // char 0/0
export const E_OTHER: u32 = 3;

// Decisions (>= 0; a refusal is returned as -REJECT_*).
export const A_CREATE: i32 = 0;
export const A_REPLACE: i32 = 1; // remove what is there (not a directory), then create
export const A_UPDATE_DIR: i32 = 2; // the directory exists: set its metadata
export const A_WHITEOUT: i32 = 3; // char 0/0 at the hidden name
export const A_OPAQUE: i32 = 4; // user.overlay.opaque=y on the parent
export const A_SKIP_DEVICE: i32 = 5;
export const A_SKIP: i32 = 6;
export const A_ROOT: i32 = 7; // metadata of the layer directory itself
export const A_REPLACE_DIR: i32 = 8; // remove the directory there with all it holds, then create

const SLASH: u8 = 0x2f;
const DOT: u8 = 0x2e;

/** Whether `len` bytes at `p` equal the ASCII string `s`. */
export function bytesEqual(p: usize, len: u32, s: string): bool {
  if (<u32>s.length != len) return false;
  for (let i: u32 = 0; i < len; i++) if (<u32>load<u8>(p + <usize>i) != <u32>s.charCodeAt(<i32>i)) return false;
  return true;
}

/** Whether the `len` bytes at `p` start with the ASCII string `s`. */
export function startsWith(p: usize, len: u32, s: string): bool {
  return len >= <u32>s.length && bytesEqual(p, <u32>s.length, s);
}

/**
 * Normalizes the `len`-byte name at PATH_IN into PATH_OUT: "./" and empty components are dropped,
 * "//" collapses, ".." removes the previous component. A leading "/" is the layer's root, as in
 * docker's and containers/storage's unpackers (kaniko starts every layer with a "/" entry); any
 * ".." that would climb out of the layer is refused. Classifies the last component. Returns OK or a
 * REJECT_* reason.
 */
export function planPath(len: u32): i32 {
  if (len > PATH_MAX) return REJECT_TOO_LONG;
  if (len == 0) return REJECT_EMPTY;
  let out: u32 = 0;
  let i: u32 = 0;
  while (i < len) {
    let j = i;
    while (j < len && load<u8>(PATH_IN + <usize>j) != SLASH) {
      if (load<u8>(PATH_IN + <usize>j) == 0) return REJECT_NUL;
      j++;
    }
    const n = j - i;
    const c = PATH_IN + <usize>i;
    if (n == 0 || (n == 1 && load<u8>(c) == DOT)) {
      // empty or "." component
    } else if (n == 2 && load<u8>(c) == DOT && load<u8>(c + 1) == DOT) {
      if (out == 0) return REJECT_ESCAPE;
      while (out > 0 && load<u8>(PATH_OUT + <usize>(out - 1)) != SLASH) out--;
      if (out > 0) out--; // the separator before it
    } else {
      if (out > 0) {
        store<u8>(PATH_OUT + <usize>out, SLASH);
        out++;
      }
      memory.copy(PATH_OUT + <usize>out, c, <usize>n);
      out += n;
    }
    i = j + 1;
  }
  store<u32>(PLAN + PLAN_LEN, out);
  let slash: i32 = <i32>out - 1;
  while (slash >= 0 && load<u8>(PATH_OUT + <usize>slash) != SLASH) slash--;
  const nameOff = <u32>(slash + 1);
  const nameLen = out - nameOff;
  store<u32>(PLAN + PLAN_PARENT_LEN, slash < 0 ? 0 : <u32>slash);
  store<u32>(PLAN + PLAN_NAME_OFF, nameOff);
  store<u32>(PLAN + PLAN_NAME_LEN, nameLen);
  store<u32>(PLAN + PLAN_TARGET_OFF, 0);
  store<u32>(PLAN + PLAN_TARGET_LEN, 0);
  const name = PATH_OUT + <usize>nameOff;
  let cls = NAME_PLAIN;
  if (out == 0) cls = NAME_ROOT;
  else if (bytesEqual(name, nameLen, ".wh..wh..opq")) cls = NAME_OPAQUE;
  else if (startsWith(name, nameLen, ".wh..wh.")) cls = NAME_AUFS_META;
  else if (startsWith(name, nameLen, ".wh.")) {
    const t = name + 4;
    const tLen = nameLen - 4;
    if (tLen == 0 || bytesEqual(t, tLen, ".") || bytesEqual(t, tLen, "..")) return REJECT_BAD_WHITEOUT;
    cls = NAME_WHITEOUT;
    store<u32>(PLAN + PLAN_TARGET_OFF, nameOff + 4);
    store<u32>(PLAN + PLAN_TARGET_LEN, tLen);
  }
  store<u32>(PLAN + PLAN_CLASS, cls);
  return OK;
}

/**
 * The decision for an entry of `type` whose name planPath classified as `cls`, with `existing`
 * at its path (for a whiteout: at the name it hides). For hardlinks, `linkCls` and `linkExisting`
 * describe the link's target. An entry repeated in a layer replaces the earlier one (a directory
 * with all it holds), but for two directories, which merge: the last one wins, as in docker's and
 * containers/storage's unpackers. Returns an A_* decision, or -REJECT_*.
 */
export function decideEntry(type: u32, cls: u32, existing: u32, linkCls: u32, linkExisting: u32): i32 {
  switch (cls) {
    case NAME_ROOT:
      return type == T_DIR ? A_ROOT : -REJECT_ROOT_NOT_DIR;
    case NAME_AUFS_META:
      return A_SKIP;
    case NAME_OPAQUE:
      return A_OPAQUE;
    case NAME_WHITEOUT:
      // OCI: a whiteout hides lower layers only; hiding an entry of its own layer is invalid.
      if (existing == E_NONE) return A_WHITEOUT;
      if (existing == E_WHITEOUT) return A_SKIP;
      return -REJECT_WHITEOUT_SAME_LAYER;
  }
  if (type == T_CHAR || type == T_BLOCK) return A_SKIP_DEVICE;
  if (type == T_OTHER) return A_SKIP;
  if (type == T_HARDLINK && (linkCls != NAME_PLAIN || linkExisting != E_OTHER)) return -REJECT_LINK_TARGET;
  if (existing == E_NONE) return A_CREATE;
  if (existing == E_DIR) return type == T_DIR ? A_UPDATE_DIR : A_REPLACE_DIR;
  return A_REPLACE;
}
