#!/usr/bin/env bash
# Debian packages of the headless-browser test (tests/browser/): chromium and its
# WebDriver. Idempotent: refreshes the package lists and installs only when one is missing.
set -euo pipefail
need=()
for pkg in chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "host-deps-browser: missing Debian packages ${need[*]}; install them as root: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "host-deps-browser: installing ${need[*]}" >&2
apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
