"""The alert rules generated from the accounts table: checked and unit-tested by promtool
(Debian's ``prometheus`` package): each alert fires on a synthetic series, and not before."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("bus_alerts", ROOT / "plugins/filter/bus_alerts.py")
assert _spec and _spec.loader
bus_alerts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bus_alerts)
TABLE = yaml.safe_load((ROOT / "inventories/common/bus.yml").read_text())["fedbus_accounts"]
RQ = {"job": "rabbitmq", "vhost": "prod", "instance": "bus01:15692"}
RELAY = {"job": "fedbus-relay"}
MIRROR = {"job": "fedbus-mirror", "tier": "tier1"}


def rules(**kw: object) -> dict:
    return bus_alerts.bus_alert_rules(TABLE, "prod", no_consumer_exempt=["fedbus.verify.*"],
                                      queues={"notifier.*": {"warning": 50, "critical": 80}},
                                      **kw)


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{inner}}}", "values": values}


def alert(name: str, at: str, fired: list[tuple[dict[str, str], str]]) -> dict:
    return {"eval_time": at, "alertname": name,
            "exp_alerts": [{"exp_labels": labels, "exp_annotations": {"summary": summary}}
                           for labels, summary in fired]}


def q(queue: str, severity: str, pattern: str, account: str) -> dict[str, str]:
    return {**RQ, "queue": queue, "severity": severity, "queue_pattern": pattern,
            "account": account}


N = ("notifier", "notifier")
TESTS = {
    "interval": "1m",
    "input_series": [
        series("rabbitmq_queue_messages_ready", {**RQ, "queue": "notifier"}, "5000x5 20000x30"),
        series("rabbitmq_queue_messages_ready", {**RQ, "queue": "mirror-tier1-dl01"},
               "200000x30"),
        series("rabbitmq_queue_messages_ready", {**RQ, "queue": "notifier.email"}, "10x6 60x30"),
        series("rabbitmq_queue_messages_ready", {**RQ, "queue": "notifier.dlq"}, "0x3 2x30"),
        series("rabbitmq_queue_messages", {**RQ, "queue": "notifier.dlq"}, "0x3 2x30"),
        series("rabbitmq_queue_consumers", {**RQ, "queue": "fedbus.bridge"}, "1x5 0x30"),
        series("rabbitmq_queue_consumers", {**RQ, "queue": "notifier.dlq"}, "0x30"),
        series("rabbitmq_queue_consumers", {**RQ, "queue": "fedbus.verify.abc"}, "0x30"),
        series("up", {"job": "rabbitmq", "instance": "bus02:15692"}, "1x3 0x30"),
        series("rabbitmq_alarms_free_disk_space_watermark",
               {"job": "rabbitmq", "instance": "bus01:15692"}, "0x3 1x30"),
        series("up", {**RELAY, "instance": "koji01:9641"}, "1x2 0x30"),
        series("fedbus_relay_oldest_message_age_seconds", {**RELAY, "instance": "pkgs01:9641"},
               "0+60x30"),
        series("fedbus_relay_oldest_message_age_seconds", {**RELAY, "instance": "git01:9641"},
               "7200x30"),
        series("fedbus_relay_dead_messages", {**RELAY, "instance": "hooks01:9641"}, "0 0 1x30"),
        # Above 6 h (21600 s) from 4m on; the other one stays at the threshold itself.
        series("fedbus_mirror_lag_seconds", {**MIRROR, "instance": "dl02:9643"},
               "21000x3 22000x30"),
        series("fedbus_mirror_lag_seconds", {**MIRROR, "instance": "dl03:9643"}, "21600x30"),
        series("probe_ssl_earliest_cert_expiry", {"job": "fedbus-tls", "instance": "bus01:5671"},
               "1900800x1700"),
    ],
    "alert_rule_test": [
        alert("FedbusQueueBacklog", "8m", []),
        alert("FedbusQueueBacklog", "13m", [
            (q("notifier", "warning", *N), "notifier: 20000 messages ready (>= 10000)"),
            (q("notifier.email", "warning", "notifier.*", "notifier"),
             "notifier.email: 60 messages ready (>= 50)"),
        ]),
        alert("FedbusQueueBacklogCritical", "3m", []),
        alert("FedbusQueueBacklogCritical", "6m", [
            (q("mirror-tier1-dl01", "critical", "mirror-tier1-*", "mirror-tier1"),
             "mirror-tier1-dl01: 200000 messages ready (>= 100000); its consumer is stopped "
             "or slow"),
        ]),
        alert("FedbusDeadLetters", "4m", []),
        alert("FedbusDeadLetters", "6m", [
            (q("notifier.dlq", "warning", *N),
             "2 dead letter(s) in notifier.dlq: fedbus dlq <queue> says why"),
        ]),
        alert("FedbusQueueWithoutConsumer", "10m", []),
        alert("FedbusQueueWithoutConsumer", "17m", [
            (q("fedbus.bridge", "warning", "fedbus.bridge", "bridge"),
             "fedbus.bridge has had no consumer for 10 minutes"),
        ]),
        alert("FedbusBrokerNodeDown", "4m", []),
        alert("FedbusBrokerNodeDown", "6m", [
            ({"job": "rabbitmq", "instance": "bus02:15692", "severity": "critical"},
             "broker node bus02:15692 does not answer its metrics scrape"),
        ]),
        alert("FedbusBrokerAlarm", "4m", []),
        alert("FedbusBrokerAlarm", "6m", [
            ({"job": "rabbitmq", "instance": "bus01:15692", "severity": "critical"},
             "broker node bus01:15692 is in a memory or disk alarm: publishers are blocked, "
             "relays spool"),
        ]),
        alert("FedbusRelayDown", "7m", []),
        alert("FedbusRelayDown", "9m", [
            ({**RELAY, "instance": "koji01:9641", "severity": "warning"},
             "the relay on koji01:9641 does not answer its metrics scrape"),
        ]),
        alert("FedbusRelayBacklog", "9m", []),
        alert("FedbusRelayBacklog", "11m", [
            ({**RELAY, "instance": "pkgs01:9641", "severity": "warning"},
             "the relay on pkgs01:9641 has held a message for 660s: the broker is unreachable "
             "or refuses its account"),
        ]),
        alert("FedbusRelayBacklogCritical", "4m", []),
        alert("FedbusRelayBacklogCritical", "6m", [
            ({**RELAY, "instance": "git01:9641", "severity": "critical"},
             "the relay on git01:9641 has held a message for 7200s"),
        ]),
        alert("FedbusRelaySetAside", "2m", []),
        alert("FedbusRelaySetAside", "4m", [
            ({**RELAY, "instance": "hooks01:9641", "severity": "warning"},
             "the relay on hooks01:9641 set 1 message(s) aside in dead/"),
        ]),
        alert("FedbusMirrorLagging", "13m", []),
        alert("FedbusMirrorLagging", "15m", [
            ({**MIRROR, "instance": "dl02:9643", "severity": "warning"},
             "the mirror on dl02:9643 is 22000s behind its upstream's last in_sync (> 21600s): "
             "its pulls fail or it hears no message"),
        ]),
        alert("FedbusCertificateExpiry", "23h", []),
        alert("FedbusCertificateExpiry", "26h", [
            ({"job": "fedbus-tls", "instance": "bus01:5671", "severity": "warning"},
             "the certificate of bus01:5671 ends in less than 21 days"),
        ]),
    ],
}


def test_promtool_checks_and_tests_the_rules(promtool: str, tmp_path: Path) -> None:
    (tmp_path / "fedbus.rules.yml").write_text(yaml.safe_dump(rules(), sort_keys=False))
    check = subprocess.run([promtool, "check", "rules", str(tmp_path / "fedbus.rules.yml")],
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(
        {"rule_files": ["fedbus.rules.yml"], "evaluation_interval": "1m", "tests": [TESTS]}))
    run = subprocess.run([promtool, "test", "rules", "tests.yml"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_alert_of_the_rules_is_tested() -> None:
    names = {r["alert"] for g in rules()["groups"] for r in g["rules"]}
    tested = {t["alertname"] for t in TESTS["alert_rule_test"]}
    assert names == tested


def test_one_set_of_queue_alerts_per_consumer_queue_pattern() -> None:
    queue_rules = rules()["groups"][0]["rules"]
    patterns = {r["labels"]["queue_pattern"] for r in queue_rules}
    assert patterns == {p for a in TABLE for p in a.get("consume") or []}
    exempt = [r for r in queue_rules if r["labels"]["queue_pattern"] == "fedbus.verify.*"]
    assert "FedbusQueueWithoutConsumer" not in {r["alert"] for r in exempt}


@pytest.mark.parametrize(("kw", "message"), [
    ({"warning": 10, "critical": 5}, "warning (10) is above critical (5)"),
    ({"warning": 0}, "queue thresholds.warning: expected a positive integer, got 0"),
    ({"queues": {"nope": {"warning": 1}}}, "'nope' is no consumer queue of the accounts table"),
    ({"queues": {"notifier": {"warn": 1}}}, "queues.notifier: expected warning and/or critical"),
    ({"jobs": {"broker": "x"}}, "jobs: expected names for exactly"),
    ({"cert_days": True}, "cert_days: expected a positive integer, got True"),
    ({"mirror_lag": -1}, "mirror_lag: expected a positive integer, got -1"),
    ({"relay_age_warning": 600, "relay_age_critical": 60},
     "relay_age_warning (600) is above relay_age_critical (60)"),
])
def test_bad_parameters_are_one_line_errors(kw: dict, message: str) -> None:
    with pytest.raises(AnsibleFilterError, match=re.escape(message)):
        bus_alerts.bus_alert_rules(TABLE, "prod", **kw)


def test_a_vhost_with_a_quote_is_refused() -> None:
    with pytest.raises(AnsibleFilterError, match="vhost"):
        bus_alerts.bus_alert_rules(TABLE, 'prod"')
