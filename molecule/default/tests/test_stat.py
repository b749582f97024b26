"""``fedbus stat`` and ``fedbus freshness`` on the deployed whole bus, as the on-call
engineer runs them: the `operator` account (tag `monitoring`, the mirror events stream in its
`read_queues`, password in a file), the collection CA, every relay host expected.
Healthy: ``OK`` and exit 0.  One relay stopped: ``WARNING`` naming its host, exit 1, as
monitoring plugins expect.  After the mirror use case of test_bus.py, every tier is current.
The screens are kept in tests/output/molecule-default/ (stat-*.txt, freshness.txt)."""

from __future__ import annotations

import subprocess

import pytest
from bus_browser import output_dir
from bus_e2e import sh
from test_units import PREFIX, relay_hosts

testinfra_hosts = ["bus-notifier"]

WHERE = "bus-notifier"
CONFIG = "/root/fedbus-stat.toml"


@pytest.fixture(scope="module")
def stat_config(secrets) -> str:
    """A configuration for `fedbus stat` on the notifier host, the operator's password
    written to a file through stdin (never on a command line)."""
    subprocess.run(
        ["docker", "exec", "-i", WHERE, "sh", "-c",
         "umask 077 && cat > /root/.fedbus-stat-password"],
        input=secrets["vault_fedbus_account_passwords"]["operator"], text=True, check=True,
        timeout=60)
    sh(WHERE, f"umask 077 && cat > {CONFIG} <<'EOF'\n"
              'environment = "local"\n'
              '[management]\nurl = "https://bus-broker:15671"\nuser = "operator"\n'
              'password_file = "/root/.fedbus-stat-password"\nca_cert = "/etc/fedbus/ca.pem"\n'
              '[amqp]\nurls = ["amqps://bus-broker:5671/"]\nvhost = "local"\n'
              'user = "operator"\npassword_file = "/root/.fedbus-stat-password"\n'
              '[amqp.tls]\nca_cert = "/etc/fedbus/ca.pem"\n'
              "EOF\n")
    return CONFIG


def stat(config: str, name: str) -> tuple[int, str]:
    expect = [arg for short in relay_hosts() for arg in ("--expect-relay", PREFIX + short)]
    run = subprocess.run(["docker", "exec", WHERE, "fedbus", "-c", config, "stat",
                          "--vhost", "local", *expect],
                         capture_output=True, text=True, timeout=120, check=False)
    screen = run.stdout + run.stderr
    (output_dir() / name).write_text(f"$ fedbus stat --vhost local {' '.join(expect)}\n"
                               f"{screen}(exit {run.returncode})\n")
    return run.returncode, screen


def test_stat_says_the_deployed_bus_is_healthy(stat_config: str) -> None:
    code, screen = stat(stat_config, "stat-healthy.txt")
    assert screen.startswith("OK"), screen
    assert code == 0, screen
    for short in relay_hosts():  # every relay is listed with its backlog
        assert PREFIX + short in screen, (short, screen)


def test_stat_warns_naming_the_host_whose_relay_is_stopped(stat_config: str) -> None:
    koji = PREFIX + "koji"
    sh(koji, "systemctl stop fedbus-relay")
    try:
        code, screen = stat(stat_config, "stat-relay-stopped.txt")
    finally:
        sh(koji, "systemctl start fedbus-relay")
    first = screen.splitlines()[0]
    assert first == f"WARNING: relay on {koji} is not connected", screen
    assert code == 1, screen


def test_freshness_says_every_mirror_tier_is_current(stat_config: str) -> None:
    run = subprocess.run(["docker", "exec", WHERE, "fedbus", "-c", stat_config, "freshness"],
                         capture_output=True, text=True, timeout=120, check=False)
    screen = run.stdout + run.stderr
    (output_dir() / "freshness.txt").write_text(f"$ fedbus freshness\n{screen}"
                                                f"(exit {run.returncode})\n")
    assert screen.startswith("OK"), screen
    assert run.returncode == 0, screen
    rows = [line.split() for line in screen.splitlines()
            if line.split()[2:3] in (["tier1"], ["tier2"])]
    assert sorted((r[1], r[2], r[3]) for r in rows) == [
        ("bus-mirror-tier1", "tier1", "current"), ("bus-mirror-tier2", "tier2", "current")], screen
