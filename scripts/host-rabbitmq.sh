#!/usr/bin/env bash
# A private RabbitMQ node on this machine for the integration tests.
#
#   scripts/host-rabbitmq.sh start   # install if needed, start, wait; idempotent
#   scripts/host-rabbitmq.sh stop    # stop this checkout's node; gives up after 90 s
#   scripts/host-rabbitmq.sh status
#   scripts/host-rabbitmq.sh env     # the variables the tests read
#
# The node fedbus-test@localhost: AMQP 5672, management 15672 and Prometheus 15692 on
# 127.0.0.1, Erlang distribution 25672. FEDBUS_TEST_RABBITMQ_NODE, FEDBUS_TEST_AMQP_PORT,
# FEDBUS_TEST_MGMT_PORT, FEDBUS_TEST_PROMETHEUS_PORT and FEDBUS_TEST_DIST_PORT choose
# others, for a second node beside the default one (as
# tests/integration/test_host_rabbitmq_order.py does).
# An administrator `fedbus-test` / `fedbus-test` owns the vhost `/`; guest is removed.
# The tests read FEDBUS_TEST_AMQP_URL / FEDBUS_TEST_MGMT_URL (printed by `env`).
#
# Data: /var/lib/fedbus-test-rabbitmq/<node>-<hash of this checkout's path>/ (printed
# by `env` as FEDBUS_TEST_RABBITMQ_DIR; its file `checkout` says whose it is), not in
# the checkout. The server runs as user rabbitmq, which must traverse every parent of
# its data, and the parents of a checkout are not this script's to open: /root is
# 0700, and so may .cache/ be (issue 13). /var/lib/fedbus-test-rabbitmq
# is this script's alone: made root 0755 on every start. Should rabbitmq still not
# reach the data, start says which directory is in the way, in one line. Removing
# .cache/ does not reset the node, and a removed clone leaves its directory here
# (rm -r it, the node stopped). Nothing of the node is kept in .cache/; stop also
# recognises a node whose pid file is .cache/rabbitmq/rabbitmq.pid (an older layout).
#
# Every clone's node has the same default name, so the node that answers may be
# another checkout's. start then uses it as it is; stop leaves it alone: it stops
# the node only when the node's pid is the one in this checkout's pid file.
set -euo pipefail
cd "$(dirname "$0")/.."

amqp_port=${FEDBUS_TEST_AMQP_PORT:-5672}
mgmt_port=${FEDBUS_TEST_MGMT_PORT:-15672}
prometheus_port=${FEDBUS_TEST_PROMETHEUS_PORT:-15692}
dist_port=${FEDBUS_TEST_DIST_PORT:-25672}
node=${FEDBUS_TEST_RABBITMQ_NODE:-fedbus-test@localhost}
[[ $node =~ ^[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+$ ]] || {
  echo "host-rabbitmq: FEDBUS_TEST_RABBITMQ_NODE must be name@host, not '$node'" >&2; exit 2; }
checkout=$(pwd -P)
top=/var/lib/fedbus-test-rabbitmq
base=$top/$node-$(printf '%s' "$checkout" | sha256sum | cut -c1-12)
pid_file=$base/rabbitmq.pid

export RABBITMQ_NODENAME=$node
export RABBITMQ_MNESIA_BASE=$base/mnesia
export RABBITMQ_LOG_BASE=$base/log
export RABBITMQ_CONFIG_FILE=$base/rabbitmq      # .conf is appended
export RABBITMQ_ENABLED_PLUGINS_FILE=$base/enabled_plugins
export RABBITMQ_DIST_PORT=$dist_port
export RABBITMQ_PID_FILE=$pid_file

# Every rabbitmqctl call is bounded: a node that hangs must not hang the tests.
ctl() { timeout -k 5 "${ctl_timeout:-30}" rabbitmqctl -n "$node" "$@"; }

running() { ctl -q ping >/dev/null 2>&1; }

# The OS pid of the node that answers to $node.
node_pid() { ctl -q eval 'os:getpid().' 2>/dev/null | tr -dc 0-9; }

# Why user rabbitmq cannot use $base, in one line, if it cannot.
check_reachable() {
  runuser -u rabbitmq -- test -w "$base/mnesia" -a -w "$base/log" -a -r "$base/rabbitmq.conf" \
    && return 0
  local dir=""
  local -a parts
  IFS=/ read -ra parts <<< "${base#/}"
  for part in "${parts[@]}"; do
    dir=$dir/$part
    runuser -u rabbitmq -- test -x "$dir" || {
      echo "host-rabbitmq: user rabbitmq cannot traverse $dir ($(stat -c '%A %U:%G' "$dir")), so the node cannot use $base" >&2
      exit 1; }
  done
  echo "host-rabbitmq: user rabbitmq cannot write $base/mnesia or $base/log ($(stat -c '%A %U:%G' "$base/mnesia" "$base/log" | paste -sd' '))" >&2
  exit 1
}

start() {
  if ! command -v rabbitmq-server >/dev/null; then
    echo "host-rabbitmq: installing rabbitmq-server" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >&2
    # Debian starts a default node when systemd runs; we use our own.
  fi
  if running; then return 0; fi
  install -d -o root -g root -m 0755 "$top"
  mkdir -p "$base/mnesia" "$base/log"
  printf '%s\n' "$checkout" > "$base/checkout"
  cat > "$base/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp_port
management.tcp.ip = 127.0.0.1
management.tcp.port = $mgmt_port
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $prometheus_port
loopback_users = none
log.file.level = warning
CONF
  echo '[rabbitmq_management,rabbitmq_prometheus,rabbitmq_event_exchange].' > "$base/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$base"
  check_reachable
  # The server must run as `rabbitmq` (its Erlang cookie lives in its home); from
  # $base, not from the checkout, which rabbitmq may not be able to enter.
  (cd "$base" && exec runuser -u rabbitmq -- env RABBITMQ_NODENAME="$node" \
    RABBITMQ_MNESIA_BASE="$base/mnesia" RABBITMQ_LOG_BASE="$base/log" \
    RABBITMQ_CONFIG_FILE="$base/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" \
    RABBITMQ_DIST_PORT="$dist_port" RABBITMQ_PID_FILE="$pid_file" \
    setsid /usr/lib/rabbitmq/bin/rabbitmq-server) > "$base/log/stdout.log" 2>&1 < /dev/null &
  local server=$!
  for _ in $(seq 1 120); do
    running && break
    kill -0 "$server" 2>/dev/null || break   # the server has exited: no use waiting
    sleep 0.5
  done
  if ! { kill -0 "$server" 2>/dev/null && ctl_timeout=70 ctl await_startup --timeout 60 >/dev/null 2>&1; }; then
    local why
    why=$(grep -m1 -o 'Error during startup: .*' "$base/log/stdout.log" \
      || grep -m1 '\[error\]' "$base/log/stdout.log" | sed 's/^.*\[error\] <[^>]*> //' || true)
    echo "host-rabbitmq: $node did not start${why:+: $why}; see $base/log" >&2
    exit 1
  fi
  ctl -q list_users | grep -q '^fedbus-test' || {
    ctl -q add_user fedbus-test fedbus-test >/dev/null
    ctl -q set_user_tags fedbus-test administrator >/dev/null
    ctl -q set_permissions -p / fedbus-test '.*' '.*' '.*' >/dev/null
  }
  ctl -q delete_user guest >/dev/null 2>&1 || true
  echo "host-rabbitmq: $node up (amqp 127.0.0.1:$amqp_port, management 127.0.0.1:$mgmt_port, data $base)" >&2
}

stop() {
  running || return 0
  local pid ours legacy
  pid=$(node_pid)
  ours=$(cat "$pid_file" 2>/dev/null || true)
  legacy=$(cat .cache/rabbitmq/rabbitmq.pid 2>/dev/null || true)   # the older layout's pid file
  if [ -z "$pid" ] || { [ "$pid" != "$ours" ] && [ "$pid" != "$legacy" ]; }; then
    echo "host-rabbitmq: $node (pid ${pid:-unknown}) is not this checkout's node (pid file $pid_file: ${ours:-none}); left running" >&2
    return 0
  fi
  # By name, not `rabbitmqctl stop <pid file>`, which waits for that pid however long.
  ctl_timeout=60 ctl -q stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pid_file"; return 0; }
    if [ "$i" = 40 ]; then kill -TERM "$pid" 2>/dev/null || true; fi
    sleep 0.5
  done
  echo "host-rabbitmq: $node (pid $pid) is still running 90 s after stop; see $base/log" >&2
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if running; then echo running; else echo stopped; exit 1; fi ;;
  env)
    echo "export FEDBUS_TEST_AMQP_URL=amqp://fedbus-test:fedbus-test@127.0.0.1:$amqp_port/%2F"
    echo "export FEDBUS_TEST_MGMT_URL=http://fedbus-test:fedbus-test@127.0.0.1:$mgmt_port"
    echo "export FEDBUS_TEST_RABBITMQ_NODE=$node"
    echo "export FEDBUS_TEST_RABBITMQ_DIR=$base" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
