# Copyright: fedbus contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus alert rules for the bus, from the accounts table.

Every consumer queue of the accounts table (an account's ``consume`` patterns) gets a
backlog alert (warning, critical), a dead-letter alert on its ``.dlq`` and a no-consumer
alert; the bus gets alerts for a broker node down or in alarm, a relay down or holding
messages too long, a mirror behind its upstream and a certificate close to its end.  The
queue series are RabbitMQ's per-object metrics (``/metrics/per-object`` of the
``rabbitmq_prometheus`` plugin: ``rabbitmq_queue_messages_ready{vhost, queue}``…); the
relays' are fedbus's own (``fedbus relay --metrics``), and so are the mirror agents'
(``fedbus_mirror_lag_seconds``: how far an agent is behind its upstream's last
``in_sync``); the certificates' come from the blackbox exporter's
``probe_ssl_earliest_cert_expiry``.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: bus_alert_rules
short_description: Prometheus alert rules for the bus, derived from the accounts table
description:
  - Returns a Prometheus rules document (C(groups)) with one backlog, dead-letter and
    no-consumer alert per consumer queue pattern of the accounts table, and the bus-wide
    alerts (broker node down or in alarm, relay down or backed up, mirror lagging,
    certificate expiring).
options:
  _input:
    description: The accounts table (C(fedbus_accounts)); only C(name) and C(consume) are read.
    type: list
    elements: dict
    required: true
  vhost:
    description: The environment's vhost (the C(vhost) label of the queue series).
    type: str
    required: true
  warning:
    description: Messages ready in a queue that make a warning.
    type: int
    default: 10000
  critical:
    description: Messages ready in a queue that make it critical.
    type: int
    default: 100000
  queues:
    description:
      - >-
        Per-queue thresholds, by the pattern as the accounts table writes it, for example
        C(notifier.digest) mapped to C(warning) 100000 and C(critical) 500000.
    type: dict
    default: {}
  no_consumer_exempt:
    description: Queue patterns that may have no consumer (short-lived queues).
    type: list
    elements: str
    default: []
  relay_age_warning:
    description: Seconds the oldest message may wait in a relay's spool before a warning.
    type: int
    default: 300
  relay_age_critical:
    description: Seconds before it is critical.
    type: int
    default: 3600
  mirror_lag:
    description:
      - Seconds a mirror agent may be behind its upstream's last C(in_sync)
        (C(fedbus_mirror_lag_seconds)) before a warning.
    type: int
    default: 21600
  cert_days:
    description: Days before a certificate's end that make a warning.
    type: int
    default: 21
  jobs:
    description:
      - Prometheus job names of the scrapes, keys C(rabbitmq) (the per-object endpoint),
        C(relay), C(mirror) (the mirror agents) and C(tls) (the blackbox exporter's TLS
        probes).
    type: dict
    default: {rabbitmq: rabbitmq, relay: fedbus-relay, mirror: fedbus-mirror, tls: fedbus-tls}
"""

_QUEUE = re.compile(r"^[A-Za-z0-9_.*-]+$")
_JOBS = {"rabbitmq": "rabbitmq", "relay": "fedbus-relay", "mirror": "fedbus-mirror",
         "tls": "fedbus-tls"}


def _regex(pattern: str) -> str:
    """A queue glob (``*``: any characters) as a PromQL (RE2, anchored) regex."""
    if not isinstance(pattern, str) or not _QUEUE.match(pattern):
        raise AnsibleFilterError(f"queue {pattern!r}: only A-Z a-z 0-9 _ . - and * are allowed")
    return ".*".join(re.escape(part) for part in pattern.split("*"))


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AnsibleFilterError(f"{name}: expected a positive integer, got {value!r}")
    return value


def _thresholds(where: str, warning: object, critical: object) -> tuple[int, int]:
    w, c = _positive(f"{where}.warning", warning), _positive(f"{where}.critical", critical)
    if w > c:
        raise AnsibleFilterError(f"{where}: warning ({w}) is above critical ({c})")
    return w, c


def _rule(alert: str, expr: str, for_: str, severity: str, summary: str, **labels: str) -> dict:
    return {
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary},
    }


def _consumer_patterns(accounts: object) -> list[tuple[str, str]]:
    """(account, queue pattern) of every consumer queue, in table order, without duplicates."""
    if not isinstance(accounts, list):
        raise AnsibleFilterError("the accounts table must be a list of accounts")
    out: list[tuple[str, str]] = []
    for account in accounts:
        if not isinstance(account, dict):
            raise AnsibleFilterError(f"account {account!r}: expected a mapping")
        consume = account.get("consume") or []
        if isinstance(consume, str) or not isinstance(consume, list):
            raise AnsibleFilterError(f"account {account.get('name')!r}: consume must be a list")
        for pattern in consume:
            _regex(pattern)
            if pattern not in [known for _account, known in out]:
                out.append((str(account.get("name")), pattern))
    return out


def _queue_rules(
    account: str, pattern: str, vhost: str, limits: tuple[int, int], exempt: bool, job: str
) -> list[dict]:
    regex = _regex(pattern).replace("\\", "\\\\")  # inside a PromQL "string"
    sel = f'job="{job}", vhost="{vhost}", queue=~"{regex}", queue!~".*\\\\.dlq"'
    dlq = f'job="{job}", vhost="{vhost}", queue=~"({regex})\\\\.dlq"'
    warning, critical = limits
    labels = {"account": account, "queue_pattern": pattern}
    rules = [
        _rule("FedbusQueueBacklogCritical",
              f"rabbitmq_queue_messages_ready{{{sel}}} >= {critical}", "5m", "critical",
              f"{{{{ $labels.queue }}}}: {{{{ $value }}}} messages ready (>= {critical}); "
              "its consumer is stopped or slow", **labels),
        _rule("FedbusQueueBacklog",
              f"rabbitmq_queue_messages_ready{{{sel}}} >= {warning} < {critical}", "5m",
              "warning",
              f"{{{{ $labels.queue }}}}: {{{{ $value }}}} messages ready (>= {warning})",
              **labels),
        _rule("FedbusDeadLetters", f"rabbitmq_queue_messages{{{dlq}}} > 0", "1m",
              "warning",
              "{{ $value }} dead letter(s) in {{ $labels.queue }}: fedbus dlq "
              "<queue> says why", **labels),
    ]
    if not exempt:
        rules.append(
            _rule("FedbusQueueWithoutConsumer",
                  f"rabbitmq_queue_consumers{{{sel}}} == 0", "10m", "warning",
                  "{{ $labels.queue }} has had no consumer for 10 minutes", **labels))
    return rules


def bus_alert_rules(
    accounts,
    vhost,
    warning=10_000,
    critical=100_000,
    queues=None,
    no_consumer_exempt=None,
    relay_age_warning=300,
    relay_age_critical=3600,
    cert_days=21,
    jobs=None,
    mirror_lag=21600,
):
    if not isinstance(vhost, str) or not vhost or '"' in vhost or "\\" in vhost:
        raise AnsibleFilterError(f"vhost {vhost!r}: expected a name without quotes")
    default = _thresholds("queue thresholds", warning, critical)
    overrides = queues or {}
    if not isinstance(overrides, dict):
        raise AnsibleFilterError("queues: expected a mapping of queue pattern to thresholds")
    exempt = list(no_consumer_exempt or [])
    job = {**_JOBS, **(jobs or {})}
    if set(job) != set(_JOBS) or not all(isinstance(v, str) and v for v in job.values()):
        raise AnsibleFilterError(f"jobs: expected names for exactly {sorted(_JOBS)}")
    age_w = _positive("relay_age_warning", relay_age_warning)
    age_c = _positive("relay_age_critical", relay_age_critical)
    if age_w > age_c:
        raise AnsibleFilterError(
            f"relay_age_warning ({age_w}) is above relay_age_critical ({age_c})"
        )
    days = _positive("cert_days", cert_days)
    lag = _positive("mirror_lag", mirror_lag)
    patterns = _consumer_patterns(accounts)
    unknown = sorted(set(overrides) - {known for _account, known in patterns})
    if unknown:
        raise AnsibleFilterError(
            f"queues: {unknown[0]!r} is no consumer queue of the accounts table"
        )
    for pattern in exempt:
        _regex(pattern)
    queue_rules = []
    for account, pattern in patterns:
        limits = default
        if pattern in overrides:
            o = overrides[pattern]
            if not isinstance(o, dict) or set(o) - {"warning", "critical"}:
                raise AnsibleFilterError(f"queues.{pattern}: expected warning and/or critical")
            limits = _thresholds(f"queues.{pattern}", o.get("warning", default[0]),
                                 o.get("critical", default[1]))
        queue_rules += _queue_rules(account, pattern, vhost, limits, pattern in exempt,
                                    job["rabbitmq"])
    rq, relay, mirror, tls = job["rabbitmq"], job["relay"], job["mirror"], job["tls"]
    bus_rules = [
        _rule("FedbusBrokerNodeDown", f'up{{job="{rq}"}} == 0', "1m", "critical",
              "broker node {{ $labels.instance }} does not answer its metrics scrape"),
        _rule("FedbusBrokerAlarm",
              f'rabbitmq_alarms_memory_used_watermark{{job="{rq}"}} > 0 or '
              f'rabbitmq_alarms_free_disk_space_watermark{{job="{rq}"}} > 0',
              "1m", "critical",
              "broker node {{ $labels.instance }} is in a memory or disk alarm: publishers "
              "are blocked, relays spool"),
        _rule("FedbusRelayDown", f'up{{job="{relay}"}} == 0', "5m", "warning",
              "the relay on {{ $labels.instance }} does not answer its metrics scrape"),
        _rule("FedbusRelayBacklogCritical",
              f'fedbus_relay_oldest_message_age_seconds{{job="{relay}"}} >= {age_c}', "5m",
              "critical",
              "the relay on {{ $labels.instance }} has held a message for {{ $value }}s"),
        _rule("FedbusRelayBacklog",
              f'fedbus_relay_oldest_message_age_seconds{{job="{relay}"}} >= {age_w} < {age_c}',
              "5m", "warning",
              "the relay on {{ $labels.instance }} has held a message for {{ $value }}s: the "
              "broker is unreachable or refuses its account"),
        _rule("FedbusRelaySetAside", f'fedbus_relay_dead_messages{{job="{relay}"}} > 0', "1m",
              "warning",
              "the relay on {{ $labels.instance }} set {{ $value }} message(s) aside in dead/"),
        _rule("FedbusMirrorLagging",
              f'fedbus_mirror_lag_seconds{{job="{mirror}"}} > {lag}', "10m", "warning",
              "the mirror on {{ $labels.instance }} is {{ $value }}s behind its upstream's "
              f"last in_sync (> {lag}s): its pulls fail or it hears no message"),
        _rule("FedbusCertificateExpiry",
              f'probe_ssl_earliest_cert_expiry{{job="{tls}"}} - time() < {days} * 86400',
              "1h", "warning",
              f"the certificate of {{{{ $labels.instance }}}} ends in less than {days} days"),
    ]
    return {"groups": [{"name": "fedbus-queues", "rules": queue_rules},
                       {"name": "fedbus-bus", "rules": bus_rules}]}


class FilterModule:
    def filters(self):
        return {"bus_alert_rules": bus_alert_rules}
