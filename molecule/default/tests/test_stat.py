"""``fedbus stat`` as the on-call engineer runs it: the deployed fedbus on the notification
server, as the ``operator`` account (tag monitoring), against the broker's management API
over TLS checked against the collection CA (``--cafile``).  The verdict names every relay
that is connected; with bus-koji's relay stopped it is a WARNING naming that host, with the
exit code of a monitoring plugin.  What it printed: tests/output/molecule-default/stat-*.txt."""

from __future__ import annotations

import json
import subprocess

from bus_e2e import sh, wait
from bus_testlib import ENVIRONMENT, ROOT

HOST = "bus-notifier"
OUTPUT = ROOT / "tests" / "output" / "molecule-default"
CONF = "/run/fedbus-stat-test/fedbus.toml"


def stat(*args: str) -> tuple[int, str]:
    proc = subprocess.run(
        ["docker", "exec", HOST, "fedbus", "-c", CONF, "stat", "--vhost", ENVIRONMENT, *args],
        capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode in (0, 1, 2), proc.stdout + proc.stderr
    return proc.returncode, proc.stdout


def save(name: str, text: str) -> None:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / name).write_text(text)


def test_stat_names_the_host_whose_relay_is_down(secrets) -> None:
    password = secrets["vault_fedbus_account_passwords"]["operator"]
    # the password goes in a file on the host (never on a command line)
    subprocess.run(["docker", "exec", "-i", HOST, "sh", "-c",
                    "umask 077; mkdir -p /run/fedbus-stat-test; "
                    "cat > /run/fedbus-stat-test/operator.password"],
                   input=password + "\n", text=True, check=True, timeout=30)
    sh(HOST, f"""cat > {CONF} <<'TOML'
environment = "{ENVIRONMENT}"
[management]
url = "https://bus-broker:15671"
user = "operator"
password_file = "operator.password"
ca_cert = "/etc/fedbus/ca.pem"
TOML""")
    koji = sh("bus-koji", "hostname").strip()
    _, out = stat("--json")
    relays = sorted({r["host"] for r in json.loads(out)["relays"]})
    assert koji in relays, out
    expect = [a for host in relays for a in ("--expect-relay", host)]
    code, screen = stat(*expect)
    save("stat-healthy.txt", f"$ fedbus stat --vhost {ENVIRONMENT} {' '.join(expect)}\n"
                             f"(exit {code})\n{screen}")
    first = screen.splitlines()[0]
    assert first.split(":")[0] in ("OK", "WARNING"), screen
    assert "is not connected" not in first and "is down" not in first, screen
    assert {"NODES", "QUEUES", "DEAD LETTERS", "RELAYS"} <= set(screen.splitlines())

    sh("bus-koji", "systemctl stop fedbus-relay")
    try:
        def koji_missing() -> tuple[int, str] | None:
            got = stat(*expect)
            return got if f"relay on {koji} is not connected" in got[1].splitlines()[0] else None

        code, screen = wait(koji_missing, 60, f"stat to miss {koji}'s relay")
        save("stat-relay-stopped.txt",
             f"$ fedbus stat --vhost {ENVIRONMENT} {' '.join(expect)}\n(exit {code})\n{screen}")
        assert code >= 1 and screen.split(":")[0] in ("WARNING", "CRITICAL"), screen
    finally:
        sh("bus-koji", "systemctl start fedbus-relay")
    wait(lambda: f"relay on {koji}" not in stat(*expect)[1].splitlines()[0], 60,
         f"{koji}'s relay back in stat")
