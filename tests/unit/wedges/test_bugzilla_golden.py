"""Golden tests: the Bugzilla wedge publishes what Fedora's bugzilla2fedmsg publishes.

Each case of :mod:`bugzilla_upstream_data` is one of bugzilla2fedmsg's own test fixtures (the
body of a Bugzilla STOMP message) with what bugzilla2fedmsg publishes for it.  The body goes
through what ``POST /hook/bugzilla`` runs (:func:`fedbus.wedges.webhook.translate`), with the
operator's e-mail → FAS name map standing for bugzilla2fedmsg's FASJSON look-up, and must come
out with the same topic, headers, body and schema properties.  The remaining difference,
bugzilla2fedmsg's ``headers`` key (the STOMP frame's headers, which a webhook has not), is
listed in docs/wedges.md.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from bugzilla2fedmsg_schema import MessageV1BZ4
from bugzilla_upstream_data import CASES, FASJSON_USERS
from fedora_messaging.message import INFO, Message

from fedbus.message.envelope import decode
from fedbus.wedges.base import Sink
from fedbus.wedges.bugzilla import Dropped, Policy, from_webhook
from fedbus.wedges.hooks import Outbox
from fedbus.wedges.webhook import translate

PROD = Sink(topic_prefix="org.fedoraproject.prod")
POLICY = Policy(users=FASJSON_USERS)
PUBLISHED = sorted(n for n, c in CASES.items() if c["expected"] is not None)
DROPPED = sorted(n for n, c in CASES.items() if c["expected"] is None)
# not in a webhook's message: bugzilla2fedmsg copies the STOMP frame's headers into the body
STOMP_ONLY = ("headers",)


def ours(name: str) -> Message:
    payload = copy.deepcopy(CASES[name]["input"]["body"])
    enc = translate("bugzilla", payload, Outbox("bugzilla", PROD), POLICY)
    return decode(enc.routing_key, enc.body, enc.properties)


def headers(msg: Message) -> dict[str, Any]:
    return {k: v for k, v in msg._headers.items() if k != "sent-at"}


def test_every_upstream_fixture_is_a_case() -> None:
    assert len(PUBLISHED) == 6 and DROPPED == ["other_product_message", "private_message"]


@pytest.mark.parametrize("name", PUBLISHED)
def test_topic_headers_and_body_are_bugzilla2fedmsgs(name: str) -> None:
    expected = CASES[name]["expected"]
    msg = ours(name)
    assert msg.topic == f"org.fedoraproject.prod.{expected['topic']}"
    assert type(msg) is MessageV1BZ4
    assert msg._headers["fedora_messaging_schema"] == expected["schema"]
    upstream = MessageV1BZ4(topic=expected["topic"], body=expected["body"], severity=INFO)
    assert headers(msg) == headers(upstream)
    assert msg.body == {k: v for k, v in expected["body"].items() if k not in STOMP_ONLY}


@pytest.mark.parametrize("name", PUBLISHED)
def test_schema_properties_are_bugzilla2fedmsgs(name: str) -> None:
    expected = CASES[name]["expected"]
    msg = ours(name)
    got = {"summary": msg.summary, "str": str(msg), "url": msg.url,
           "usernames": msg.usernames, "packages": msg.packages, "agent_name": msg.agent_name}
    assert got == {k: expected[k] for k in got}


@pytest.mark.parametrize("name", DROPPED)
def test_what_bugzilla2fedmsg_drops_is_dropped(name: str) -> None:
    with pytest.raises(Dropped):
        from_webhook(copy.deepcopy(CASES[name]["input"]["body"]), POLICY)


def test_the_webhook_shape_gives_the_same_message() -> None:
    """Bugzilla's webhook puts ``bug`` beside the comment, its STOMP message inside it."""
    stomp = copy.deepcopy(CASES["comment_create_message"]["input"]["body"])
    webhook = {"event": stomp["event"], "bug": stomp["comment"].pop("bug"),
               "comment": stomp["comment"]}
    assert from_webhook(webhook, POLICY) == from_webhook(
        copy.deepcopy(CASES["comment_create_message"]["input"]["body"]), POLICY)


def test_times_are_utc_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        body = from_webhook(copy.deepcopy(CASES["bug_create_message"]["input"]["body"]),
                            POLICY)[1]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert body["bug"]["creation_time"] == 1555619221.0  # 2019-04-18T20:27:01Z
