"""Every systemd unit the roles install is alive as deployed, on every host that runs it.

The unit templates are discovered (``roles/*/templates/**/*.{service,timer,target}.j2``):
each must have an entry in ``CHECKS`` — the hosts of this scenario that run it (from
molecule.yml's groups and host_vars/) and a health check that means something: a
connection or a consumer on the broker (management API), an HTTP endpoint answered from
the controller, a one-shot that exits 0, the stand-in API's access log of a poller. Each
service runs the installed wheel: its main process is the virtualenv's, whose ``fedbus``
is an installed distribution (not a checkout).

Against the ``make up`` environment: ``FEDBUS_BUS_PREFIX=fedbus- pytest -p no:cacheprovider
molecule/default/tests/test_units.py`` (FEDBUS_PKI_DIR=.cache/pki/, see scripts/env.sh).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from bus_e2e import wait
from bus_testlib import ROOT, container_ip, management_api

PREFIX = os.environ.get("FEDBUS_BUS_PREFIX", "bus-")  # fedbus- for the make-up containers
SCENARIO = Path(__file__).resolve().parents[1]
VENV = "/opt/fedbus/venv"
VHOST = "local"
UNIT_SUFFIXES = (".service", ".timer", ".target")

testinfra_hosts = [f"{PREFIX}notifier"]


def unit_templates() -> list[str]:
    """The unit names of every unit template of the roles (``fedbus-relay.service``…)."""
    names = {p.name.removesuffix(".j2") for p in (ROOT / "roles").glob("*/templates/**/*.j2")}
    return sorted(n for n in names if n.endswith(UNIT_SUFFIXES))


# -- the scenario's hosts -------------------------------------------------------------------


@cache
def layout() -> dict[str, dict[str, Any]]:
    """short name (``git``) -> {"groups": [...], **host_vars} of molecule.yml's platforms."""
    platforms = yaml.safe_load((SCENARIO / "molecule.yml").read_text())["platforms"]
    hosts: dict[str, dict[str, Any]] = {}
    for p in platforms:
        short = p["name"].removeprefix("bus-")
        path = SCENARIO / "host_vars" / f"{p['name']}.yml"
        host_vars = yaml.safe_load(path.read_text()) if path.exists() else {}
        hosts[short] = {"groups": p.get("groups", []), **(host_vars or {})}
    return hosts


def hosts_where(pred: Callable[[dict[str, Any]], bool]) -> list[str]:
    return sorted(short for short, h in layout().items() if pred(h))


RELAY_GROUPS = {"bus_relays", "bus_wedges", "bus_notifiers", "bus_mirrors"}


def relay_hosts() -> list[str]:
    return hosts_where(lambda h: bool(RELAY_GROUPS & set(h["groups"])))


def in_group(group: str) -> Callable[[dict[str, Any]], bool]:
    return lambda h: group in h["groups"]


def wedge(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda h: "bus_wedges" in h["groups"] and name in h.get("wedges_enabled", [])


def mirror(*modes: str) -> Callable[[dict[str, Any]], bool]:
    return lambda h: "bus_mirrors" in h["groups"] and h.get("mirror_mode") in modes


# -- helpers ----------------------------------------------------------------------------------


def container(short: str) -> str:
    return PREFIX + short


@cache
def ip(short: str) -> str:
    return container_ip(container(short))


def run(short: str, script: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", "exec", container(short), "sh", "-c", script],
                          capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert done.returncode == 0, f"{container(short)}: {script}: {done.stderr}{done.stdout}"
    return done


def show(short: str, unit: str, *props: str) -> dict[str, str]:
    out = run(short, f"systemctl show --timestamp=unix {unit} "
                     + " ".join(f"-p {p}" for p in props)).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def assert_active(short: str, unit: str) -> dict[str, str]:
    props = show(short, unit, "ActiveState", "SubState", "MainPID", "NRestarts",
                 "ActiveEnterTimestamp", "ExecStart")
    assert props["ActiveState"] == "active", (
        f"{container(short)}: {unit} is {props['ActiveState']}/{props['SubState']}:\n"
        + run(short, f"journalctl -u {unit} -n 30 --no-pager", check=False).stdout)
    return props


def active_since(props: dict[str, str]) -> float:
    return float(props["ActiveEnterTimestamp"].lstrip("@"))


@cache
def installed_fedbus(short: str) -> str:
    """Where the host's virtualenv imports fedbus from; fails unless it is an installed
    distribution (a wheel: no editable / directory install)."""
    probe = ("import fedbus, importlib.metadata as m; d = m.distribution('fedbus'); "
             "print(fedbus.__file__); print(d.version); print(d.read_text('direct_url.json'))")
    out = run(short, f"{VENV}/bin/python -c \"{probe}\"").stdout.splitlines()
    where, version, direct = out[0], out[1], "\n".join(out[2:])
    assert where.startswith(f"{VENV}/lib/") and "/site-packages/fedbus/" in where, where
    assert '"dir_info"' not in direct, f"{container(short)}: fedbus {version} from a directory"
    return version


def assert_runs_the_wheel(short: str, unit: str, props: dict[str, str]) -> None:
    pid = props["MainPID"]
    assert pid != "0", f"{container(short)}: {unit} has no main process"
    argv = run(short, f"tr '\\0' ' ' < /proc/{pid}/cmdline").stdout.split()
    assert any(a.startswith(f"{VENV}/bin/") for a in argv[:2]), (unit, argv)
    installed_fedbus(short)


def service(short: str, unit: str) -> dict[str, str]:
    """Active, its main process the installed wheel's; returns its properties."""
    props = assert_active(short, unit)
    assert_runs_the_wheel(short, unit, props)
    return props


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def http_post(url: str, body: dict, token: str) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def queue_consumers(api, queue: str) -> list[str]:
    """The peer addresses of the consumers of ``queue``."""
    info = api(f"/api/queues/{VHOST}/{queue}")
    return sorted(c["channel_details"]["peer_host"] for c in info.get("consumer_details", []))


def assert_consumes(api, short: str, queue: str, count: int = 1) -> None:
    def peers() -> list[str] | None:
        got = queue_consumers(api, queue)
        return got if got.count(ip(short)) == count else None
    wait(peers, 30, f"{count} consumer(s) of {queue} from {container(short)} "
                        f"(now: {queue_consumers(api, queue)})")


def unit_arg(props: dict[str, str], flag: str) -> str:
    found = re.search(rf"{flag} (\S+)", props["ExecStart"])
    assert found, (flag, props["ExecStart"])
    return found[1]


def stand_in_requests(since: float, client: str, log: str) -> list[tuple[float, str, int]]:
    """(time, path, status) of the requests from ``client`` in a stand-in's access log."""
    out = run("infra", f"cat /var/log/fedbus-stand-ins/{log}.log").stdout
    got = []
    for line in out.splitlines():
        at, peer, _method, path, status = line.split()
        if peer == client and float(at) >= since:
            got.append((float(at), path, int(status)))
    return got


def assert_polls(short: str, unit: str, log: str, path: str) -> None:
    """The poller asked the stand-in for ``path`` successfully since it started, asks it
    again every interval, never failed a poll and never restarted."""
    props = service(short, unit)
    assert props["NRestarts"] == "0", f"{container(short)}: {unit} restarted"
    started = active_since(props)
    interval = float(unit_arg(props, "--interval"))
    ok = wait(lambda: [r for r in stand_in_requests(started, ip(short), log)
                           if r[1] == path and r[2] == 200], interval * 2 + 15,
                  f"a successful poll of {path} by {container(short)}")
    bad = [r for r in stand_in_requests(started, ip(short), log) if r[2] != 200]
    assert not bad, f"{container(short)}: {unit}: failed requests {bad}"
    # still polling: a request newer than two intervals (the unit may just have started)
    wait(lambda: time.time() - max(r[0] for r in stand_in_requests(
        started, ip(short), log) if r[1] == path) < 2 * interval + 5, interval * 2 + 15,
        f"{container(short)} polling {path} again")
    journal = run(short, f"journalctl -u {unit} --since @{int(started)} --no-pager").stdout
    assert "poll failed" not in journal and "Traceback" not in journal, journal[-3000:]
    assert ok


# -- the health checks, one per unit template ---------------------------------------------


def scrape(short: str, port: int) -> dict[str, float]:
    """The samples of a service's metrics endpoint on 127.0.0.1 of its host, by name (the
    samples of one name, whatever their labels, added up), read as Prometheus reads them
    (prometheus-client's parser, the host's own)."""
    script = ("import urllib.request as u; "
              "from prometheus_client.parser import text_string_to_metric_families as p; "
              f"text = u.urlopen('http://127.0.0.1:{port}/metrics', timeout=5).read().decode(); "
              "[print(s.name, s.value) for f in p(text) for s in f.samples]")
    out = run(short, f"{VENV}/bin/python -c \"{script}\"").stdout
    samples: dict[str, float] = {}
    for name, value in (line.split() for line in out.splitlines()):
        samples[name] = samples.get(name, 0.0) + float(value)
    return samples


def check_relay(api, secrets) -> None:
    names = api("/api/connections?columns=user,peer_host,state,client_properties")
    for short in relay_hosts():
        service(short, "fedbus-relay.service")
        account = layout()[short]["runtime_account"]

        hostname = subprocess.run(["docker", "exec", container(short), "hostname"], check=True,
                                  capture_output=True, text=True).stdout.strip()

        def connected(short=short, account=account, hostname=hostname) -> bool:
            conns = api("/api/connections?columns=user,peer_host,state,client_properties")
            return any(c["user"] == account and c["peer_host"] == ip(short)
                       and c.get("state") == "running"
                       and (c.get("client_properties") or {}).get("connection_name")
                       == f"fedbus-relay@{hostname}" for c in conns)
        wait(connected, 30, f"a running relay connection of {account} from "
                                f"{container(short)} (connections: {names})")
        assert scrape(short, 9641)["fedbus_relay_connected"] == 1, container(short)


def check_bridge(api, secrets) -> None:
    for short in hosts_where(in_group("bus_bridges")):
        service(short, "fedbus-bridge.service")
        account = layout()[short]["runtime_account"]

        def consuming(account=account) -> bool:
            queue = api("/api/queues/local/fedbus.bridge")
            return any(c["channel_details"]["user"] == account
                       for c in queue.get("consumer_details", []))
        wait(consuming, 30, f"{account} consuming fedbus.bridge")
        assert scrape(short, 9642)["fedbus_bridge_consuming"] == 1


def notifier_units(short: str) -> list[str]:
    wants = show(short, "fedbus-notifier.target", "Wants")["Wants"].split()
    return sorted(w for w in wants if w.startswith("fedbus-notifier"))


def check_notifier_target(api, secrets) -> None:
    for short in hosts_where(in_group("bus_notifiers")):
        assert_active(short, "fedbus-notifier.target")
        wanted = notifier_units(short)
        assert "fedbus-notifier-digest.service" in wanted, wanted
        for unit in wanted:
            assert_active(short, unit)


def check_workers(api, secrets) -> None:
    for short in hosts_where(in_group("bus_notifiers")):
        workers = [u for u in notifier_units(short) if u.startswith("fedbus-notifier-worker@")]
        assert workers, f"{container(short)}: no worker wanted by fedbus-notifier.target"
        for unit in workers:
            service(short, unit)
        assert_consumes(api, short, "notifier", len(workers))


def check_senders(api, secrets) -> None:
    for short in hosts_where(in_group("bus_notifiers")):
        for kind in ("email", "irc"):
            service(short, f"fedbus-notifier-sender@{kind}.service")
            assert_consumes(api, short, f"notifier.{kind}")


def check_web(api, secrets) -> None:
    for short in hosts_where(in_group("bus_notifiers")):
        service(short, "fedbus-notifier-web.service")
        status, body = http_get(f"http://{ip(short)}:8080/healthz")
        assert (status, body) == (200, {"status": "ok"}), (status, body)


def check_digest_service(api, secrets) -> None:
    """The digest service keeps the items of hourly/daily destinations: it consumes
    notifier.digest (nothing else does), and sends due digests every interval."""
    for short in hosts_where(in_group("bus_notifiers")):
        service(short, "fedbus-notifier-digest.service")
        assert_consumes(api, short, "notifier.digest")


def rsync_modules(short: str) -> list[str]:
    out = subprocess.run(["rsync", f"rsync://{ip(short)}/"], capture_output=True, text=True,
                         timeout=30, check=False)
    assert out.returncode == 0, f"{container(short)}'s rsync daemon: {out.stderr}"
    return [line.split()[0] for line in out.stdout.splitlines() if line.strip()]


def check_mirror(api, secrets) -> None:
    for short in hosts_where(mirror("master", "tier1", "tier2")):
        h = layout()[short]
        props = service(short, "fedbus-mirror.service")
        assert_active(short, "rsync.service")
        assert h.get("mirror_volume", "pub") in rsync_modules(short)
        if h["mirror_mode"] == "master":
            # no broker connection: it scans its tree and announces through the relay's
            # spool, first the whole tree at start (announce_on_start), then each change
            journal = run(short, "journalctl -u fedbus-mirror --no-pager "
                                 f"--since @{int(active_since(props))}").stdout
            assert "in_sync pub: whole tree" in journal, journal[-3000:]
            assert "Traceback" not in journal, journal[-3000:]
        else:
            assert_consumes(api, short, f"mirror-{h['mirror_mode']}-{container(short)}")


def check_webhook(api, secrets) -> None:
    tokens = secrets["vault_webhook_tokens"]
    for short in hosts_where(wedge("webhook")):
        props = service(short, "fedbus-webhook.service")
        listen = unit_arg(props, "--listen")
        port = listen.rpartition(":")[2]
        status, body = http_get(f"http://{ip(short)}:{port}/health")
        # anonymous: the status only, never which services hold a token
        assert status == 200 and body == {"status": "ok"}, body
        # its tokens: a wrong one is refused before anything is published
        service_name = sorted(tokens)[0]
        assert http_post(f"http://{ip(short)}:{port}/hook/{service_name}",
                         {"topic": f"{service_name}.x", "body": {}}, "not-the-token") == 401


def check_netapp_watch(api, secrets) -> None:
    for short in hosts_where(wedge("netapp")):
        assert_polls(short, "fedbus-netapp-watch.service", "ontap",
                     "/api/snapmirror/relationships")


def check_bugzilla_poll(api, secrets) -> None:
    for short in hosts_where(wedge("bugzilla")):
        assert_polls(short, "fedbus-bugzilla-poll.service", "bugzilla", "/rest/bug")


@dataclass(frozen=True)
class Check:
    hosts: Callable[[], list[str]]
    check: Callable[[Any, dict], None]


CHECKS: dict[str, Check] = {
    "fedbus-relay.service": Check(relay_hosts, check_relay),
    "fedbus-bridge.service": Check(lambda: hosts_where(in_group("bus_bridges")), check_bridge),
    "fedbus-notifier.target": Check(lambda: hosts_where(in_group("bus_notifiers")),
                                    check_notifier_target),
    "fedbus-notifier-worker@.service": Check(lambda: hosts_where(in_group("bus_notifiers")),
                                             check_workers),
    "fedbus-notifier-sender@.service": Check(lambda: hosts_where(in_group("bus_notifiers")),
                                             check_senders),
    "fedbus-notifier-web.service": Check(lambda: hosts_where(in_group("bus_notifiers")),
                                         check_web),
    "fedbus-notifier-digest.service": Check(lambda: hosts_where(in_group("bus_notifiers")),
                                            check_digest_service),
    "fedbus-mirror.service": Check(lambda: hosts_where(mirror("master", "tier1", "tier2")),
                                   check_mirror),
    "fedbus-webhook.service": Check(lambda: hosts_where(wedge("webhook")), check_webhook),
    "fedbus-netapp-watch.service": Check(lambda: hosts_where(wedge("netapp")),
                                         check_netapp_watch),
    "fedbus-bugzilla-poll.service": Check(lambda: hosts_where(wedge("bugzilla")),
                                          check_bugzilla_poll),
}


@pytest.fixture(scope="module")
def api(secrets, ca_file):
    return management_api(ip("broker"), secrets["vault_broker_admin_password"], ca_file)


def test_every_unit_template_has_a_health_check() -> None:
    templates = unit_templates()
    assert len(templates) >= 10, templates  # the discovery itself works
    unchecked = sorted(set(templates) - set(CHECKS))
    assert not unchecked, f"unit templates without a health check here: {unchecked}"
    stale = sorted(set(CHECKS) - set(templates))
    assert not stale, f"health checks of units no role installs any more: {stale}"
    idle = sorted(u for u, c in CHECKS.items() if not c.hosts())
    assert not idle, f"units that no host of the scenario runs: {idle}"


@pytest.mark.parametrize("unit", unit_templates())
def test_unit_is_alive(unit: str, api, secrets) -> None:
    if unit not in CHECKS:
        pytest.fail(f"{unit}: no health check (add one to CHECKS)")
    CHECKS[unit].check(api, secrets)


def test_the_other_services_run() -> None:
    """What is around the bus's own units: the broker, the rsync daemons (checked with
    the mirrors), the stand-ins of the local environment."""
    around = {"broker": ["rabbitmq-server"],
              "infra": ["exim4", "ngircd", "fedbus-stand-in-ontap", "fedbus-stand-in-bugzilla"]}
    for short, names in around.items():
        states = run(short, f"systemctl is-active {' '.join(names)}; true").stdout.split()
        assert states == ["active"] * len(names), (container(short), names, states)
