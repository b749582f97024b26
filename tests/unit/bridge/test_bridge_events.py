"""fedbus.bridge.events: pure translation of RabbitMQ event headers (as captured from 3.10)."""

from __future__ import annotations

from fedbus.bridge.events import OWN_NAME, Translator, address, arguments, protocol, text
from fedbus.message.envelope import encode, new_message

CREATED = {
    "user_who_performed_action": "fedbus-test",
    "node": "fedbus-test@localhost",
    "vhost": "/stg",
    "user": "koji",
    "protocol": "{0,9,1}",
    "auth_mechanism": "PLAIN",
    "ssl": False,
    "peer_host": "{127,0,0,1}",
    "peer_port": 54684,
    "name": "127.0.0.1:54684 -> 127.0.0.1:5672",
    "pid": "<fedbus-test@localhost.1796008547.739.0>",
    "user_provided_name": "probe",
    "timestamp_in_ms": 1796008889152,
}
CLOSED = {
    "node": "fedbus-test@localhost",
    "pid": CREATED["pid"],
    "name": CREATED["name"],
    "user_provided_name": "probe",
    "timestamp_in_ms": 1796008889161,
}


def test_value_helpers() -> None:
    assert address("{127,0,0,1}") == "127.0.0.1"
    assert address("{8193,3512,0,0,0,0,0,1}") == "2001:db8::1"
    assert address("host.example.org") == "host.example.org"
    assert protocol("{0,9,1}") == "0-9-1"
    assert text([117, 115, 101, 114]) == "user"
    assert arguments([]) == {}
    assert arguments(
        ['{<<"x-queue-type">>,longstr,<<"quorum">>}', '{<<"x-max-length">>,long,9}']
    ) == {
        "x-queue-type": "quorum",
        "x-max-length": 9,
    }


def test_connection_created_and_closed_are_valid_messages() -> None:
    t = Translator("org.fedoraproject.stg", management_url="http://mgmt:15672")
    created = t.translate("connection.created", CREATED)
    assert created is not None
    assert created.topic == "org.fedoraproject.stg.bus.connection.created"
    assert created.body["timestamp"] == "2026-11-30T03:21:29+00:00"
    assert created.body["url"].startswith("http://mgmt:15672/#/connections/127.0.0.1%3A54684")
    encode(new_message(created.topic, created.body, schema=created.schema))
    closed = t.translate("connection.closed", CLOSED)
    assert closed is not None and (closed.body["user"], closed.body["vhost"]) == ("koji", "/stg")
    encode(new_message(closed.topic, closed.body, schema=closed.schema))
    # a close never seen opening: still announced, without user/vhost
    again = t.translate("connection.closed", CLOSED)
    assert again is not None and "user" not in again.body
    encode(new_message(again.topic, again.body, schema=again.schema))


def test_skips() -> None:
    t = Translator("org.fedoraproject.stg", only_vhosts=frozenset({"/other"}), own_queues={"mine"})
    assert t.translate("channel.created", {}) is None
    assert t.translate("connection.created", CREATED) is None  # other vhost
    assert t.translate("connection.closed", CLOSED) is None  # unknown vhost while filtering
    own = {**CREATED, "user_provided_name": f"{OWN_NAME} host 1", "vhost": "/other"}
    assert t.translate("connection.created", own) is None
    assert t.translate("queue.deleted", {"name": "mine", "vhost": "/other"}) is None
    failure = t.translate("user.authentication.failure", {"name": "x", "error": [110, 111]})
    assert failure is not None and failure.body["error"] == "no"  # no vhost: passes the filter
