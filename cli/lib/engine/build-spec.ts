import type { StoredImage } from "../store/images";
import { idLines, type IdMapping } from "../security/idmap";
import { usernsText } from "../security/userns";
import { containerSecurity } from "../security/container-security";
import { readImageFile } from "../rootfs/image-file";
import { keepIdUser } from "../runtime/userns-rootfs";
import { parseSysctls, resolveGroupAdd } from "../runtime/process-options";
import { defaultHostname } from "../runtime/container-files";
import { processArgs, processEnv, type Spec } from "../runtime/spec";
import { resolveUser } from "../runtime/user";
import { byDepth } from "../runtime/mounts";
import { INIT_PATH } from "../runtime/init-binary";
import { checkWorkdir } from "../runtime/check-run-options";
import type { Namespaces } from "../runtime/container-process";
import type { RunOptions } from "../runtime/run-options";
import type { ResolvedNetwork } from "./resolve-network";

/** The container's runtime spec (config.json): its process, root, mounts, namespaces, security, id maps. */
export function buildSpec(o: RunOptions, namespaces: Namespaces, net: ResolvedNetwork, img: StoredImage, root: string, id: string, name: string, files: Record<string, string>, lowerTopFirst: string[], init: string | undefined, userMounts: Spec["mounts"], idmap: IdMapping): Spec {
  const hostname = o.hostname ?? defaultHostname(id, net.config);
  const userSpec = o.user ?? keepIdUser(o.userns, idmap) ?? img.config.config?.User ?? "";
  const groupFile = readImageFile(lowerTopFirst, "etc/group");
  const user = resolveUser(userSpec || "0", readImageFile(lowerTopFirst, "etc/passwd"), groupFile);
  if (o.user === undefined && o.userns.mode === "keep-id") user.additionalGids = [user.gid]; // as podman: groups=GID
  user.additionalGids.push(...resolveGroupAdd(o.groupAdd.groups, groupFile).filter((g) => !user.additionalGids.includes(g)));
  const security = containerSecurity({ opts: o.security, privileged: o.privileged, capAdd: o.capAdd, capDrop: o.capDrop, uid: user.uid });
  const cwd = o.workdir ?? (img.config.config?.WorkingDir || "/");
  checkWorkdir(cwd);
  const mounts: Spec["mounts"] = [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    // As podman: shallower destinations first, so a volume on /etc does not hide /etc/hosts.
    ...byDepth([...Object.entries(files).map(([dest, src]) => ({ destination: dest, type: "bind", source: src, options: ["bind"] })), ...userMounts]),
    ...(init ? [{ destination: INIT_PATH, type: "bind", source: init, options: ["bind", "ro"] }] : []),
    ...o.devices.map((d) => ({ destination: d.path, type: "bind", source: d.source, options: ["bind"] })),
  ];
  const sysctls = parseSysctls(o.sysctls, net.config.mode === "host" || net.effective.mode === "host");
  const args = processArgs(img.config.config, o);
  return {
    ociVersion: "1.0.2",
    process: {
      terminal: o.tty,
      user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids, umask: o.umask },
      ...(o.ulimits.length ? { rlimits: o.ulimits } : {}),
      args: init ? [INIT_PATH, "--", ...args] : args,
      env: processEnv(img.config.config, { ...o, tty: o.tty }, hostname, user),
      cwd,
      capabilities: security.capabilities,
      noNewPrivileges: security.noNewPrivileges,
    },
    root: { path: root, readonly: o.readOnly },
    hostname,
    mounts,
    linux: {
      namespaces,
      maskedPaths: security.maskedPaths,
      readonlyPaths: security.readonlyPaths,
      seccomp: security.seccomp,
      ...(Object.keys(sysctls).length ? { sysctl: sysctls } : {}),
      uidMappings: idLines(idmap, "uid").map((l) => ({ containerID: l.inside, hostID: l.outside, size: l.count })),
      gidMappings: idLines(idmap, "gid").map((l) => ({ containerID: l.inside, hostID: l.outside, size: l.count })),
      ...(o.devices.length ? { devices: o.devices } : {}),
    },
    annotations: {
      "io.rl.image": img.id, "io.rl.name": name, "io.rl.seccomp": security.seccompProfile,
      ...(o.userns.mode !== "default" ? { "io.rl.userns": usernsText(o.userns) } : {}),
      ...(o.groupAdd.keepGroups ? { "run.oci.keep_original_groups": "1" } : {}),
      ...(o.groupAdd.groups.length || o.groupAdd.keepGroups ? { "io.rl.group-add": o.groupAdd.keepGroups ? "keep-groups" : o.groupAdd.groups.join("\n") } : {}),
    },
  };
}

