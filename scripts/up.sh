#!/usr/bin/env bash
# Bring up the whole bus on local containers from the `local` inventory (the
# embedded default), then print where to reach it. Idempotent: run it again to
# re-converge. `scripts/up.sh down` removes the containers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# shellcheck disable=SC1091
. scripts/env.sh
inventory=inventories/local/hosts.yml

if [ "${1:-}" = down ]; then
  ansible-playbook -i "$inventory" playbooks/local_containers.yml -e local_bus_state=absent
  exit 0
fi

scripts/build-image.sh >/dev/null
ansible-playbook -i "$inventory" playbooks/local_containers.yml
ansible-playbook -i "$inventory" playbooks/local_stand_ins.yml
ansible-playbook -i "$inventory" playbooks/site.yml

ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' fedbus-broker)
secrets=$(ansible-vault view inventories/local/group_vars/all/vault.yml)
admin_pw=$(printf '%s\n' "$secrets" | awk '/^vault_broker_admin_password:/ {print $2}')
# The hosts whose relay must be connected: those of the four relay groups.
expect_relays=$(ansible-inventory -i "$inventory" --list | python3 -c '
import json, sys
inv = json.load(sys.stdin)
hostvars = inv["_meta"]["hostvars"]
relays = {h for g in ("bus_relays", "bus_wedges", "bus_notifiers", "bus_mirrors")
          for h in inv.get(g, {}).get("hosts", [])}
print(" ".join(f"--expect-relay {h}" for h in sorted(relays)
               if hostvars[h].get("relay_service_enabled", True)))')
cat <<INFO

The local bus is up.
  Broker (AMQP):      amqp://fedbus-admin:${admin_pw}@${ip}:5672/local
  Broker (AMQPS):     amqps://${ip}:5671/local   (CA: ${FEDBUS_PKI_DIR}/local/ca.pem, name fedbus-broker)
  Management UI/API:  https://${ip}:15671/   (user fedbus-admin, same password)
  Prometheus:         http://${ip}:15692/metrics
  Follow the bus:     .venv/bin/fedbus tail --url 'amqp://fedbus-admin:${admin_pw}@${ip}:5672/local'
  Is it healthy:      docker exec fedbus-notifier fedbus stat --vhost local --cafile /etc/fedbus/ca.pem \
      --url 'https://fedbus-admin:${admin_pw}@fedbus-broker:15671' ${expect_relays}
  Mirror freshness:   .venv/bin/fedbus freshness --url 'amqp://fedbus-admin:${admin_pw}@${ip}:5672/local'
  Publish a test message (validated against the catalog, confirmed by the broker):
    .venv/bin/fedbus publish org.fedoraproject.local.bus.canary.sent --direct \
      --url 'amqp://fedbus-admin:${admin_pw}@${ip}:5672/local' \
      --json '{"origin": "me", "nonce": "hello", "sent_at": "2026-11-30T00:00:00+00:00"}'
  Or through a service host's relay, as the services do:
    docker exec fedbus-git /opt/fedbus/venv/bin/fedbus publish org.fedoraproject.local.bus.canary.sent \
      --json '{"origin": "fedbus-git", "nonce": "hi", "sent_at": "2026-11-30T00:00:00+00:00"}'
  Check the whole bus (a canary through every relay): . scripts/env.sh && ansible-playbook -i ${inventory} playbooks/canary.yml
  Accounts and passwords: ansible-vault view inventories/local/group_vars/all/vault.yml
  Tear down: make down
INFO
if docker inspect fedbus-notifier >/dev/null 2>&1; then
  web_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' fedbus-notifier)
  web_pw=$(printf '%s\n' "$secrets" | awk '/^vault_notifier_local_admin_password:/ {print $2}')
  echo "  Notification server: http://${web_ip}:8080/   (local login: admin / ${web_pw})"
  echo "  Mail it sent:       docker exec fedbus-infra cat /var/mail/watcher   (IRC: ngircd on fedbus-infra:6667)"
fi
if docker inspect fedbus-hooks >/dev/null 2>&1; then
  hooks_ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' fedbus-hooks)
  echo "  Webhook endpoint:   POST http://${hooks_ip}:8095/hook/<service>   (Authorization: Bearer <vault_webhook_tokens[service]>; GET /health)"
  echo "  Polled stand-ins:   ONTAP and Bugzilla APIs on fedbus-infra, requests in /var/log/fedbus-stand-ins/{ontap,bugzilla}.log"
fi
