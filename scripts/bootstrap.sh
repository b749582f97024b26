#!/usr/bin/env bash
# Idempotent set-up shared by developers, CI and new users:
#   - the virtualenv .venv (Python 3.11) with the pinned tools of requirements/dev.txt
#     and fedbus itself in editable mode, after its schemas (the fedbus-messages distribution,
#     src/fedbus-messages, editable too); re-installed only when the pins change;
#   - the collection made visible to Ansible as fedora.bus (a symlink in the venv).
# Nothing here needs Ansible Galaxy or a container registry.
set -euo pipefail
cd "$(dirname "$0")/.."

# Look for the interpreter outside any activated venv (it may be this one).
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v "^$(pwd)/.venv/" | paste -sd: -)
python=${FEDBUS_PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
      python=$candidate; break
    fi
  done
fi
[ -n "$python" ] || { echo "bootstrap: Python 3.11 or newer is required" >&2; exit 1; }

stamp=$(cat requirements/dev.txt requirements/koji.txt pyproject.toml src/fedbus-messages/pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat .venv/.fedbus-stamp 2>/dev/null)" != "$stamp" ]; then
  echo "bootstrap: installing .venv with $($python --version) (pins changed or new)" >&2
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/pip install -q --upgrade pip >&2
  .venv/bin/pip install -q -r requirements/dev.txt >&2
  .venv/bin/pip install -q --no-deps -r requirements/koji.txt >&2
  .venv/bin/pip install -q --no-deps -e src/fedbus-messages >&2
  .venv/bin/pip install -q --no-deps -e . >&2
  echo "$stamp" > .venv/.fedbus-stamp
fi

mkdir -p .venv/collections/ansible_collections/fedora
ln -sfn "$(pwd)" .venv/collections/ansible_collections/fedora/bus
