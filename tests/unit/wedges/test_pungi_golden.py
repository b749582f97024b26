"""Golden tests: the Pungi wedge publishes what Fedora's own Pungi notifier publishes.

Fedora runs ``pungi-fedmsg-notification`` (``pungi/scripts/fedmsg_notification.py``): topic
``pungi.compose.<action, '-' → '.', lower-cased>``, body = Pungi's stdin, unchanged.  Each
case gives what a Pungi phase passes to ``notifier.send(action, **kwargs)`` and the
identity keys ``PungiNotifier._update_args`` adds; the wedge gets both on stdin, as kobo
passes them, and must publish exactly the fixture's topic and body.

Fixture data is transcribed from:

- fedora_openqa ``tests/test_consumers.py`` (STARTEDCOMPOSE, DOOMEDCOMPOSE, FINISHEDCOMPOSE,
  FINCOMPLETE): real production messages, which Pungi sent when it added only
  ``compose_id`` and ``location``;
- Pungi ``tests/test_notifier.py`` (``TestNotifier.setUp`` / ``_call``): the stdin of a
  layered product's notification;
- Pungi ``tests/test_ostree_phase.py``: the ``ostree`` notifications (new commit, none);
- Pungi ``pungi/scripts/pungi_koji.py`` / ``pungi/phases/createiso.py`` /
  ``pungi/phases/osbs.py``: the keys of ``fail-to-start``, ``createiso-targets`` and
  ``osbs-request-push`` (values made up).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fedbus_messages import compose as c

from fedbus.message.envelope import decode
from fedbus.wedges import pungi
from fedbus.wedges.base import Sink

PROD = Sink(topic_prefix="org.fedoraproject.prod")

# fedora_openqa tests/test_consumers.py
_ATOMIC = {
    "compose_id": "Fedora-Atomic-25-20170206.0",
    "location": "http://kojipkgs.fedoraproject.org/compose/twoweek/"
                "Fedora-Atomic-25-20170206.0/compose",
}
_DOCKER = {
    "compose_id": "Fedora-Docker-25-20170206.0",
    "location": "http://kojipkgs.fedoraproject.org/compose/Fedora-Docker-25-20170206.0/compose",
}
_RAWHIDE = {
    "compose_id": "Fedora-Rawhide-20170206.n.0",
    "location": "http://kojipkgs.fedoraproject.org/compose/rawhide/"
                "Fedora-Rawhide-20170206.n.0/compose",
}

# Pungi tests/test_notifier.py: a layered product (base_product_* at the top level)
_LAYERED = {
    "compose_id": "COMPOSE_ID",
    "location": "/a/b",
    "compose_date": "20171031",
    "compose_type": "production",
    "compose_respin": 1,
    "compose_label": "Updates-20171031.1021",
    "compose_path": "/a/b",
    "release_short": "L",
    "release_name": "Layer",
    "release_version": "27",
    "release_type": "updates",
    "release_is_layered": True,
    "base_product_name": "Base",
    "base_product_version": "1",
    "base_product_short": "B",
    "base_product_type": "ga",
}

# What today's Pungi adds for a Fedora compose (pungi/notifier.py _update_args).
_FEDORA = {
    "compose_id": "Fedora-Rawhide-20261130.n.0",
    "location": "https://kojipkgs.fedoraproject.org/compose/rawhide/"
                "Fedora-Rawhide-20261130.n.0/compose",
    "compose_date": "20261130",
    "compose_type": "nightly",
    "compose_respin": 0,
    "compose_label": None,
    "compose_path": "/mnt/koji/compose/rawhide/Fedora-Rawhide-20261130.n.0",
    "release_short": "Fedora",
    "release_name": "Fedora",
    "release_version": "Rawhide",
    "release_type": "ga",
    "release_is_layered": False,
}
_ISO = ("/mnt/koji/compose/rawhide/Fedora-Rawhide-20261130.n.0/compose/Server/x86_64/iso/"
        "Fedora-Server-dvd-x86_64-Rawhide-20261130.n.0.iso")

# (case, action, kwargs of notifier.send, identity added, Fedora's topic, schema)
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], str, type]] = [
    ("openqa-started", "status-change", {"status": "STARTED"}, _ATOMIC,
     "pungi.compose.status.change", c.ComposeStatusChangeV1),
    ("openqa-doomed", "status-change", {"status": "DOOMED"}, _DOCKER,
     "pungi.compose.status.change", c.ComposeStatusChangeV1),
    ("openqa-finished", "status-change", {"status": "FINISHED"}, _ATOMIC,
     "pungi.compose.status.change", c.ComposeStatusChangeV1),
    ("openqa-finished-incomplete", "status-change", {"status": "FINISHED_INCOMPLETE"},
     _RAWHIDE, "pungi.compose.status.change", c.ComposeStatusChangeV1),
    ("notifier-layered", "cmd", {"foo": "bar", "baz": "quux"}, _LAYERED,
     "pungi.compose.cmd", c.ComposeActionV1),
    ("ostree-commit", "ostree",
     {"variant": "Everything", "arch": "x86_64", "ref": "fedora-atomic/25/x86_64",
      "commitid": "fca3465861a", "repo_path": "http://example.com/place/for/atomic",
      "local_repo_path": "/ostree/repo"}, _FEDORA, "pungi.compose.ostree", c.ComposeOstreeV1),
    ("ostree-no-new-commit", "ostree",
     {"variant": "Everything", "arch": "x86_64", "ref": "fedora-atomic/25/x86_64",
      "commitid": None, "repo_path": "http://example.com/place/for/atomic",
      "local_repo_path": "/ostree/repo"}, _FEDORA, "pungi.compose.ostree", c.ComposeOstreeV1),
    ("phase-start", "phase-start", {"phase_name": "ostree_container"}, _FEDORA,
     "pungi.compose.phase.start", c.ComposePhaseStartV1),
    ("phase-stop", "phase-stop", {"phase_name": "createiso"}, _FEDORA,
     "pungi.compose.phase.stop", c.ComposePhaseStopV1),
    ("createiso-targets", "createiso-targets", {"deliverables": [_ISO]}, _FEDORA,
     "pungi.compose.createiso.targets", c.ComposeCreateisoTargetsV1),
    ("createiso-imagedone", "createiso-imagedone",
     {"file": _ISO, "arch": "x86_64", "variant": "Server"}, _FEDORA,
     "pungi.compose.createiso.imagedone", c.ComposeCreateisoImageDoneV1),
    ("createiso-imagefail", "createiso-imagefail",
     {"file": _ISO, "arch": "x86_64", "variant": "Server"}, _FEDORA,
     "pungi.compose.createiso.imagefail", c.ComposeCreateisoImageFailV1),
    ("osbs-request-push", "osbs-request-push",
     {"config_location": "https://kojipkgs.fedoraproject.org/compose/x/logs/global/"
                         "osbs-registries.json", "config": {"foo": "bar"}}, _FEDORA,
     "pungi.compose.osbs.request.push", c.ComposeOsbsRequestPushV1),
    # no compose yet: PungiNotifier has no compose, _update_args adds nothing
    ("fail-to-start", "fail-to-start",
     {"command": ["pungi-koji", "--config=/etc/pungi/f.conf", "--target-dir=/nope"],
      "target_dir": "/nope", "config": "/etc/pungi/f.conf",
      "detail": "The target directory does not exist or is not a directory: /nope"}, {},
     "pungi.compose.fail.to.start", c.ComposeFailToStartV1),
    ("fail-to-start-config", "fail-to-start",
     {"command": ["pungi-koji", "--config=/etc/pungi/f.conf", "--compose-dir=/c"],
      "target_dir": None, "config": "/etc/pungi/f.conf",
      "detail": "Config validation failed", "errors": ["release_name: required"]}, {},
     "pungi.compose.fail.to.start", c.ComposeFailToStartV1),
    ("future-action", "image-build-done", {"image": "x.qcow2"}, _FEDORA,
     "pungi.compose.image.build.done", c.ComposeActionV1),
    ("underscore-kept", "ostree_container-done", {"variant": "Kinoite"}, _FEDORA,
     "pungi.compose.ostree_container.done", c.ComposeActionV1),
]


def _stdin(kwargs: dict[str, Any], identity: dict[str, Any]) -> dict[str, Any]:
    """What Pungi writes to the script's stdin: the phase's keys, then the identity keys
    it does not already have (``setdefault``)."""
    data = dict(kwargs)
    for key, value in identity.items():
        data.setdefault(key, value)
    return data


@pytest.mark.parametrize(("action", "kwargs", "identity", "topic", "schema"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_fedora_topic_and_exact_body(action, kwargs, identity, topic, schema):
    sent = _stdin(kwargs, identity)
    enc = pungi.message(PROD, action, json.dumps(sent))
    assert enc.routing_key == f"org.fedoraproject.prod.{topic}"
    assert json.loads(enc.body) == sent
    assert enc.body == json.dumps(sent).encode("utf-8")  # fedora-messaging's bytes
    msg = decode(enc.routing_key, enc.body, enc.properties)
    assert type(msg) is schema and msg.body == sent
    assert msg.usernames == [] and msg.packages == [] and msg.agent_name is None
    assert msg.app_name == "pungi"
    assert "\n" not in msg.summary and "?" not in msg.summary
    assert msg.summary in str(msg)
    assert msg.url == sent.get("location")
    assert enc.properties.priority == (3 if action == "ostree" else None)


def test_openqa_fixture_bodies_are_transcribed_whole():
    # fedora_openqa's FINISHEDCOMPOSE is exactly these three keys
    enc = pungi.message(PROD, "status-change", json.dumps({**_ATOMIC, "status": "FINISHED"}))
    assert json.loads(enc.body) == {
        "compose_id": "Fedora-Atomic-25-20170206.0",
        "location": "http://kojipkgs.fedoraproject.org/compose/twoweek/"
                    "Fedora-Atomic-25-20170206.0/compose",
        "status": "FINISHED",
    }


def test_summaries():
    def summary(action: str, data: dict[str, Any]) -> str:
        enc = pungi.message(PROD, action, json.dumps(data))
        return decode(enc.routing_key, enc.body, enc.properties).summary

    assert summary("status-change", {**_RAWHIDE, "status": "FINISHED_INCOMPLETE"}) == (
        "compose Fedora-Rawhide-20170206.n.0 is FINISHED_INCOMPLETE")
    assert summary("image-build-done", _RAWHIDE) == (
        "compose Fedora-Rawhide-20170206.n.0: image.build.done")
    assert summary("fail-to-start", {"command": [], "target_dir": None, "config": "c",
                                     "detail": "Config validation failed"}) == (
        "a compose failed to start: Config validation failed")


def test_a_nonstandard_status_and_new_keys_are_published():
    # Pungi writes any status it is given (with a warning) and adds keys over time
    data = {**_FEDORA, "status": "RESPIN", "new_key": {"a": [1]}}
    enc = pungi.message(PROD, "status-change", json.dumps(data))
    assert json.loads(enc.body) == data
