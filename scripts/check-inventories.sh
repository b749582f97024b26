#!/usr/bin/env bash
# `ansible-playbook --check --diff` of playbooks/site.yml with each environment's
# own inventory, against local containers that stand in for its hosts.
#
#   scripts/check-inventories.sh                 # publictest stg prod
#   scripts/check-inventories.sh prod            # one environment
#   CHECK_KEEP=1 scripts/check-inventories.sh stg    # keep the containers afterwards
#
# Per environment: one systemd container per host of inventories/<env>
# (check-<env>-<short name>, image fedbus/base:latest, network fedbus-check-<env>,
# the host's FQDN as network alias); an overlay inventory that maps each host to
# its container; the local example vault for the vault_* values, plus throw-away
# TLS certificates for broker_tls_mode=provided (stg, prod) made under
# .cache/check-<env>/ (git-ignored); then
#   ansible-playbook -i inventories/<env> -i <overlay> playbooks/site.yml --check --diff
# and the containers are removed. The containers are fresh hosts: nothing of the
# bus is on them (the base image only has the distribution's packages), and
# --check changes nothing, so the run shows what a first deployment would do.
# The log of each run: .cache/check-<env>/site-check.log. Exit status: 0 when
# every run passed.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. scripts/env.sh

envs=("$@")
[ ${#envs[@]} -gt 0 ] || envs=(publictest stg prod)
for env in "${envs[@]}"; do
  if [[ ! "$env" =~ ^[a-z0-9-]+$ ]] || [ ! -f "inventories/$env/hosts.yml" ] || [ "$env" = local ]; then
    echo "check-inventories: no inventory inventories/$env (publictest, stg, prod)" >&2
    exit 2
  fi
done

image=fedbus/base:latest
scripts/build-image.sh >/dev/null

log() { printf 'check-inventories: %s\n' "$*" >&2; }

# Lines "<inventory host> <short name>" of an inventory.
hosts_of() {
  ansible-inventory -i "inventories/$1" --list | python3 -c '
import json, sys
inv = json.load(sys.stdin)
hosts = sorted(inv.get("_meta", {}).get("hostvars", {}))
if not hosts:
    seen = set()
    for group in inv.values():
        seen.update(group.get("hosts", []) if isinstance(group, dict) else [])
    hosts = sorted(seen)
shorts = [h.split(".")[0] for h in hosts]
dupes = sorted({s for s in shorts if shorts.count(s) > 1})
if dupes:
    sys.exit(f"short host names are not unique: {dupes}")
for h, s in zip(hosts, shorts):
    print(h, s)
'
}

# CA and one certificate per broker (FQDN, short name, localhost) as extra vars.
make_tls() {
  local env=$1 dir=$2 brokers
  brokers=$(ansible-inventory -i "inventories/$env" --list | python3 -c '
import json, sys; print(" ".join(json.load(sys.stdin).get("bus_brokers", {}).get("hosts", [])))')
  mkdir -p "$dir/tls"
  chmod 0700 "$dir/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=fedbus check-$env CA" -keyout "$dir/tls/ca.key" -out "$dir/tls/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  for host in $brokers; do
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$host" \
      -keyout "$dir/tls/$host.key" -out "$dir/tls/$host.csr" 2>/dev/null
    printf 'subjectAltName=DNS:%s,DNS:%s,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' \
      "$host" "${host%%.*}" > "$dir/tls/$host.ext"
    openssl x509 -req -in "$dir/tls/$host.csr" -CA "$dir/tls/ca.pem" -CAkey "$dir/tls/ca.key" \
      -CAcreateserial -days 2 -extfile "$dir/tls/$host.ext" -out "$dir/tls/$host.pem" 2>/dev/null
  done
  python3 - "$dir/tls" "$brokers" > "$dir/tls.json" <<'PY'
import json, pathlib, sys
tls, hosts = pathlib.Path(sys.argv[1]), sys.argv[2].split()
print(json.dumps({
    "vault_broker_tls_ca_cert": (tls / "ca.pem").read_text(),
    "vault_broker_tls_certs": {h: (tls / f"{h}.pem").read_text() for h in hosts},
    "vault_broker_tls_keys": {h: (tls / f"{h}.key").read_text() for h in hosts},
}))
PY
  chmod 0600 "$dir/tls.json"
}

# Every systemd container takes inotify instances (systemd, journald, logind…);
# past fs.inotify.max_user_instances (128 on many hosts) new containers' systemd
# exits at once (status 255, no log). Raise the limit when it cannot hold them.
inotify_room() {
  local containers=$1 limit used needed
  limit=$(sysctl -n fs.inotify.max_user_instances)
  used=$(find /proc/[0-9]*/fd -lname 'anon_inode:inotify' 2>/dev/null | wc -l)
  needed=$(( used + 12 * containers ))
  if [ "$limit" -lt "$needed" ]; then
    if sysctl -qw "fs.inotify.max_user_instances=$(( needed > 1024 ? needed : 1024 ))" 2>/dev/null; then
      log "fs.inotify.max_user_instances $limit -> $(sysctl -n fs.inotify.max_user_instances) ($used in use, $containers containers to start)"
    else
      log "fs.inotify.max_user_instances is $limit, $used in use: $containers more systemd containers need ~$needed (raise it as root)"
      return 1
    fi
  fi
}

remove_env() {
  local env=$1
  docker ps -aq --filter "label=org.fedoraproject.fedbus=check-$env" | xargs -r docker rm -f >/dev/null
  docker network rm "fedbus-check-$env" >/dev/null 2>&1 || true
}

check_env() {
  local env=$1 dir=".cache/check-$1" network="fedbus-check-$1" host short name rc start
  rm -rf "$dir"
  mkdir -p "$dir"
  hosts_of "$env" > "$dir/hosts.txt"
  remove_env "$env"
  docker network create --label "org.fedoraproject.fedbus=check-$env" "$network" >/dev/null

  inotify_room "$(wc -l < "$dir/hosts.txt")"
  log "$env: $(wc -l < "$dir/hosts.txt") containers on $network"
  {
    echo "---"
    echo "# Generated by scripts/check-inventories.sh: each host of inventories/$env is a container."
    echo "all:"
    echo "  hosts:"
  } > "$dir/overlay.yml"
  while read -r host short; do
    name="check-$env-$short"
    docker run -d --name "$name" --hostname "$short" \
      --network "$network" --network-alias "$host" \
      --label "org.fedoraproject.fedbus=check-$env" \
      --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
      --cgroupns host --cap-add SYS_ADMIN --stop-signal SIGRTMIN+3 \
      "$image" /lib/systemd/systemd >/dev/null
    printf '    %s:\n      ansible_connection: community.docker.docker\n      ansible_host: %s\n      ansible_python_interpreter: /usr/bin/python3\n' \
      "$host" "$name" >> "$dir/overlay.yml"
  done < "$dir/hosts.txt"

  while read -r _ short; do
    name="check-$env-$short"
    for _ in $(seq 60); do
      state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
      case "$state" in running|degraded) break ;; esac
      sleep 1
    done
  done < "$dir/hosts.txt"

  local down
  down=$(docker ps -a --filter "label=org.fedoraproject.fedbus=check-$env" --filter status=exited --format '{{.Names}}')
  if [ -n "$down" ]; then
    log "$env: containers exited at start: $(echo "$down" | tr '\n' ' ')"
    return 1
  fi

  local extra=(-e @inventories/local/group_vars/all/vault.yml)
  if grep -rqs 'broker_tls_mode: provided' "inventories/$env/group_vars"; then
    make_tls "$env" "$dir"
    extra+=(-e "@$dir/tls.json")
  fi

  log "$env: ansible-playbook -i inventories/$env -i $dir/overlay.yml playbooks/site.yml --check --diff"
  start=$(date +%s)
  set +e
  FEDBUS_PKI_DIR="$PWD/$dir/pki" \
    ansible-playbook -i "inventories/$env" -i "$dir/overlay.yml" playbooks/site.yml \
    --check --diff "${extra[@]}" > "$dir/site-check.log" 2>&1
  rc=$?
  set -e
  local seconds=$(( $(date +%s) - start ))
  local recap
  recap=$(awk '/^PLAY RECAP/ {p=1; next} p && NF' "$dir/site-check.log" | python3 -c '
import re, sys
totals = {}
hosts = 0
for line in sys.stdin:
    m = dict(re.findall(r"(\w+)=(\d+)", line))
    if m:
        hosts += 1
        for k, v in m.items():
            totals[k] = totals.get(k, 0) + int(v)
print(f"{hosts} hosts, " + " ".join(f"{k}={totals.get(k, 0)}" for k in ("ok", "changed", "failed", "unreachable", "skipped")))
')
  if [ "${CHECK_KEEP:-0}" = 1 ]; then
    log "$env: containers kept (remove: docker rm -f \$(docker ps -aq --filter label=org.fedoraproject.fedbus=check-$env))"
  else
    remove_env "$env"
  fi
  if [ "$rc" -eq 0 ]; then
    printf 'check-inventories: %s: PASSED in %ss (%s); log %s\n' "$env" "$seconds" "$recap" "$dir/site-check.log"
  else
    printf 'check-inventories: %s: FAILED (rc %s) in %ss (%s); log %s\n' "$env" "$rc" "$seconds" "$recap" "$dir/site-check.log"
    grep -E '^(fatal|failed):' "$dir/site-check.log" | head -20 || true
  fi
  return "$rc"
}

trap 'for e in "${envs[@]}"; do [ "${CHECK_KEEP:-0}" = 1 ] || remove_env "$e"; done' EXIT
status=0
for env in "${envs[@]}"; do
  # A subshell, so that set -e still stops at the first failing command inside.
  set +e
  (check_env "$env")
  rc=$?
  set -e
  [ "$rc" -eq 0 ] || status=1
done
exit "$status"
