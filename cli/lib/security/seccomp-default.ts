import type { SeccompProfile } from "./seccomp-profile";

/**
 * rl's default seccomp profile, in the docker/podman JSON format (`rl run --security-opt
 * seccomp=FILE` takes the same). Its rules follow moby's default profile: what a process needs is
 * allowed; what reaches kernel state shared with the host (keyrings, kernel modules, kexec, the
 * clock, BPF, perf, io_uring) is refused with EPERM unless the container holds the capability that
 * guards it; new namespaces and mounts need CAP_SYS_ADMIN. Syscalls the kernel table here does not
 * name fail with ENOSYS, so that libc falls back to older ones.
 */

const words = (s: string) => s.trim().split(/\s+/);

/** Allowed to every container (names of other architectures are ignored where they do not exist). */
const ALLOWED = words(`
  accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
  clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
  clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
  epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
  eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
  fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync
  fgetxattr file_getattr file_setattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64
  fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait
  futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid
  geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid getppid
  getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage
  getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr getxattrat
  inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents
  io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill
  landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat
  listen listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr lsm_get_self_attr
  lsm_list_modules lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore
  mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open
  mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal msgctl
  msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat _newselect
  open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect
  poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease pselect6
  pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv recvfrom
  recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename renameat renameat2
  restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo rt_sigreturn
  rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo sched_getaffinity
  sched_getattr sched_getparam sched_get_priority_max sched_get_priority_min sched_getscheduler
  sched_rr_get_interval sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam
  sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop semtimedop_time64 send
  sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32
  setgroups setgroups32 setitimer setpgid setpriority setregid setregid32 setresgid setresgid32
  setresuid setresuid32 setreuid setreuid32 setrlimit set_robust_list setsid setsockopt set_thread_area
  set_tid_address setuid setuid32 setxattr setxattrat shmat shmctl shmdt shmget shutdown sigaltstack
  signalfd signalfd4 sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64
  statx symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create
  timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64
  timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill
  truncate truncate64 ugetrlimit umask uname unlink unlinkat utime utimensat utimensat_time64 utimes
  vfork vmsplice wait4 waitid waitpid write writev
`);

/** Allowed on some architectures only (Go's names, as docker's profile says them). */
const BY_ARCH: [string[], string][] = [
  [["amd64", "x32"], "arch_prctl"],
  [["amd64", "x32", "x86"], "modify_ldt"],
  [["arm", "arm64"], "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls"],
];

/** Allowed when the container holds the capability that guards them, refused (EPERM) otherwise. */
const BY_CAPABILITY: [string, string][] = [
  ["CAP_SYS_ADMIN", "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount mount_setattr move_mount open_tree open_tree_attr perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare listmount statmount"],
  ["CAP_DAC_READ_SEARCH", "open_by_handle_at"],
  ["CAP_SYS_BOOT", "reboot"],
  ["CAP_SYS_CHROOT", "chroot"],
  ["CAP_SYS_MODULE", "delete_module init_module finit_module"],
  ["CAP_SYS_PACCT", "acct"],
  ["CAP_SYS_PTRACE", "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace"],
  ["CAP_SYS_RAWIO", "iopl ioperm"],
  ["CAP_SYS_TIME", "settimeofday stime clock_settime clock_settime64"],
  ["CAP_SYS_TTY_CONFIG", "vhangup"],
  ["CAP_SYS_NICE", "get_mempolicy mbind set_mempolicy set_mempolicy_home_node"],
  ["CAP_SYSLOG", "syslog"],
  ["CAP_BPF", "bpf"],
  ["CAP_PERFMON", "perf_event_open"],
];

/** The namespace flags of clone(2): refused without CAP_SYS_ADMIN (NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET). */
const CLONE_NAMESPACES = 0x7e020000;
/** personality(2) values that change nothing dangerous: PER_LINUX, PER_LINUX32, UNAME26 and both, and the query. */
const PERSONALITIES = [0, 8, 0x20000, 0x20008, 0xffffffff];
const AF_VSOCK = 40;
const EPERM = 1;
const ENOSYS = 38;

export function defaultProfile(): SeccompProfile {
  return {
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: EPERM,
    syscalls: [
      { names: ALLOWED, action: "SCMP_ACT_ALLOW" },
      ...BY_ARCH.map(([arches, names]) => ({ names: words(names), action: "SCMP_ACT_ALLOW", includes: { arches } })),
      ...PERSONALITIES.map((value) => ({ names: ["personality"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value, op: "SCMP_CMP_EQ" }] })),
      { names: ["socket"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: AF_VSOCK, op: "SCMP_CMP_NE" }] },
      ...BY_CAPABILITY.map(([cap, names]) => ({ names: words(names), action: "SCMP_ACT_ALLOW", includes: { caps: [cap] } })),
      // Without CAP_SYS_ADMIN: clone without namespace flags; clone3 (whose flags seccomp cannot read) makes libc fall back to clone.
      { names: ["clone"], action: "SCMP_ACT_ALLOW", args: [{ index: 0, value: CLONE_NAMESPACES, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ" }], excludes: { caps: ["CAP_SYS_ADMIN"] } },
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS, excludes: { caps: ["CAP_SYS_ADMIN"] } },
    ],
  };
}
