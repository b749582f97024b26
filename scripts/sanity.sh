#!/usr/bin/env bash
# ansible-test sanity for the collection's plugins (run from a copy laid out as
# ansible_collections/fedora/bus, as ansible-test requires). Offline: get-pip is
# replaced by a stand-in that uses ensurepip (no download from outside the package index).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. scripts/env.sh
version=$(python -c 'import ansible.release as r; print(r.__version__)')
cache=~/.ansible/test/cache
mkdir -p "$cache"
for v in 24.0 24.2 24.3.1 25.0 25.0.1 25.1.1 25.2 25.3; do
  cat > "$cache/get_pip_${v//./_}.py" <<'PY'
import subprocess, sys
subprocess.check_call([sys.executable, "-m", "ensurepip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
PY
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ansible_collections/fedora"
# ansible-test wants the collection's own files only: copy what git tracks.
git ls-files -z | tar --null -T - -cf - | (mkdir -p "$work/ansible_collections/fedora/bus" && tar -C "$work/ansible_collections/fedora/bus" -xf -)
cd "$work/ansible_collections/fedora/bus"
echo "sanity: ansible-core $version"
ansible-test sanity --local --python 3.11 \
  --skip-test pylint --skip-test validate-modules \
  plugins/ "$@"
