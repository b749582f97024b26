"""fedbus.health: the verdict rules on rows shaped as the management API returns them."""

from __future__ import annotations

import pytest

from fedbus.health import Expectations, Level, Threshold, assess, relay_host

NODE = {"name": "rabbit@bus01", "running": True, "mem_alarm": False, "disk_free_alarm": False,
        "partitions": []}


def queue(name: str, ready: int = 0, consumers: int = 1, **extra: object) -> dict[str, object]:
    return {"vhost": "/prod", "name": name, "messages_ready": ready,
            "messages_unacknowledged": 0, "consumers": consumers, **extra}


def relay(host: str, state: str = "running") -> dict[str, object]:
    return {"user": "koji", "state": state,
            "client_properties": {"connection_name": f"fedbus-relay@{host}"}}


def test_a_healthy_bus_is_ok() -> None:
    verdict = assess([NODE], [queue("notifier", 5), queue("notifier.dlq", 0, 0)],
                     [relay("koji01")], Expectations(relays=("koji01",)))
    assert verdict.level is Level.OK and verdict.line() == "OK: the bus is healthy"


def test_findings_worst_first_with_their_reasons() -> None:
    verdict = assess(
        [NODE, {"name": "rabbit@bus02", "running": False}],
        [queue("notifier", 10_000), queue("mirror-dl01", 100_000), queue("tail", 0, 0,
         exclusive=True), queue("notifier.dlq", 2, 0), queue("orphan", 0, 0)],
        [relay("koji01", "blocked")],
        Expectations(relays=("koji01", "pkgs01")),
    )
    assert verdict.level is Level.CRITICAL and int(verdict.level) == 2
    assert verdict.reasons == [
        "broker node rabbit@bus02 is down",
        "/prod mirror-dl01: 100000 messages ready (>= 100000)",
        "/prod notifier: 10000 messages ready (>= 10000)",
        "2 dead letter(s) in /prod notifier.dlq",
        "/prod orphan: no consumer",
        "connection of koji01 is blocked by the broker",
        "relay on pkgs01 is not connected",
    ]
    assert verdict.line().startswith("CRITICAL: broker node rabbit@bus02 is down; /prod mirror")


def test_per_queue_thresholds_and_alarms() -> None:
    expect = Expectations(queues={"digest": Threshold(1, 2)})
    assert assess([], [queue("digest", 1)], [], expect).reasons == [
        "/prod digest: 1 messages ready (>= 1)"]
    alarmed = dict(NODE, mem_alarm=True, disk_free_alarm=True, partitions=["rabbit@bus03"])
    assert [f.level for f in assess([alarmed], [], []).findings] == [Level.CRITICAL] * 3
    with pytest.raises(ValueError, match="warning <= critical"):
        Threshold(10, 5)


def test_relay_host_only_from_a_relay_connection_name() -> None:
    assert relay_host(relay("koji01")) == "koji01"
    assert relay_host({"client_properties": {"connection_name": "fedbus-tail"}}) is None
    assert relay_host({"client_properties": {"connection_name": "fedbus-relay@"}}) is None
    assert relay_host({}) is None


def test_a_stream_is_neither_a_backlog_nor_a_consumer_queue() -> None:
    stream = {**queue("fedbus.mirror.events", 250_000, 0), "type": "stream"}
    verdict = assess([NODE], [stream], [], Expectations())
    assert verdict.level is Level.OK, verdict.reasons
    classic = {**queue("fedbus.mirror.events", 250_000, 0), "type": "classic"}
    assert assess([NODE], [classic], [], Expectations()).level is Level.CRITICAL
