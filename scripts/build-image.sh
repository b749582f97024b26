#!/usr/bin/env bash
# Build the local base image for molecule scenarios and the `local` inventory.
#
# No container registry is reachable, so the image is made from Debian's archive
# with debootstrap and imported into Docker.  The tag carries a hash of the
# recipe (this script + images/base.packages): the image is rebuilt only when
# the recipe changes.  Prints the image name on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

suite=bookworm
recipe_hash=$(cat scripts/build-image.sh images/base.packages | sha256sum | cut -c1-12)
image="fedbus/base:${recipe_hash}"

log() { echo "build-image: $*" >&2; }

if docker image inspect "$image" >/dev/null 2>&1; then
  docker tag "$image" fedbus/base:latest
  echo "$image"
  exit 0
fi

command -v debootstrap >/dev/null || {
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
}

# Use the mirror the host's own apt sources use (never hard-coded here).
mirror=$(
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}';
    grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk '{print $2}'; } |
  grep -v security | head -n1 || true
)

# Stage 1 (debootstrap) gets only what systemd containers need; stage 2 installs the
# rest with apt inside the chroot, where maintainer scripts run in proper order.
core=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,procps,sudo
packages=$(grep -vE '^\s*(#|$)' images/base.packages | tr '\n' ' ')
rootfs=$(mktemp -d /var/tmp/fedbus-rootfs.XXXXXX)
chmod 0755 "$rootfs"   # it becomes "/" of the image: mktemp makes it 0700
trap 'rm -rf "$rootfs"' EXIT

log "debootstrap $suite (${mirror:-default mirror}) -> $image"
debootstrap --variant=minbase --include="$core" "$suite" "$rootfs" ${mirror:+"$mirror"} >&2

log "installing: $packages"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"   # start no service while building
chmod +x "$rootfs/usr/sbin/policy-rc.d"
mount -t proc proc "$rootfs/proc"
trap 'umount "$rootfs/proc" 2>/dev/null || true; rm -rf "$rootfs"' EXIT
chroot "$rootfs" apt-get update -qq >&2
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get install -y -qq --no-install-recommends $packages >&2
umount "$rootfs/proc"
rm -f "$rootfs/usr/sbin/policy-rc.d"
: > "$rootfs/etc/resolv.conf"

# Services are enabled by the roles, not by the image.
for unit in rabbitmq-server postgresql exim4 ngircd rsync; do
  chroot "$rootfs" systemctl disable "$unit" >/dev/null 2>&1 || true
done
# Units that cannot work inside a container.
for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
            getty@.service console-getty.service sys-kernel-config.mount \
            systemd-firstboot.service systemd-modules-load.service; do
  chroot "$rootfs" systemctl mask "$unit" >/dev/null 2>&1 || true
done
: > "$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/rabbitmq/.erlang.cookie"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/*_Packages "$rootfs"/var/cache/apt/*.bin

log "importing"
tar -C "$rootfs" -c . | docker import \
  --change 'CMD ["/lib/systemd/systemd"]' \
  --change 'ENV container=docker' \
  - "$image" >&2
docker tag "$image" fedbus/base:latest
# Drop images of older recipes.
docker images --format '{{.Repository}}:{{.Tag}}' fedbus/base |
  grep -vE ":(latest|${recipe_hash})$" | xargs -r docker rmi >/dev/null 2>&1 || true
echo "$image"
