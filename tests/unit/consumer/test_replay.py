"""Dead letters put back (fedbus.consumer.replay): which topic, which headers, which reason."""

from __future__ import annotations

import datetime
import subprocess
import sys

import pytest

from fedbus.consumer.replay import delivered_topic, original_topic, reason, replay_headers

TOPIC = "org.fedoraproject.prod.buildsys.build.state.change"
# as RabbitMQ writes it when the full queue "notifier" drops its head (overflow: drop-head)
MAXLEN = {
    "x-death": [{"count": 1, "reason": "maxlen", "queue": "notifier", "exchange": "amq.topic",
                 "routing-keys": [TOPIC], "time": datetime.datetime(2026, 12, 7, 3, 0)}],
    "x-first-death-queue": "notifier", "x-first-death-reason": "maxlen",
    "x-first-death-exchange": "amq.topic", "x-last-death-queue": "notifier",
    "fedora_messaging_schema": "koji_fedoramessaging.build.BuildStateChangeV1",
}  # fmt: skip
# as the framework writes it (consumer/deadletter.py)
REFUSED = {
    "x-fedbus-reason": "rejected by the handler: no such tree",
    "x-fedbus-original-topic": TOPIC, "x-fedbus-original-queue": "notifier",
    "fedora_messaging_schema": "koji_fedoramessaging.build.BuildStateChangeV1",
}  # fmt: skip


def test_a_delivery_is_decoded_with_its_routing_key() -> None:
    assert delivered_topic(TOPIC, "amq.topic", {"x-fedbus-topic": "forged"}) == TOPIC
    assert delivered_topic("notifier", "fedbus.queues", {"x-fedbus-topic": TOPIC}) == TOPIC
    assert delivered_topic("notifier", "fedbus.queues", {"x-fedbus-topic": TOPIC.encode()}) == (
        TOPIC
    )
    assert delivered_topic("notifier", "fedbus.queues", {}) == "notifier"


@pytest.mark.parametrize("headers", [MAXLEN, REFUSED], ids=["maxlen", "refused"])
def test_the_original_topic_of_either_kind_of_dead_letter(headers: dict) -> None:
    assert original_topic(headers) == TOPIC
    put_back = replay_headers(headers, TOPIC)
    assert put_back == {
        "fedora_messaging_schema": "koji_fedoramessaging.build.BuildStateChangeV1",
        "x-fedbus-topic": TOPIC,
        "x-fedbus-replayed": 1,
    }
    # replayed, then dropped again: the broker records the queue's name as routing key
    again = {**put_back, "x-death": [{**MAXLEN["x-death"][0], "routing-keys": ["notifier"]}]}
    assert original_topic(again) == TOPIC
    assert replay_headers(again, TOPIC)["x-fedbus-replayed"] == 2


def test_reasons_and_a_dead_letter_without_topic() -> None:
    assert reason(MAXLEN) == "broker: maxlen"
    assert reason(REFUSED) == "rejected by the handler: no such tree"
    assert reason({}) == "unknown"
    assert original_topic({"x-fedbus-original-topic": "notifier.dlq"}) is None
    assert original_topic({}) is None


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["notifier.dlq"], 1, "'notifier.dlq' is not a consumer queue"),
        (["notifier", "--limit", "0"], 2, "--limit: expected a whole number >= 1, got '0'"),
        (["notifier", "--replay", "--max-waiting", "0"], 2,
         "--max-waiting: expected a whole number >= 1"),
    ],
)
def test_cli_misuse_is_one_line(args: list[str], code: int, message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fedbus.cli.main", "dlq", *args, "--url", "amqp://127.0.0.1:1/"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == code
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr, done.stderr
