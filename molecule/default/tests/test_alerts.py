"""The alert rules of roles/monitoring on bus-broker (group bus_monitoring): the file the
role wrote, for the scenario's vhost, passes ``promtool check rules``.

The base image has no Prometheus (Debian's package is large and the containers do not
reach Debian's archive), so the controller's promtool (scripts/host-deps.sh) checks the
file as deployed; the role itself validates with the host's promtool when it has one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PREFIX = os.environ.get("FEDBUS_BUS_PREFIX", "bus-")  # fedbus- for the make-up containers
RULES = "/etc/prometheus/rules.d/fedbus.rules.yml"
VHOST = "local"

testinfra_hosts = [f"{PREFIX}broker"]


def test_the_rules_file_is_the_roles(host) -> None:
    rules = host.file(RULES)
    assert rules.is_file
    assert (rules.user, rules.group, rules.mode) == ("root", "root", 0o644)
    doc = yaml.safe_load(rules.content_string)
    assert [g["name"] for g in doc["groups"]] == ["fedbus-queues", "fedbus-bus"]
    alerts = {r["alert"] for g in doc["groups"] for r in g["rules"]}
    assert {"FedbusQueueBacklog", "FedbusQueueBacklogCritical", "FedbusDeadLetters",
            "FedbusQueueWithoutConsumer", "FedbusBrokerNodeDown", "FedbusRelayBacklog",
            "FedbusMirrorLagging", "FedbusCertificateExpiry"} <= alerts
    queue_exprs = [r["expr"] for r in doc["groups"][0]["rules"]]
    assert queue_exprs and all(f'vhost="{VHOST}"' in e for e in queue_exprs)


def test_promtool_checks_the_deployed_rules(host, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing on the controller (scripts/host-deps.sh installs it)")
    (tmp_path / "fedbus.rules.yml").write_text(host.file(RULES).content_string)
    check = subprocess.run([promtool, "check", "rules", str(tmp_path / "fedbus.rules.yml")],
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "SUCCESS" in check.stdout
