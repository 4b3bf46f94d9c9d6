// Compiles a resolved seccomp policy to a classic BPF program for SECCOMP_SET_MODE_FILTER.
//
// Input (u32 words, little-endian, in the shared INPUT area; see core-as/index.ts compileSeccomp):
//   arch, badArchAction, defaultAction, unknownAction, refuseFrom, knownCount, ruleCount,
//   known[knownCount]                syscall numbers the architecture's table names
//   rules: nr, action, argc, argc × (index, op, valueLo, valueHi, twoLo, twoHi)
// Rules of one syscall keep their order: those with argument conditions are tried first, the first
// whose conditions all hold decides; then the first unconditional rule; then the default action.
// Numbers the table does not name get unknownAction (ENOSYS, so libc falls back); numbers from
// refuseFrom on (x32's on x86_64; 0: none) and a foreign architecture get badArchAction.
//
// The program: check the architecture, then a binary search over intervals of syscall numbers that
// share one outcome (the allowed numbers are mostly runs), so any syscall costs about log2(intervals)
// jumps where a linear list (libseccomp's) costs up to one per rule. Leaves return at once, or test
// the arguments (64-bit comparisons as two 32-bit halves).
import { INPUT, INPUT_SIZE } from "./sha256";

export const SC_MAX_INSNS: u32 = 4096; // BPF_MAXINSNS
export const SC_OUT: usize = memory.data(<i32>SC_MAX_INSNS * 8, 16);
const NMAX: u32 = 1024; // syscall numbers handled one by one; rules must name numbers below
const RMAX: u32 = 4096; // rules
const IMAX: u32 = NMAX + 4; // intervals
const MAX_ARGS: u32 = 6;

const HEAD: usize = memory.data(<i32>NMAX * 4, 16); // first rule of each number (+1; 0: none)
const TAIL: usize = memory.data(<i32>NMAX * 4, 16);
const KNOWN: usize = memory.data(<i32>NMAX, 16); // one byte per number
const RULE_AT: usize = memory.data(<i32>RMAX * 4, 16); // word offset of each rule in INPUT
const RULE_NEXT: usize = memory.data(<i32>RMAX * 4, 16); // next rule of the same number (+1)
const IV_START: usize = memory.data(<i32>IMAX * 4, 16);
const IV_BLOCK: usize = memory.data(<i32>IMAX * 4, 16); // 1 + syscall number for argument tests, 0: return IV_VALUE
const IV_VALUE: usize = memory.data(<i32>IMAX * 4, 16);
const IV_SIZE: usize = memory.data(<i32>IMAX * 4, 16); // instructions of the leaf

export const SC_ERR_TOO_BIG: i32 = -1; // more than BPF_MAXINSNS instructions
export const SC_ERR_BAD_ARG: i32 = -2; // argument index > 5, unknown comparison, more than 6 conditions
export const SC_ERR_INPUT: i32 = -3; // malformed input: too many rules, a number >= 1024

// Comparisons (libseccomp's enum scmp_compare).
const CMP_NE: u32 = 1;
const CMP_LT: u32 = 2;
const CMP_LE: u32 = 3;
const CMP_EQ: u32 = 4;
const CMP_GE: u32 = 5;
const CMP_GT: u32 = 6;
const CMP_MASKED_EQ: u32 = 7;

// Classic BPF opcodes.
const LD_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JA: u16 = 0x05;
const JEQ: u16 = 0x15;
const JGT: u16 = 0x25;
const JGE: u16 = 0x35;
const AND: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RET: u16 = 0x06;
// struct seccomp_data offsets.
const D_NR: u32 = 0;
const D_ARCH: u32 = 4;
const D_ARGS: u32 = 16;

let pc: u32 = 0;
let failed: i32 = 0;
let ivCount: u32 = 0;

function word(i: u32): u32 {
  return load<u32>(INPUT + (<usize>i << 2));
}

function emit(code: u16, jt: u32, jf: u32, k: u32): void {
  if (pc >= SC_MAX_INSNS) {
    failed = SC_ERR_TOO_BIG;
    return;
  }
  const at = SC_OUT + (<usize>pc << 3);
  store<u16>(at, code);
  store<u8>(at + 2, <u8>jt);
  store<u8>(at + 3, <u8>jf);
  store<u32>(at + 4, k);
  pc++;
}

function condSize(op: u32): u32 {
  if (op == CMP_EQ || op == CMP_NE) return 4;
  if (op == CMP_MASKED_EQ) return 6;
  return 5;
}

/** Instructions of one conditional rule (its conditions and its return). */
function ruleSize(at: u32): u32 {
  const argc = word(at + 2);
  let n: u32 = 1;
  for (let i: u32 = 0; i < argc; i++) n += condSize(word(at + 3 + i * 6 + 1));
  return n;
}

/** Instructions of the argument tests of syscall `nr`, ending with its fallback return. */
function blockSize(nr: u32): u32 {
  let n: u32 = 1;
  for (let r = load<u32>(HEAD + (<usize>nr << 2)); r != 0; r = load<u32>(RULE_NEXT + (<usize>(r - 1) << 2))) {
    const at = load<u32>(RULE_AT + (<usize>(r - 1) << 2));
    if (word(at + 2) > 0) n += ruleSize(at);
  }
  return n;
}

/** One condition; `fail`: the offset of the rule's end from this condition's first instruction. */
function emitCond(c: u32, fail: u32): void {
  const index = word(c), op = word(c + 1);
  const lo = word(c + 2), hi = word(c + 3), twoLo = word(c + 4), twoHi = word(c + 5);
  const hiAt = D_ARGS + index * 8 + 4, loAt = D_ARGS + index * 8;
  // Offsets are relative to the next instruction: from instruction i of the condition, the rule's
  // end is fail - i - 1 away, and the next condition (pass) size - i - 1.
  if (op == CMP_EQ) {
    emit(LD_ABS, 0, 0, hiAt);
    emit(JEQ, 0, fail - 2, hi);
    emit(LD_ABS, 0, 0, loAt);
    emit(JEQ, 0, fail - 4, lo);
  } else if (op == CMP_NE) {
    emit(LD_ABS, 0, 0, hiAt);
    emit(JEQ, 0, 2, hi);
    emit(LD_ABS, 0, 0, loAt);
    emit(JEQ, fail - 4, 0, lo);
  } else if (op == CMP_MASKED_EQ) {
    // value is the mask, valueTwo the expected result.
    emit(LD_ABS, 0, 0, hiAt);
    emit(AND, 0, 0, hi);
    emit(JEQ, 0, fail - 3, twoHi);
    emit(LD_ABS, 0, 0, loAt);
    emit(AND, 0, 0, lo);
    emit(JEQ, 0, fail - 6, twoLo);
  } else if (op == CMP_GT || op == CMP_GE) {
    emit(LD_ABS, 0, 0, hiAt);
    emit(JGT, 3, 0, hi);
    emit(JEQ, 0, fail - 3, hi);
    emit(LD_ABS, 0, 0, loAt);
    emit(op == CMP_GT ? JGT : JGE, 0, fail - 5, lo);
  } else {
    // LT: hi < vhi, or hi == vhi and lo < vlo. LE: ... lo <= vlo.
    emit(LD_ABS, 0, 0, hiAt);
    emit(JGT, fail - 2, 0, hi);
    emit(JEQ, 0, 2, hi);
    emit(LD_ABS, 0, 0, loAt);
    emit(op == CMP_LT ? JGE : JGT, fail - 5, 0, lo);
  }
}

function emitBlock(nr: u32, fallback: u32): void {
  for (let r = load<u32>(HEAD + (<usize>nr << 2)); r != 0; r = load<u32>(RULE_NEXT + (<usize>(r - 1) << 2))) {
    const at = load<u32>(RULE_AT + (<usize>(r - 1) << 2));
    const argc = word(at + 2);
    if (argc == 0) continue;
    let left = ruleSize(at);
    for (let i: u32 = 0; i < argc; i++) {
      const c = at + 3 + i * 6;
      emitCond(c, left);
      left -= condSize(word(c + 1));
    }
    emit(RET, 0, 0, word(at + 1));
  }
  emit(RET, 0, 0, fallback);
}

function addInterval(start: u32, block: u32, value: u32): void {
  // A run of numbers with one plain outcome is one interval.
  if (block == 0 && ivCount > 0) {
    const last = <usize>(ivCount - 1) << 2;
    if (load<u32>(IV_BLOCK + last) == 0 && load<u32>(IV_VALUE + last) == value) return;
  }
  const at = <usize>ivCount << 2;
  store<u32>(IV_START + at, start);
  store<u32>(IV_BLOCK + at, block);
  store<u32>(IV_VALUE + at, value);
  store<u32>(IV_SIZE + at, block == 0 ? 1 : blockSize(block - 1));
  ivCount++;
}

/** Instructions of the search over intervals [lo, hi). */
function treeSize(lo: u32, hi: u32): u32 {
  if (hi - lo == 1) return load<u32>(IV_SIZE + (<usize>lo << 2));
  const mid = (lo + hi) >> 1;
  const left = treeSize(lo, mid);
  return 1 + (left > 255 ? 1 : 0) + left + treeSize(mid, hi);
}

function emitTree(lo: u32, hi: u32): void {
  if (hi - lo == 1) {
    const at = <usize>lo << 2;
    const block = load<u32>(IV_BLOCK + at);
    if (block == 0) emit(RET, 0, 0, load<u32>(IV_VALUE + at));
    else emitBlock(block - 1, load<u32>(IV_VALUE + at));
    return;
  }
  const mid = (lo + hi) >> 1;
  const left = treeSize(lo, mid);
  const start = load<u32>(IV_START + (<usize>mid << 2));
  // nr >= start: the right half, after the left one.
  if (left <= 255) {
    emit(JGE, left, 0, start);
  } else {
    emit(JGE, 0, 1, start);
    emit(JA, 0, 0, left);
  }
  emitTree(lo, mid);
  emitTree(mid, hi);
}

/** Compiles the policy in INPUT into SC_OUT; returns the number of instructions or SC_ERR_*. */
export function seccompCompile(): i32 {
  const arch = word(0), badArch = word(1), defaultAction = word(2), unknown = word(3), refuseFrom = word(4);
  const knownCount = word(5), ruleCount = word(6);
  const limit: u32 = INPUT_SIZE >> 2;
  if (knownCount > NMAX || ruleCount > RMAX || <u32>7 + knownCount > limit) return SC_ERR_INPUT;
  if (refuseFrom != 0 && refuseFrom < NMAX) return SC_ERR_INPUT;
  memory.fill(HEAD, 0, <usize>NMAX << 2);
  memory.fill(TAIL, 0, <usize>NMAX << 2);
  memory.fill(KNOWN, 0, <usize>NMAX);
  for (let i: u32 = 0; i < knownCount; i++) {
    const nr = word(7 + i);
    if (nr >= NMAX) return SC_ERR_INPUT;
    store<u8>(KNOWN + nr, 1);
  }
  let at: u32 = 7 + knownCount;
  for (let r: u32 = 0; r < ruleCount; r++) {
    if (at + 3 > limit) return SC_ERR_INPUT;
    const nr = word(at), argc = word(at + 2);
    if (nr >= NMAX) return SC_ERR_INPUT;
    if (argc > MAX_ARGS) return SC_ERR_BAD_ARG;
    if (at + 3 + argc * 6 > limit) return SC_ERR_INPUT;
    for (let i: u32 = 0; i < argc; i++) {
      const c = at + 3 + i * 6;
      if (word(c) > 5 || word(c + 1) < CMP_NE || word(c + 1) > CMP_MASKED_EQ) return SC_ERR_BAD_ARG;
    }
    store<u32>(RULE_AT + (<usize>r << 2), at);
    store<u32>(RULE_NEXT + (<usize>r << 2), 0);
    const tail = load<u32>(TAIL + (<usize>nr << 2));
    if (tail == 0) store<u32>(HEAD + (<usize>nr << 2), r + 1);
    else store<u32>(RULE_NEXT + (<usize>(tail - 1) << 2), r + 1);
    store<u32>(TAIL + (<usize>nr << 2), r + 1);
    at += 3 + argc * 6;
  }
  // The intervals, from 0 to 2^32 - 1.
  ivCount = 0;
  for (let nr: u32 = 0; nr < NMAX; nr++) {
    let action = load<u8>(KNOWN + nr) ? defaultAction : unknown;
    let conditional = false;
    let fallbackFound = false;
    for (let r = load<u32>(HEAD + (<usize>nr << 2)); r != 0; r = load<u32>(RULE_NEXT + (<usize>(r - 1) << 2))) {
      const ra = load<u32>(RULE_AT + (<usize>(r - 1) << 2));
      if (word(ra + 2) > 0) conditional = true;
      else if (!fallbackFound) {
        action = word(ra + 1);
        fallbackFound = true;
      }
    }
    // A syscall that a rule names is known, whatever the table says.
    if (!fallbackFound && load<u32>(HEAD + (<usize>nr << 2)) != 0) action = defaultAction;
    addInterval(nr, conditional ? nr + 1 : 0, action);
  }
  if (refuseFrom != NMAX) addInterval(NMAX, 0, unknown);
  if (refuseFrom != 0) addInterval(refuseFrom, 0, badArch);
  pc = 0;
  failed = 0;
  emit(LD_ABS, 0, 0, D_ARCH);
  emit(JEQ, 1, 0, arch);
  emit(RET, 0, 0, badArch);
  emit(LD_ABS, 0, 0, D_NR);
  emitTree(0, ivCount);
  return failed != 0 ? failed : <i32>pc;
}
