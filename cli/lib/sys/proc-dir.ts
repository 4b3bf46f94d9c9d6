/**
 * Reading a process's /proc directory through a descriptor: once open, every file read through it is that
 * process's, even if the pid is reused meanwhile (reads then fail with ESRCH), and no path is walked twice.
 */
import { fstatSync, readSync } from "node:fs";
import { AT_FDCWD, closeFd, O, openat2, RESOLVE } from "./libc";

/** Enough for any /proc file top reads (a command line is cut there) and for a container's /etc/passwd. */
const MAX_READ = 1 << 20;

/** `/proc/PID` open as a directory; undefined when the process is gone. The caller closes it (closeFd). */
export function openProcDir(pid: number): number | undefined {
  try {
    return openat2(AT_FDCWD, `/proc/${pid}`, O.RDONLY | O.DIRECTORY | O.CLOEXEC, 0, RESOLVE.NO_SYMLINKS);
  } catch {
    return undefined;
  }
}

/** The whole of a file, up to MAX_READ bytes, read from a descriptor that is then closed. */
function readFd(fd: number): Buffer {
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < MAX_READ) {
      const buf = Buffer.allocUnsafe(Math.min(65536, MAX_READ - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    return Buffer.concat(chunks);
  } finally {
    closeFd(fd);
  }
}

/**
 * A file of the process (`status`, `stat`, `cmdline`, `attr/current`): no symlink, magic or not, is
 * followed on the way. Undefined when it cannot be read (the process ended, or the kernel refuses).
 */
export function readProcFile(dir: number, name: string): Buffer | undefined {
  try {
    return readFd(openat2(dir, name, O.RDONLY | O.CLOEXEC, 0, RESOLVE.BENEATH | RESOLVE.NO_SYMLINKS | RESOLVE.NO_MAGICLINKS));
  } catch {
    return undefined;
  }
}

/** The identity of one of the process's namespaces (`pid`, `mnt`...): its nsfs device and inode, as `ls -L` shows them. */
export function namespaceId(dir: number, ns: string): string | undefined {
  try {
    // ns/NAME is a magic link into nsfs, which the kernel alone makes: following it is the point.
    const fd = openat2(dir, `ns/${ns}`, O.RDONLY | O.CLOEXEC, 0, 0);
    try {
      const st = fstatSync(fd);
      return `${st.dev}:${st.ino}`;
    } finally {
      closeFd(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * A regular file of the process's root file system (`etc/passwd`), resolved as if that root were `/`:
 * the container's symlinks cannot lead out of it, and a FIFO or device there is not opened for reading.
 */
export function readInProcRoot(dir: number, rel: string): string | undefined {
  let root: number;
  try {
    root = openat2(dir, "root", O.PATH | O.DIRECTORY | O.CLOEXEC, 0, 0);
  } catch {
    return undefined;
  }
  try {
    // Looked at before it is opened: opening a FIFO could block and opening a device could act.
    const path = openat2(root, rel, O.PATH | O.CLOEXEC, 0, RESOLVE.IN_ROOT | RESOLVE.NO_MAGICLINKS);
    try {
      if (!fstatSync(path).isFile()) return undefined;
      // The same file, opened again for reading through its O_PATH descriptor.
      return readFd(openat2(AT_FDCWD, `/proc/self/fd/${path}`, O.RDONLY | O.CLOEXEC, 0, 0)).toString("utf8");
    } finally {
      closeFd(path);
    }
  } catch {
    return undefined;
  } finally {
    closeFd(root);
  }
}
