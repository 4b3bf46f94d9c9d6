/**
 * The setup steps the C executor (helpers/executor.c) applies in the container's first process,
 * in order, before it execs. Opcodes must match the enum there.
 */
export type Op = BaseOp & { optional?: boolean };

type BaseOp =
  | { op: "mount"; src: string; target: string; fstype: string; flags: number; data: string }
  | { op: "mountIn"; src: string; target: string; fstype: string; flags: number; data: string }
  | { op: "bindIn"; src: string; target: string; flags: number; recursive: boolean }
  | { op: "mkdirIn"; path: string; mode: number }
  | { op: "mkfileIn"; path: string }
  | { op: "symlinkIn"; target: string; path: string }
  | { op: "setRoot"; path: string }
  | { op: "remountReadOnlyIn"; path: string }
  | { op: "sysfsIn"; path: string }
  | { op: "pivot" }
  | { op: "hostname"; name: string }
  | { op: "loopbackUp" }
  | { op: "chdir"; path: string }
  | { op: "spawnWait"; argv: string[] }
  | { op: "console" }
  | { op: "stdinNull" }
  | { op: "setsid" }
  | { op: "dropCaps"; keep: bigint; staysRoot: boolean; ambient?: bigint }
  | { op: "user"; uid: number; gid: number; groups: number[]; keepGroups?: boolean }
  | { op: "umask"; mask: number }
  | { op: "init" }
  | { op: "exec"; argv: string[]; env: string[] }
  | { op: "noNewPrivs" }
  | { op: "maskIn"; path: string }
  | { op: "seccomp"; program: Uint8Array }
  | { op: "readonlyIn"; path: string }
  | { op: "unshare"; flags: number }
  | { op: "rlimit"; resource: number; name: string; soft: number; hard: number }
  | { op: "sysctlIn"; key: string; value: string }
  | { op: "openFd"; path: string; fd: number }
  | { op: "nullStdio" }
  | { op: "detach" };

/** The executor's op codes (the enum in helpers/executor.c; test/unit/op-codes.test.ts keeps the two in step). */
export const CODES: Record<Op["op"], number> = {
  mount: 1, mountIn: 2, bindIn: 3, mkdirIn: 4, mkfileIn: 5, symlinkIn: 6, setRoot: 7,
  remountReadOnlyIn: 8, sysfsIn: 9, pivot: 10, hostname: 11, loopbackUp: 12, chdir: 13,
  spawnWait: 14, console: 15, stdinNull: 16, setsid: 17, dropCaps: 18, user: 19, umask: 20,
  init: 21, exec: 22, noNewPrivs: 23, maskIn: 24, seccomp: 25, readonlyIn: 26, unshare: 27,
  rlimit: 28, sysctlIn: 29, openFd: 30, nullStdio: 31, detach: 32,
};

function args(o: Op): (string | Uint8Array)[] {
  switch (o.op) {
    case "mount":
    case "mountIn":
      return [o.src, o.target, o.fstype, String(o.flags), o.data];
    case "bindIn": return [o.src, o.target, String(o.flags), o.recursive ? "1" : "0"];
    case "mkdirIn": return [o.path, String(o.mode)];
    case "mkfileIn":
    case "setRoot":
    case "remountReadOnlyIn":
    case "sysfsIn":
    case "chdir":
    case "maskIn":
    case "readonlyIn":
      return [o.path];
    case "symlinkIn": return [o.target, o.path];
    case "hostname": return [o.name];
    case "spawnWait": return o.argv;
    case "dropCaps": return [o.keep.toString(), o.staysRoot ? "1" : "0", ...(o.ambient ? [o.ambient.toString()] : [])];
    case "user": return [String(o.uid), String(o.gid), o.keepGroups ? "-1" : String(o.groups.length), ...(o.keepGroups ? [] : o.groups.map(String))];
    case "umask": return [String(o.mask)];
    case "unshare": return [String(o.flags)];
    case "exec": return [String(o.argv.length), ...o.argv, String(o.env.length), ...o.env];
    case "seccomp": return [o.program];
    case "rlimit": return [String(o.resource), String(o.soft), String(o.hard)];
    case "sysctlIn": return [`/proc/sys/${o.key.replaceAll(".", "/")}`, o.value];
    case "openFd": return [o.path, String(o.fd)];
    default: return [];
  }
}

const encoder = new TextEncoder();

/**
 * Encode as the executor reads it: u8 opcode, u16 argc (LE), then each argument as a u32 length (LE),
 * its bytes and a NUL. Binary-safe (a seccomp program travels as it is); the NUL lets the executor use a
 * text argument as a C string, so text must hold none.
 */
export function encodeOps(ops: Op[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const o of ops) {
    const a = args(o).map((s) => {
      if (typeof s !== "string") return s;
      if (s.includes("\0")) throw new Error(`a NUL byte is not allowed in ${JSON.stringify(s)}`);
      return encoder.encode(s);
    });
    parts.push(new Uint8Array([CODES[o.op] | (o.optional ? 0x80 : 0), a.length & 0xff, a.length >> 8]));
    for (const bytes of a) {
      const arg = new Uint8Array(4 + bytes.length + 1);
      new DataView(arg.buffer).setUint32(0, bytes.length, true);
      arg.set(bytes, 4);
      parts.push(arg);
    }
  }
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** What an op was doing, for "cannot <this>: <errno>" messages. */
export function describeOp(o: Op): string {
  switch (o.op) {
    case "mount": return `mount ${o.fstype || "bind"} on ${o.target}`;
    case "mountIn": return `mount ${o.fstype} on ${o.target} in the container`;
    case "bindIn": return `bind mount ${o.src} on ${o.target} in the container`;
    case "mkdirIn": return `create directory ${o.path} in the container`;
    case "mkfileIn": return `create ${o.path} in the container`;
    case "symlinkIn": return `create symlink ${o.path} in the container`;
    case "setRoot": return `open the root filesystem ${o.path}`;
    case "remountReadOnlyIn": return `make ${o.path} read-only`;
    case "sysfsIn": return `mount /sys`;
    case "pivot": return "pivot_root into the container's root filesystem";
    case "hostname": return `set the hostname to ${o.name}`;
    case "loopbackUp": return "bring up the loopback interface";
    case "chdir": return `change to the working directory ${o.path}`;
    case "spawnWait": return `mount the root filesystem with ${o.argv[0]}`;
    case "console": return "allocate a terminal in the container";
    case "stdinNull": return "open /dev/null as stdin";
    case "setsid": return "start a session";
    case "dropCaps": return "drop capabilities";
    case "user": return `switch to user ${o.uid}:${o.gid}`;
    case "umask": return "set the umask";
    case "init": return "start the init process";
    case "exec": return `run ${o.argv[0]}`;
    case "noNewPrivs": return "set no_new_privs";
    case "maskIn": return `mask ${o.path} in the container`;
    case "seccomp": return "install the seccomp filter";
    case "readonlyIn": return `make ${o.path} read-only in the container`;
    case "unshare": return "create the container's namespaces";
    case "rlimit": return `set the ${o.name} limit`;
    case "sysctlIn": return `set sysctl ${o.key}`;
    case "openFd": return `open ${o.path}`;
    case "nullStdio": return "open /dev/null as stdin, stdout and stderr";
    case "detach": return "start the process in the background";
  }
}
