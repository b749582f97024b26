"""The Zabbix wedge: the alert script called with the media type's parameters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from support.wedge_lab import bind_queue, drain, relay_all, spooled

from fedbus.wedges.zabbix import PARAMS

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
MEDIA = ROOT / "roles" / "wedges" / "files" / "zabbix" / "media_fedbus.yaml"
FEDBUS = Path(sys.executable).with_name("fedbus")
# What Zabbix expands the media type's macros to, for a problem, its recovery, an ack.
MACROS = {
    "{EVENT.ID}": "5128", "{EVENT.VALUE}": "1", "{EVENT.UPDATE.STATUS}": "0",
    "{HOST.NAME}": "proxy01.example.org", "{EVENT.NAME}": "Load average is too high",
    "{TRIGGER.ID}": "23104", "{EVENT.SEVERITY}": "High", "{EVENT.DATE}": "2026.11.30",
    "{EVENT.TIME}": "03:00:00", "{USER.USERNAME}": "",
    "{$FEDBUS.ZABBIX.URL}": "https://zabbix.example.org/",
    "{ALERT.MESSAGE}": "Problem started at 03:00:00 on 2026.11.30\nHost: proxy01",
    "{EVENT.TAGSJSON}": json.dumps([{"tag": "service", "value": "proxy"}]),
    "{EVENT.SOURCE}": "0", "{EVENT.OBJECT}": "0", "{ALERT.SUBJECT}": "Problem: Load",
    "{HOST.HOST}": "proxy01", "{HOST.IP}": "10.3.163.12",
}
# The other event sources: what Zabbix resolves there; the rest stays as written.
SERVICE = {
    "{EVENT.ID}": "7001", "{EVENT.SOURCE}": "4", "{EVENT.OBJECT}": "6", "{EVENT.VALUE}": "1",
    "{EVENT.UPDATE.STATUS}": "0", "{EVENT.NAME}": "Koji is degraded",
    "{EVENT.SEVERITY}": "High", "{EVENT.DATE}": "2026.11.30", "{EVENT.TIME}": "04:00:00",
    "{SERVICE.NAME}": "Koji", "{ALERT.SUBJECT}": "Service problem: Koji",
    "{ALERT.MESSAGE}": "Service problem started", "{USER.USERNAME}": "",
    "{$FEDBUS.ZABBIX.URL}": "https://zabbix.example.org/", "{EVENT.TAGSJSON}": "[]",
}
INTERNAL = {
    "{EVENT.ID}": "7002", "{EVENT.SOURCE}": "3", "{EVENT.OBJECT}": "4", "{EVENT.VALUE}": "1",
    "{EVENT.NAME}": "Cannot evaluate item", "{HOST.NAME}": "proxy01.example.org",
    "{HOST.HOST}": "proxy01", "{HOST.IP}": "10.3.163.12", "{EVENT.DATE}": "2026.11.30",
    "{EVENT.TIME}": "05:00:00", "{ALERT.SUBJECT}": "Internal problem: Cannot evaluate item",
    "{ALERT.MESSAGE}": "Problem started", "{EVENT.TAGSJSON}": "[]",
}
DISCOVERY = {
    "{EVENT.ID}": "7003", "{EVENT.SOURCE}": "1", "{EVENT.OBJECT}": "1", "{EVENT.VALUE}": "2",
    "{EVENT.DATE}": "2026.11.30", "{EVENT.TIME}": "06:00:00",
    "{DISCOVERY.DEVICE.IPADDRESS}": "10.3.163.40", "{ALERT.SUBJECT}": "Discovery: 10.3.163.40",
    "{ALERT.MESSAGE}": "Discovery rule: lan",
}
AUTOREGISTRATION = {
    "{EVENT.ID}": "7004", "{EVENT.SOURCE}": "2", "{EVENT.OBJECT}": "3",
    "{EVENT.DATE}": "2026.11.30", "{EVENT.TIME}": "07:00:00", "{HOST.HOST}": "builder01",
    "{HOST.IP}": "10.3.170.1", "{ALERT.SUBJECT}": "Autoregistration: builder01",
    "{ALERT.MESSAGE}": "Host: builder01",
}


def media_params() -> list[str]:
    media = yaml.safe_load(MEDIA.read_text())["zabbix_export"]["media_types"][0]
    return [p["value"] for p in sorted(media["parameters"], key=lambda p: int(p["sortorder"]))]


def expand(params: list[str], macros: dict[str, str]) -> list[str]:
    out = []
    for p in params:  # Zabbix leaves a macro it cannot resolve as is
        for macro, value in macros.items():
            p = p.replace(macro, value)
        out.append(p)
    return out


def alert(spool: Path, args: list[str]) -> subprocess.CompletedProcess:
    script = spool.parent / "fedbus-zabbix-alert"
    script.write_text(f'#!/bin/sh\nexec {FEDBUS}-wedge zabbix-alert "$@"\n')
    script.chmod(0o755)
    return subprocess.run([str(script), *args], capture_output=True, text=True,
                          env={**os.environ, "FEDBUS_SPOOL": str(spool)})


def test_media_type_is_a_zabbix_6_script_media_type():
    export = yaml.safe_load(MEDIA.read_text())["zabbix_export"]
    assert export["version"] == "6.0"
    [media] = export["media_types"]
    assert media["type"] == "SCRIPT" and media["script_name"] == "fedbus-zabbix-alert"
    names = [v.split("=", 1)[0] for v in media_params()]
    assert set(names) <= set(PARAMS) and len(names) == len(set(names))
    modes = {(t["event_source"], t["operation_mode"]) for t in media["message_templates"]}
    assert modes == {("TRIGGERS", "PROBLEM"), ("TRIGGERS", "RECOVERY"), ("TRIGGERS", "UPDATE"),
                     ("SERVICE", "PROBLEM"), ("SERVICE", "RECOVERY"), ("SERVICE", "UPDATE"),
                     ("INTERNAL", "PROBLEM"), ("INTERNAL", "RECOVERY"),
                     ("DISCOVERY", "PROBLEM"), ("AUTOREGISTRATION", "PROBLEM")}


def test_every_event_kind_reaches_the_broker(broker, vhost, tmp_path):
    """Each operation the media type has a message template for, as Zabbix calls it."""
    spool = tmp_path / "spool"
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    params = media_params()
    update = {"{EVENT.UPDATE.STATUS}": "1", "{USER.USERNAME}": "alice",
              "{EVENT.UPDATE.DATE}": "2026.11.30", "{EVENT.UPDATE.TIME}": "04:30:00"}
    recovery = {"{EVENT.VALUE}": "0", "{EVENT.RECOVERY.DATE}": "2026.11.30",
                "{EVENT.RECOVERY.TIME}": "04:45:00"}
    events = [
        (MACROS, "trigger.problem", "03:00:00"),
        ({**MACROS, **update}, "trigger.update", "04:30:00"),
        ({**MACROS, **recovery}, "trigger.recovery", "04:45:00"),
        (SERVICE, "service.problem", "04:00:00"),
        ({**SERVICE, **update}, "service.update", "04:30:00"),
        ({**SERVICE, **recovery}, "service.recovery", "04:45:00"),
        (INTERNAL, "internal.problem", "05:00:00"),
        ({**INTERNAL, **recovery}, "internal.recovery", "04:45:00"),
        (DISCOVERY, "discovery.status", "06:00:00"),
        (AUTOREGISTRATION, "agent.registered", "07:00:00"),
    ]
    for macros, _, _ in events:
        run = alert(spool, expand(params, macros))
        assert run.returncode == 0, run.stderr
    relay_all(spool, url)
    got = drain(url, queue, len(events))
    assert [m.topic for m in got] == [f"org.fedoraproject.local.zabbix.{t}" for _, t, _ in events]
    assert [m.body["time"] for m in got] == [f"2026-11-30T{t}+00:00" for _, _, t in events]
    service, s_update = got[3], got[4]
    assert service.body["name"] == "Koji is degraded" and service.body["service"] == "Koji"
    assert "host" not in service.body and service.body["severity"] == "High"
    assert s_update.body["user"] == "alice" and s_update.body["status"] == "UPDATE"
    assert got[6].body["host"] == "proxy01.example.org" and got[7].body["status"] == "RESOLVED"
    discovery, registered = got[8], got[9]
    assert (discovery.body["status"], discovery.body["host"]) == ("DISCOVERED", "10.3.163.40")
    assert discovery.body["name"] == "Discovery: 10.3.163.40"
    assert (registered.body["host"], registered.body["ip"]) == ("builder01", "10.3.170.1")
    assert registered.message.summary == "[registered] builder01"


def test_problem_update_recovery_reach_the_broker(broker, vhost, tmp_path):
    spool = tmp_path / "spool"
    url = broker.amqp_url(vhost)
    queue = bind_queue(url)
    params = media_params()
    problem = alert(spool, expand(params, MACROS))
    assert problem.returncode == 0, problem.stderr
    ack = alert(spool, expand(params, {**MACROS, "{EVENT.UPDATE.STATUS}": "1",
                                       "{USER.USERNAME}": "alice",
                                       "{EVENT.UPDATE.DATE}": "2026.11.30",
                                       "{EVENT.UPDATE.TIME}": "03:10:00"}))
    assert ack.returncode == 0, ack.stderr
    recovery = alert(spool, expand(params, {**MACROS, "{EVENT.VALUE}": "0",
                                            "{EVENT.RECOVERY.DATE}": "2026.11.30",
                                            "{EVENT.RECOVERY.TIME}": "03:20:00"}))
    assert recovery.returncode == 0, recovery.stderr
    relay_all(spool, url)
    p, u, r = drain(url, queue, 3)
    assert [m.topic for m in (p, u, r)] == [
        "org.fedoraproject.local.zabbix.trigger.problem",
        "org.fedoraproject.local.zabbix.trigger.update",
        "org.fedoraproject.local.zabbix.trigger.recovery"]
    assert p.schema == "fedbus.zabbix.trigger.problem.v1"
    assert p.body["host"] == "proxy01.example.org" and p.body["severity"] == "High"
    assert p.body["time"] == "2026-11-30T03:00:00+00:00" and p.body["status"] == "PROBLEM"
    assert p.body["tags"] == {"service": "proxy"}
    assert p.message.url == ("https://zabbix.example.org/tr_events.php?"
                             "triggerid=23104&eventid=5128")
    assert p.message.summary == "[High] proxy01.example.org: Load average is too high"
    assert u.body["user"] == "alice" and u.headers["fedora_messaging_user_alice"] is True
    assert u.body["time"] == "2026-11-30T03:10:00+00:00" and u.body["status"] == "UPDATE"
    assert r.body["time"] == "2026-11-30T03:20:00+00:00" and r.body["status"] == "RESOLVED"


@pytest.mark.parametrize(("args", "reason"), [
    (["event_id=1"], "parameter host missing"),
    (["event_id=1", "event_value=1", "host={HOST.NAME}", "trigger=t", "severity=High"],
     "parameter host missing"),
    (["event_id=1", "event_value=1", "host=h", "trigger=t", "severity=Bad"], "severity 'Bad'"),
    (["nonsense"], "parameter 'nonsense'"),
    (["event_id=1", "event_value=7", "host=h", "trigger=t", "severity=High"], "expected 1 or 0"),
])
def test_bad_parameters_exit_1_with_one_line(tmp_path, args, reason):
    spool = tmp_path / "spool"
    run = alert(spool, args)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0], run.stderr
    assert not spool.exists() or spooled(spool) == 0
