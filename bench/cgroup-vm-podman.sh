#!/bin/bash
# Build a copy of the cgroup-vm guest (../shared/tools/cgroup-vm) with rootless podman in it, for
# bench/cgroup-run.ts's podman row. The stock guest has no podman, and ../shared is shared: this
# copies its cache and installs podman with runc, conmon, catatonit, slirp4netns, uidmap and
# fuse-overlayfs into the copy's root disk with chroot + apt-get (Debian bookworm, the guest's own
# apt sources), then boots it once to check that tester can run podman.
#
# usage: bench/cgroup-vm-podman.sh [--force]        (as root; ~30 s)
#   RL_CGVM_DIR         the stock guest's cache (default /var/tmp/rl-cgroup-vm), built first by
#                       ../shared/tools/cgroup-vm/build when needed
#   RL_CGVM_PODMAN_DIR  where the copy goes (default /var/tmp/rl-cgroup-vm-podman)
# Then, as the benchmark user: RL_CGVM_DIR=/var/tmp/rl-cgroup-vm-podman bun bench/cgroup-run.ts
# (cgroup-vm's run boots the cache RL_CGVM_DIR names).
#
# Idempotent: does nothing when the copy was built by this script from the current stock guest.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd -P)
SHARED=$(realpath -e "$HERE/../../shared")     # ../shared beside the repository, as in CI
SRC=${RL_CGVM_DIR:-/var/tmp/rl-cgroup-vm}
D=${RL_CGVM_PODMAN_DIR:-/var/tmp/rl-cgroup-vm-podman}
PKGS="podman runc conmon catatonit slirp4netns uidmap fuse-overlayfs"

log() { echo "cgroup-vm-podman: $*" >&2; }
die() { log "error: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (loop mount, chroot, apt)"
force=0
case "${1:-}" in --force) force=1 ;; "") ;; *) die "usage: $0 [--force]" ;; esac
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

RL_CGVM_DIR=$SRC "$SHARED/tools/cgroup-vm/build"
stamp_want=$( { cat "$0"; cat "$SRC/stamp"; } | sha256sum | cut -d' ' -f1)
mkdir -p "$D"
exec 9>"$D/.lock"
flock 9
if [ $force = 0 ] && [ "$(cat "$D/stamp" 2>/dev/null)" = "$stamp_want" ] && [ -f "$D/root.img" ]; then
  log "up to date: $D"
  exit 0
fi

N=$D/.new
M=$N/mnt
cleanup() {
  mountpoint -q "$M/proc" 2>/dev/null && umount "$M/proc"
  mountpoint -q "$M" 2>/dev/null && umount "$M"
  return 0
}
trap cleanup EXIT
cleanup
rm -rf --one-file-system "$N"
mkdir -p "$M"
cp --sparse=always "$SRC/root.img" "$N/root.img"
cp "$SRC/linux.uml" "$SRC/lpj" "$N/"

log "installing $PKGS (log: $N/build.log)"
mount -o loop "$N/root.img" "$M"
mount -t proc proc "$M/proc"
cp "$M/etc/resolv.conf" "$N/resolv.conf.guest"
cp -L /etc/resolv.conf "$M/etc/resolv.conf"          # apt needs DNS in the chroot; the guest has no network
# shellcheck disable=SC2086
{ chroot "$M" apt-get update -q && chroot "$M" apt-get install -y -q $PKGS; } >>"$N/build.log" 2>&1 ||
  { tail -20 "$N/build.log" >&2; die "apt-get install in the guest failed"; }
chroot "$M" apt-get clean
rm -rf "$M"/var/lib/apt/lists/*
cp "$N/resolv.conf.guest" "$M/etc/resolv.conf"
# No systemd and no D-Bus in the guest: podman manages cgroups itself and logs events to a file.
# Storage: overlay, as the benchmarks use on the host (without a storage.conf podman 4.3 takes vfs).
mkdir -p "$M/etc/containers"
printf '[storage]\ndriver = "overlay"\n' >"$M/etc/containers/storage.conf"
cat >"$M/etc/containers/containers.conf" <<'CONF'
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
chroot "$M" dpkg-query -W podman runc conmon >>"$N/build.log"
cleanup
e2fsck -fy "$N/root.img" >>"$N/build.log" 2>&1 || [ $? -le 1 ] || die "e2fsck failed"
echo "$stamp_want" >"$N/stamp"

log "test boot: podman as tester"
RL_CGVM_DIR=$N "$SHARED/tools/cgroup-vm/run" --timeout 300 -- sh -c \
  'podman --runtime runc info --format "{{.Version.Version}} {{.Host.CgroupsVersion}} {{.Store.GraphDriverName}}"' \
  >"$N/probe.log" 2>&1 || { cat "$N/probe.log" >&2; die "podman does not start in the guest"; }
log "podman in the guest: $(tail -1 "$N/probe.log")"

rm -f "$D/stamp"
mv -f "$N/root.img" "$N/linux.uml" "$N/lpj" "$N/build.log" "$D/"
rm -rf --one-file-system "$N"
echo "$stamp_want" >"$D/stamp"
log "built $D"
