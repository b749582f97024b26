# Source me: the environment every fedbus tool runs in (venv, collection path).
# shellcheck shell=bash
_fedbus_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC1091
. "$_fedbus_root/.venv/bin/activate"
export ANSIBLE_COLLECTIONS_PATH="$_fedbus_root/.venv/collections"
export ANSIBLE_CONFIG="$_fedbus_root/ansible.cfg"
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export PY_COLORS=${PY_COLORS:-0}
