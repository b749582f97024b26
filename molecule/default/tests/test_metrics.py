"""Every long-running fedbus service of the scenario serves its Prometheus metrics where its
role says (the ``*_metrics_address`` defaults or the host's vars), scraped from inside its
container with test_units.py's :func:`~test_units.scrape` (prometheus-client's parser):
the relay and the bridge are checked by test_units.py; here the notifier's units (each
instance of the template units on its own port), the mirror agents and the wedges.

Against the ``make up`` environment: ``FEDBUS_BUS_PREFIX=fedbus- pytest -p no:cacheprovider
molecule/default/tests/test_metrics.py``.
"""

from __future__ import annotations

import pytest
from bus_e2e import wait
from test_units import (
    PREFIX,
    VENV,
    hosts_where,
    in_group,
    layout,
    mirror,
    run,
    scrape,
    service,
    wedge,
)

testinfra_hosts = [f"{PREFIX}notifier"]


def get(short: str, at: int, path: str) -> None:
    """GET http://127.0.0.1:<at><path> inside the container (the venv's Python: no curl)."""
    run(short, f"{VENV}/bin/python -c \"import urllib.request as u; "
               f"u.urlopen('http://127.0.0.1:{at}{path}', timeout=10).read()\"")


def port(short: str, variable: str, default: str) -> int:
    return int(str(layout()[short].get(variable, default)).rsplit(":", 1)[1])


def scraped(short: str, at: int, family: str, what: str) -> dict[str, float]:
    """The samples once ``family`` has one (a family without samples is not in them)."""
    return wait(lambda: (got := scrape(short, at)).get(family) is not None and got, 60,
                f"{family} on {PREFIX}{short}:{at} ({what})")


def notifier_ports(short: str) -> dict[str, int]:
    """The port of each notifier unit: notifier_metrics_address and the offsets of the role
    (+0 digest, +1 web, +2 sender@email, +3 sender@irc, +3+N worker@N)."""
    base = port(short, "notifier_metrics_address", "127.0.0.1:9650")
    ports = {"fedbus-notifier-digest.service": base, "fedbus-notifier-web.service": base + 1,
             "fedbus-notifier-sender@email.service": base + 2,
             "fedbus-notifier-sender@irc.service": base + 3}
    for n in range(1, int(layout()[short].get("notifier_workers", 2)) + 1):
        ports[f"fedbus-notifier-worker@{n}.service"] = base + 3 + n
    return ports


NOTIFIERS = hosts_where(in_group("bus_notifiers"))
MIRRORS = hosts_where(mirror("master", "tier1", "tier2"))


def test_the_scenario_has_every_kind_of_service() -> None:
    assert NOTIFIERS and MIRRORS
    assert hosts_where(wedge("webhook")) and hosts_where(wedge("netapp"))
    assert hosts_where(wedge("bugzilla"))


@pytest.mark.parametrize("short", NOTIFIERS)
def test_each_notifier_unit_has_its_own_endpoint(short: str) -> None:
    ports = notifier_ports(short)
    assert len(set(ports.values())) == len(ports)
    for unit, at in sorted(ports.items()):
        props = service(short, unit)
        assert f"--metrics 127.0.0.1:{at} " in props["ExecStart"] or (
            "${FEDBUS_METRICS_" in props["ExecStart"]), props["ExecStart"]
    digest = scraped(short, ports["fedbus-notifier-digest.service"],
                     "fedbus_digest_last_run_timestamp_seconds", "the digest service")
    assert digest["fedbus_digest_last_run_timestamp_seconds"] > 0  # a round ran at start
    assert "fedbus_consumer_received_total" in digest  # its queue notifier.digest
    for kind in ("email", "irc"):
        sender = scraped(short, ports[f"fedbus-notifier-sender@{kind}.service"],
                         "fedbus_sender_sent_total", f"the {kind} sender")
        assert "fedbus_consumer_handler_seconds_count" in sender
    workers = [u for u in ports if "worker@" in u]
    for unit in workers:
        scraped(short, ports[unit], "fedbus_consumer_received_total", unit)
    web = ports["fedbus-notifier-web.service"]
    before = scrape(short, web).get("fedbus_web_requests_total", 0)
    bind = layout()[short].get("notifier_web_bind", "127.0.0.1:8080").rsplit(":", 1)[1]
    get(short, int(bind), "/healthz")  # answered by a gunicorn worker, counted for the master
    after = scraped(short, web, "fedbus_web_requests_total", "the web UI")
    assert after["fedbus_web_requests_total"] >= 1 and (
        after["fedbus_web_requests_total"] > before or before == 0)


@pytest.mark.parametrize("short", MIRRORS)
def test_each_mirror_agent_serves_its_metrics(short: str) -> None:
    service(short, "fedbus-mirror.service")
    at = port(short, "mirror_metrics_address", "127.0.0.1:9643")
    got = scraped(short, at, "fedbus_mirror_lag_seconds", "the mirror agent")
    if layout()[short].get("mirror_mode") == "master":
        assert got["fedbus_mirror_lag_seconds"] == 0
        assert "fedbus_mirror_announcements_total" in got
    else:  # the startup pull started at once
        got = wait(lambda: (m := scrape(short, at))[
            "fedbus_mirror_last_sync_completion_timestamp_seconds"] > 0 and m, 120,
            f"a pull of {PREFIX}{short} to end")
        assert got["fedbus_mirror_last_sync_start_timestamp_seconds"] > 0
        assert "fedbus_mirror_bytes_total" in got and "fedbus_consumer_received_total" in got


def test_the_webhook_counts_its_requests() -> None:
    for short in hosts_where(wedge("webhook")):
        service(short, "fedbus-webhook.service")
        at = port(short, "wedges_webhook_metrics_address", "127.0.0.1:9644")
        listen = layout()[short].get("wedges_webhook_listen", "127.0.0.1:8095")
        get(short, int(listen.rsplit(":", 1)[1]), "/health")
        got = scraped(short, at, "fedbus_webhook_requests_total", "the webhook")
        assert got["fedbus_webhook_requests_total"] >= 1


@pytest.mark.parametrize(("name", "variable", "default"), [
    ("netapp", "wedges_netapp_metrics_address", "127.0.0.1:9645"),
    ("bugzilla", "wedges_bugzilla_metrics_address", "127.0.0.1:9646"),
])
def test_the_pollers_count_their_polls(name: str, variable: str, default: str) -> None:
    unit = {"netapp": "fedbus-netapp-watch.service", "bugzilla": "fedbus-bugzilla-poll.service"}
    for short in hosts_where(wedge(name)):
        service(short, unit[name])
        got = scraped(short, port(short, variable, default), "fedbus_wedge_polls_total",
                      unit[name])
        assert "fedbus_wedge_last_poll_timestamp_seconds" in got
