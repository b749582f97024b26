#!/usr/bin/env bash
# ansible-test sanity for the collection's plugins (run from a copy laid out as
# ansible_collections/fedora/bus, as ansible-test requires). Every sanity test runs,
# validate-modules and pylint included; the only exceptions are the entries of
# tests/sanity/ignore-*.txt, each with its reason beside it. Offline: get-pip is
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
# ansible-test wants the collection's own files only: copy git's files (tracked, or
# new and not ignored), so that a change is checked before it is committed.
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | (mkdir -p "$work/ansible_collections/fedora/bus" && tar -C "$work/ansible_collections/fedora/bus" -xf -)
cd "$work/ansible_collections/fedora/bus"
echo "sanity: ansible-core $version"
ansible-test sanity --local --python 3.11 plugins/ "$@"

# The collection tarball: nothing of the local state or of the development tooling
# (galaxy.yml's build_ignore; tests/unit/test_galaxy.py checks the same on a copy).
cd - >/dev/null
ansible-galaxy collection build --force --output-path "$work/build" . >/dev/null
tarball=$(ls "$work"/build/fedora-bus-*.tar.gz)
leaked=$(tar tzf "$tarball" | grep -E '^(\.venv|\.cache|\.git|build|dist|benchmarks|molecule|scripts|tests/output|tests/unit)(/|$)|__pycache__|\.pyc$|\.egg-info|vault-password' || true)
if [ -n "$leaked" ]; then
  echo "sanity: the collection tarball holds files it must leave out:" >&2
  printf '%s\n' "$leaked" | head -20 >&2
  exit 1
fi
echo "sanity: collection tarball $(du -h "$tarball" | cut -f1), $(tar tzf "$tarball" | wc -l) entries, nothing left-out in it"
