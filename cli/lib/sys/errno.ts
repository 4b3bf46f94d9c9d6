import { constants } from "node:os";

const names = new Map<number, string>();
for (const [name, num] of Object.entries(constants.errno)) if (!names.has(num)) names.set(num, name);

const messages: Record<string, string> = {
  EPERM: "Operation not permitted",
  ENOENT: "No such file or directory",
  EIO: "Input/output error",
  E2BIG: "Argument list too long",
  ENOEXEC: "Exec format error",
  EACCES: "Permission denied",
  EBUSY: "Device or resource busy",
  EEXIST: "File exists",
  ENOTDIR: "Not a directory",
  EISDIR: "Is a directory",
  EINVAL: "Invalid argument",
  ENOSPC: "No space left on device",
  EROFS: "Read-only file system",
  ENAMETOOLONG: "File name too long",
  ELOOP: "Too many levels of symbolic links",
  ENODEV: "No such device",
  EXDEV: "Invalid cross-device link",
  ENOSYS: "Function not implemented",
  EAGAIN: "Resource temporarily unavailable",
  EWOULDBLOCK: "Resource temporarily unavailable",
};

export function errnoName(errno: number): string {
  return names.get(errno) ?? `errno ${errno}`;
}

/** "Permission denied (EACCES)" for messages users read. */
export function strerror(errno: number): string {
  const name = errnoName(errno);
  const msg = messages[name];
  return msg ? `${msg} (${name})` : name;
}
