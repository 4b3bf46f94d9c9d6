import { compileProfile } from "./seccomp-compile";
import type { LinuxSeccomp } from "./seccomp-profile";
import { hostSeccompArch } from "./syscalls";

/** The BPF program of a container's resolved profile, for the host's architecture. */
export function seccompProgram(s: LinuxSeccomp): Uint8Array {
  return compileProfile(s, hostSeccompArch()!);
}
