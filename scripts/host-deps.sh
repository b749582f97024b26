#!/usr/bin/env bash
# Debian packages the controller needs for the tests and the local bus:
# rabbitmq-server (the integration tests' broker), debootstrap (base image),
# rsync and git (mirror and wedge tests), ngircd and postgresql (notifier tests:
# a real IRC server, a throw-away PostgreSQL cluster), chromium and its driver
# (the notifier's browser test), prometheus (promtool checks and tests the alert rules).
# Idempotent: refreshes the package lists and installs only when one is missing.
set -euo pipefail
need=()
for pkg in rabbitmq-server debootstrap rsync git ngircd postgresql chromium chromium-driver prometheus; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "host-deps: missing Debian packages ${need[*]}; install them as root: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "host-deps: installing ${need[*]}" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
# Debian's package may start its own default node where systemd runs; the tests
# use a private node (scripts/host-rabbitmq.sh), so the default one is left alone.
