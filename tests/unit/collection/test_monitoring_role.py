"""roles/monitoring, run by ansible-playbook on this machine (connection local) with the
local inventory's accounts table: check mode on a new host, a first run, a second run
that changes nothing, the file it wrote checked and tested by promtool (every alert fires
on a synthetic series, and not before), and bad thresholds refused before anything is
written."""

from __future__ import annotations

import getpass
import grp
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
LOCAL = ROOT / "inventories" / "local" / "group_vars" / "all"
# An inventory's groups (only localhost is contacted).
GROUPS = {
    "bus_brokers": ["rabbitmq01.example.org", "rabbitmq02.example.org"],
    "bus_bridges": ["rabbitmq01.example.org", "rabbitmq02.example.org"],
    "bus_wedges": ["koji01.example.org", "pkgs01.example.org"],
    "bus_relays": ["bodhi01.example.org"],
    "bus_mirrors": ["dl01.example.org"],
    "bus_monitoring": ["localhost"],
}

_spec = importlib.util.spec_from_file_location(
    "test_bus_alerts", ROOT / "tests/unit/plugins/test_bus_alerts.py"
)
assert _spec and _spec.loader
alert_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(alert_tests)


def _local_vhost(value: Any) -> Any:
    """The filter's promtool tests (vhost prod) for the local inventory's vhost."""
    if isinstance(value, dict):
        return {k: "local" if k == "vhost" and v == "prod" else _local_vhost(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_local_vhost(v) for v in value]
    if isinstance(value, str):
        return value.replace('vhost="prod"', 'vhost="local"')
    return value


def play(
    tmp_path: Path, rules: Path, *args: str, **variables: Any
) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "play.yml"
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {
        "hosts": {"localhost": {"ansible_connection": "local",
                                "ansible_python_interpreter": sys.executable}},
        "children": {group: {"hosts": dict.fromkeys(hosts)} for group, hosts in GROUPS.items()},
    }}))
    # The local inventory's variables as vars_files; the test's as role parameters (above
    # them).
    playbook.write_text(yaml.safe_dump([{
        "name": "Alert rules", "hosts": "localhost", "gather_facts": False,
        "vars_files": [str(LOCAL / f) for f in ("env.yml", "bus.yml", "vault.yml")],
        "roles": [{"role": "fedora.bus.monitoring", "vars": {
            "monitoring_rules_path": str(rules),
            "monitoring_rules_owner": getpass.getuser(),
            "monitoring_rules_group": grp.getgrgid(os.getgid()).gr_name,
            **variables,
        }}],
    }]))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(playbook), *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def changed(run: subprocess.CompletedProcess[str]) -> int:
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    return int(json.loads(run.stdout)["stats"]["localhost"]["changed"])


def test_the_role_writes_rules_promtool_checks_and_tests(promtool: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.d" / "fedbus.rules.yml"
    overrides = {"monitoring_queue_thresholds": {"notifier.*": {"warning": 50, "critical": 80}}}
    assert changed(play(tmp_path, rules, "--check", **overrides)) > 0
    assert not rules.exists(), "check mode wrote the rules"
    assert changed(play(tmp_path, rules, **overrides)) > 0
    assert changed(play(tmp_path, rules, **overrides)) == 0, "a second run changed something"
    assert changed(play(tmp_path, rules, "--check", **overrides)) == 0
    assert oct(rules.stat().st_mode & 0o777) == "0o644"
    doc = yaml.safe_load(rules.read_text())
    assert rules.read_text().startswith("# Managed by Ansible (fedora.bus.monitoring)")

    check = subprocess.run([promtool, "check", "rules", str(rules)],
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = _local_vhost(alert_tests.TESTS)
    (rules.parent / "tests.yml").write_text(yaml.safe_dump(
        {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [tests]}))
    run = subprocess.run([promtool, "test", "rules", "tests.yml"], cwd=rules.parent,
                         capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    alerts = {r["alert"] for g in doc["groups"] for r in g["rules"]}
    assert alerts == {t["alertname"] for t in tests["alert_rule_test"]}


def test_other_thresholds_change_the_rules(tmp_path: Path) -> None:
    rules = tmp_path / "fedbus.rules.yml"
    assert changed(play(tmp_path, rules, monitoring_queue_warning=20, monitoring_queue_critical=30,
                        monitoring_mirror_lag=3600, monitoring_cert_days=7)) > 0
    exprs = {r["alert"]: r["expr"] for g in yaml.safe_load(rules.read_text())["groups"]
             for r in g["rules"]}
    assert exprs["FedbusQueueBacklog"].endswith(">= 20 < 30")
    assert exprs["FedbusMirrorLagging"].endswith("> 3600")
    assert exprs["FedbusCertificateExpiry"].endswith("< 7 * 86400")


@pytest.mark.parametrize(("variables", "message"), [
    ({"monitoring_queue_warning": 100, "monitoring_queue_critical": 100},
     "monitoring_queue_critical (100) must be above monitoring_queue_warning (100)"),
    ({"monitoring_queue_warning": "lots"}, "monitoring_queue_warning"),
    ({"monitoring_queue_thresholds": {"nope.*": {"warning": 1}}},
     "'nope.*' is no consumer queue of the accounts table"),
    ({"monitoring_jobs": {"rabbitmq": "rabbitmq"}}, "relay"),
    ({"monitoring_vhost": 'local"'}, "monitoring_vhost"),
])
def test_bad_values_fail_before_the_host_is_touched(
    tmp_path: Path, variables: dict[str, Any], message: str
) -> None:
    rules = tmp_path / "rules.d" / "fedbus.rules.yml"
    run = play(tmp_path, rules, **variables)
    assert run.returncode != 0
    assert re.search(re.escape(message), run.stdout), run.stdout[-4000:]
    assert not rules.parent.exists()


def test_the_target_files_list_the_inventorys_endpoints(promtool: str, tmp_path: Path) -> None:
    """The file_sd files, read by a Prometheus configuration as roles/monitoring/README.md
    shows it: promtool check config reads them and the rules."""
    rules, targets = tmp_path / "rules.d" / "fedbus.rules.yml", tmp_path / "file_sd"
    assert changed(play(tmp_path, rules, monitoring_targets_dir=str(targets))) > 0
    assert changed(play(tmp_path, rules, monitoring_targets_dir=str(targets))) == 0

    def listed(name: str) -> list[str]:
        (group,) = yaml.safe_load((targets / name).read_text())
        return group["targets"]

    assert listed("rabbitmq.yml") == [f"{h}:15692" for h in GROUPS["bus_brokers"]]
    assert listed("fedbus-relay.yml") == [f"{h}:9641" for h in sorted(
        GROUPS["bus_wedges"] + GROUPS["bus_relays"] + GROUPS["bus_mirrors"])]
    assert listed("fedbus-bridge.yml") == [f"{h}:9642" for h in GROUPS["bus_bridges"]]
    assert listed("fedbus-mirror.yml") == [f"{h}:9643" for h in GROUPS["bus_mirrors"]]
    readme = (ROOT / "roles/monitoring/README.md").read_text()
    config = re.search(r"```\n(# /etc/prometheus/prometheus.yml.*?)```", readme, re.S)
    assert config, "roles/monitoring/README.md: the prometheus.yml example"
    text = config.group(1).replace("/etc/prometheus/rules.d", str(rules.parent))
    (tmp_path / "prometheus.yml").write_text(text.replace("/etc/prometheus/file_sd", str(targets)))
    check = subprocess.run([promtool, "check", "config", str(tmp_path / "prometheus.yml")],
                           capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert str(rules) in check.stdout, check.stdout
