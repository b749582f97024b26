#!/usr/bin/env bash
# A private RabbitMQ node on this machine for the integration tests.
#
#   scripts/host-rabbitmq.sh start   # install if needed, start, wait; idempotent
#   scripts/host-rabbitmq.sh stop
#   scripts/host-rabbitmq.sh status
#
# Listens on 127.0.0.1 only: AMQP ${FEDBUS_TEST_AMQP_PORT:-5672}, management
# ${FEDBUS_TEST_MGMT_PORT:-15672}.  Data lives in .cache/rabbitmq (git-ignored).
# An administrator `fedbus-test` / `fedbus-test` owns the vhost `/`; guest is removed.
# The tests read FEDBUS_TEST_AMQP_URL / FEDBUS_TEST_MGMT_URL (printed by `env`).
set -euo pipefail
cd "$(dirname "$0")/.."

amqp_port=${FEDBUS_TEST_AMQP_PORT:-5672}
mgmt_port=${FEDBUS_TEST_MGMT_PORT:-15672}
dist_port=${FEDBUS_TEST_DIST_PORT:-25672}
node=fedbus-test@localhost
base=$(pwd)/.cache/rabbitmq

export RABBITMQ_NODENAME=$node
export RABBITMQ_MNESIA_BASE=$base/mnesia
export RABBITMQ_LOG_BASE=$base/log
export RABBITMQ_CONFIG_FILE=$base/rabbitmq      # .conf is appended
export RABBITMQ_ENABLED_PLUGINS_FILE=$base/enabled_plugins
export RABBITMQ_DIST_PORT=$dist_port
export RABBITMQ_PID_FILE=$base/rabbitmq.pid

ctl() { rabbitmqctl -n "$node" "$@"; }

running() { ctl -q status >/dev/null 2>&1; }

start() {
  if ! command -v rabbitmq-server >/dev/null; then
    echo "host-rabbitmq: installing rabbitmq-server" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >&2
    # Debian starts a default node when systemd runs; we use our own.
  fi
  if running; then return 0; fi
  mkdir -p "$base/mnesia" "$base/log"
  cat > "$base/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$amqp_port
management.tcp.ip = 127.0.0.1
management.tcp.port = $mgmt_port
loopback_users = none
log.file.level = warning
CONF
  echo '[rabbitmq_management,rabbitmq_prometheus,rabbitmq_event_exchange].' > "$base/enabled_plugins"
  chown -R rabbitmq:rabbitmq "$base"
  # The server must run as `rabbitmq` (its Erlang cookie lives in its home).
  runuser -u rabbitmq -- env RABBITMQ_NODENAME="$node" RABBITMQ_MNESIA_BASE="$base/mnesia" \
    RABBITMQ_LOG_BASE="$base/log" RABBITMQ_CONFIG_FILE="$base/rabbitmq" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$base/enabled_plugins" RABBITMQ_DIST_PORT="$dist_port" \
    RABBITMQ_PID_FILE="$base/rabbitmq.pid" \
    setsid /usr/lib/rabbitmq/bin/rabbitmq-server > "$base/log/stdout.log" 2>&1 < /dev/null &
  for _ in $(seq 1 120); do ctl -q ping >/dev/null 2>&1 && break; sleep 0.5; done
  ctl await_startup --timeout 60 >/dev/null || {
    echo "host-rabbitmq: node did not start; see $base/log" >&2; exit 1; }
  ctl -q list_users | grep -q '^fedbus-test' || {
    ctl -q add_user fedbus-test fedbus-test >/dev/null
    ctl -q set_user_tags fedbus-test administrator >/dev/null
    ctl -q set_permissions -p / fedbus-test '.*' '.*' '.*' >/dev/null
  }
  ctl -q delete_user guest >/dev/null 2>&1 || true
  echo "host-rabbitmq: $node up (amqp 127.0.0.1:$amqp_port, management 127.0.0.1:$mgmt_port)" >&2
}

stop() {
  if running; then ctl -q stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 || ctl -q stop >/dev/null; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running && echo running || { echo stopped; exit 1; } ;;
  env)
    echo "export FEDBUS_TEST_AMQP_URL=amqp://fedbus-test:fedbus-test@127.0.0.1:$amqp_port/%2F"
    echo "export FEDBUS_TEST_MGMT_URL=http://fedbus-test:fedbus-test@127.0.0.1:$mgmt_port"
    echo "export FEDBUS_TEST_RABBITMQ_NODE=$node" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
