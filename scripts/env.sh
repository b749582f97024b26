# Source me: the environment every fedbus tool runs in (venv, collection path).
# shellcheck shell=bash
_fedbus_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck disable=SC1091
. "$_fedbus_root/.venv/bin/activate"
export ANSIBLE_COLLECTIONS_PATH="$_fedbus_root/.venv/collections"
export ANSIBLE_CONFIG="$_fedbus_root/ansible.cfg"
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export PY_COLORS=${PY_COLORS:-0}
# The local/CI example vault (real environments use their own --vault-id).
export ANSIBLE_VAULT_IDENTITY_LIST=${ANSIBLE_VAULT_IDENTITY_LIST:-local@$_fedbus_root/inventories/local/vault-password.txt}
# Controller-side PKI of the collection CA (roles/broker, broker_tls_mode=collection_ca).
export FEDBUS_PKI_DIR=${FEDBUS_PKI_DIR:-$_fedbus_root/.cache/pki}
export FEDBUS_WHEELHOUSE=${FEDBUS_WHEELHOUSE:-$_fedbus_root/.cache/wheelhouse}
