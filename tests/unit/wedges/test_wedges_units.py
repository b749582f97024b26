"""Wedge pieces without a broker: input parsing, topic choice, schema lookup."""

from __future__ import annotations

import json

import pytest
from fedbus_messages import compose
from fedora_messaging import message as fm
from fedora_messaging_git_hook_messages.commit import CommitV1

from fedbus.errors import ValidationError
from fedbus.wedges import pungi, zabbix
from fedbus.wedges.base import Sink, build
from fedbus.wedges.bugzilla import from_webhook
from fedbus.wedges.git_hook import ZERO, parse_updates
from fedbus.wedges.hooks import schema_for

T = Sink(topic_prefix="org.fedoraproject.stg")


def test_parse_updates():
    sha = "a" * 40
    assert [u.ref for u in parse_updates(f"{ZERO} {sha} refs/heads/rawhide\n\n")] == [
        "refs/heads/rawhide"]
    for bad in ("nope", f"{sha} {sha}", f"{sha[:-1]}x {sha} refs/heads/x"):
        with pytest.raises(ValidationError, match="stdin line 1"):
            parse_updates(bad)


def test_historic_short_topic_only_for_its_own_schema():
    body = {"agent": "a", "commit": {}}
    with pytest.raises(ValidationError):  # the body is checked against CommitV1
        build(T, CommitV1, body)
    with pytest.raises(ValidationError, match=r"expected org\.fedoraproject"):
        build(T, CommitV1, body, suffix="git.push")


@pytest.mark.parametrize(("action", "topic", "schema"), [
    ("status-change", "pungi.compose.status.change", compose.ComposeStatusChangeV1),
    ("phase-stop", "pungi.compose.phase.stop", compose.ComposePhaseStopV1),
    ("ostree", "pungi.compose.ostree", compose.ComposeOstreeV1),
    ("fail-to-start", "pungi.compose.fail.to.start", compose.ComposeFailToStartV1),
    ("osbs-request-push", "pungi.compose.osbs.request.push", compose.ComposeOsbsRequestPushV1),
])
def test_pungi_topics(action, topic, schema):
    data = {**schema.example}
    enc = pungi.message(T, action, json.dumps(data))
    assert enc.routing_key == f"org.fedoraproject.stg.{topic}"
    assert enc.properties.headers["fedora_messaging_schema"] == fm.get_name(schema)


def test_pungi_unknown_action_keeps_the_body():
    enc = pungi.message(T, "image-build", json.dumps({"compose_id": "C-1", "x": 1}))
    assert enc.routing_key == "org.fedoraproject.stg.pungi.compose.image.build"
    assert json.loads(enc.body) == {"compose_id": "C-1", "x": 1}
    assert enc.properties.headers["fedora_messaging_schema"] == "fedbus.pungi.compose.action.v1"


@pytest.mark.parametrize("action", ["", "-x", "x-", "a--b", "a b", "a.b", "é"])
def test_pungi_action_that_makes_no_topic_is_refused(action):
    with pytest.raises(ValidationError, match="expected a Pungi action"):
        pungi.message(T, action, "{}")


def test_pungi_action_is_lower_cased_as_fedora_does():
    enc = pungi.message(T, "Status-Change", json.dumps({"compose_id": "C-1", "status": "X"}))
    assert enc.routing_key == "org.fedoraproject.stg.pungi.compose.status.change"


def test_zabbix_unexpanded_macros_are_absent():
    assert zabbix.parse_params(["host={HOST.NAME}", "user=", "trigger=t"]) == {"trigger": "t"}
    with pytest.raises(ValidationError, match="date/time"):
        zabbix.message(T, ["event_id=1", "event_value=1", "host=h", "trigger=t",
                           "severity=High", "date=30/11/2026", "time=03:00"])


ZBX = ["event_id=1", "event_value=1", "host=h", "trigger=t", "severity=High",
       "date=2026.11.30", "time=03:00:00", "recovery_date={EVENT.RECOVERY.DATE}",
       "recovery_time={EVENT.RECOVERY.TIME}"]


def test_zabbix_update_time_is_the_updates():
    upd = zabbix.message(T, [*ZBX, "event_update=1", "user=alice",
                             "update_date=2026.12.07", "update_time=21:00:00"])
    assert upd.routing_key == "org.fedoraproject.stg.zabbix.trigger.update"
    assert json.loads(upd.body)["time"] == "2026-12-07T21:00:00+00:00"
    problem = json.loads(zabbix.message(T, [*ZBX, "update_date=2026.12.07",
                                            "update_time=21:00:00"]).body)
    assert problem["time"] == "2026-11-30T03:00:00+00:00"  # its own date, not the update's
    recovery = json.loads(zabbix.message(T, [*ZBX[:-2], "event_value=0",
                                             "recovery_date=2026.11.30",
                                             "recovery_time=03:20:00"]).body)
    assert recovery["time"] == "2026-11-30T03:20:00+00:00"
    # unexpanded update macros: the time the script runs, never a lost alert
    fallback = zabbix.message(T, [*ZBX, "event_update=1", "update_date={EVENT.UPDATE.DATE}",
                                  "update_time={EVENT.UPDATE.TIME}"])
    assert json.loads(fallback.body)["time"] != "2026-11-30T03:00:00+00:00"


@pytest.mark.parametrize(("source", "extra", "topic"), [
    ("4", ["service=Koji"], "zabbix.service.problem"),
    ("3", [], "zabbix.internal.problem"),
    ("1", ["discovery_ip=10.0.0.5", "event_value=3"], "zabbix.discovery.status"),
    ("2", ["host_host=b01", "ip=10.0.0.6"], "zabbix.agent.registered"),
])
def test_zabbix_other_sources(source, extra, topic):
    args = ["event_id=9", "event_value=1", "date=2026.11.30", "time=03:00:00",
            f"event_source={source}", "host={HOST.NAME}", "severity=*UNKNOWN*", *extra]
    enc = zabbix.message(T, args)
    assert enc.routing_key == f"org.fedoraproject.stg.{topic}"
    assert json.loads(enc.body)["time"] == "2026-11-30T03:00:00+00:00"
    with pytest.raises(ValidationError, match="event_source '7'"):
        zabbix.message(T, [*args, "event_source=7"])


def test_bugzilla_comment_is_an_update():
    payload = {"event": {"action": "create", "target": "comment", "user": {"login": "a@b"},
                         "time": "2026-11-30T03:00:00Z"},
               "bug": {"id": 1, "creation_time": "2026-11-30T03:00:00+00:00",
                       "product": {"name": "Fedora"}},
               "comment": {"id": 9, "body": "hi", "creation_time": "2026-11-30T03:00:00Z"}}
    suffix, body, schema = from_webhook(payload)
    assert suffix == "bugzilla.bug.update" and schema == "bugzilla2fedmsg.messageV1bz4"
    assert body["event"]["routing_key"] == "comment.create"
    assert body["comment"]["creation_time"] == body["bug"]["creation_time"] == 1796007600.0


def test_schema_for_prefers_newest_fedora_version_and_ours():
    assert schema_for("bodhi.update.edit").__name__ == "UpdateEditV2"
    assert schema_for("bodhi.update.edit", "bodhi.update.edit.v1").__name__ == "UpdateEditV1"
    assert schema_for("pkgdb.package.new").__name__ == "PackageNewV1"
    assert schema_for("fas.user.create").__name__ == "UserCreateV1"
    with pytest.raises(ValidationError, match="no schema"):
        schema_for("bodhi.nothing.here")
