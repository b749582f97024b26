"""``fedbus freshness`` against a real broker: the mirror events in the stream roles/broker
declares, read by the table's ``operator`` account with its own rights only.

A master's in_sync of 8 hours ago; a tier-1 that pulled that change; a tier-2 whose last
good pull carried an older one (so 8 h behind: WARNING at the default 6 h), a second tier-2
whose last pull failed; a message that does not validate in the middle.  The command is the
installed entry point run as a process, twice: a stream is read, not consumed away.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
from pika.exceptions import ChannelClosedByBroker, ConnectionClosedByBroker
from support.broker_layout import PREFIX, Accounts, mirror_events_stream

from fedbus.message.envelope import encode, new_message

pytestmark = pytest.mark.integration
#: the time the events are dated from: set when the fixture publishes them, so that the
#: command, run seconds later, sees the lags the test names (not minutes after collection)
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def at(hours_ago: float) -> str:
    return (NOW - dt.timedelta(hours=hours_ago)).isoformat()


def start(tier: str, mirror: str, upstream: str, changed: str, started: str) -> dict:
    return {"mirror": mirror, "volume": "fedora-pub", "upstream": f"rsync://{upstream}/pub",
            "upstream_name": upstream, "sync_id": f"{mirror}-{started}", "paths": None,
            "reason": "in_sync" if tier == "tier1" else "upstream_complete",
            "changed_at": changed, "started_at": started}


def complete(begun: dict, finished: str, status: str = "ok") -> dict:
    return {**begun, "finished_at": finished, "status": status,
            "error": None if status == "ok" else "rsync exited 23", "duration_seconds": 60,
            "bytes": 1024, "files": 3}


def events() -> list[tuple[str, dict]]:
    old_t1 = start("tier1", "dl01", "master", at(30), at(29.9))
    t1 = start("tier1", "dl01", "master", at(8), at(7.99))
    t2 = start("tier2", "mirror.example.edu", "dl01", at(30), at(29.5))
    t2b = start("tier2", "mirror.example.org", "dl01", at(8), at(7.9))
    in_sync = {"volume": "fedora-pub", "source": "netapp", "host": "ntap01", "paths": None,
               "changed_at": at(8), "timestamp": at(8)}
    return [
        ("mirror.tier1.sync.start", old_t1),
        ("mirror.tier1.sync.complete", complete(old_t1, at(29.8))),
        ("mirror.tier2.sync.start", t2),
        ("mirror.tier2.sync.complete", complete(t2, at(29.4))),
        ("netapp.snapmirror.out_of_sync",
         {"volume": "fedora-pub", "source": "netapp", "host": "ntap01", "timestamp": at(8.1)}),
        ("netapp.snapmirror.in_sync", in_sync),
        ("mirror.tier1.sync.start", t1),
        ("mirror.tier1.sync.complete", complete(t1, at(7.9))),
        ("mirror.tier2.sync.start", t2b),
        ("mirror.tier2.sync.complete", complete(t2b, at(7.8), "failed")),
    ]


@pytest.fixture
def bus(broker, vhost) -> Iterator[tuple[str, Accounts]]:
    global NOW
    NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stream = mirror_events_stream(broker, vhost)
    accounts = Accounts(broker, vhost, ["operator", "notifier", "mirror-tier1"])
    with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        for i, (topic, body) in enumerate(events()):
            encoded = encode(new_message(f"{PREFIX}.{topic}", body))
            ch.basic_publish("amq.topic", encoded.routing_key, encoded.body,
                             encoded.properties.to_pika())
            if i == 4:  # a forged mirror event: no schema header, not a valid body
                ch.basic_publish("amq.topic", f"{PREFIX}.mirror.tier1.sync.complete",
                                 b'{"mirror": "evil", "volume": "fedora-pub", "status": "ok"}')
        # bindings route by topic: nothing else reaches the stream
        ch.basic_publish("amq.topic", f"{PREFIX}.buildsys.tag", b"{}")
    assert _count(broker, vhost, stream, len(events()) + 1) == len(events()) + 1
    yield stream, accounts
    accounts.delete()


def _count(broker, vhost: str, stream: str, expected: int | None = None) -> int:
    """The stream's length (the broker reports a stream's count a moment after the write:
    waits up to 10 s for ``expected``)."""
    deadline = time.monotonic() + 10
    while True:
        with pika.BlockingConnection(pika.URLParameters(broker.amqp_url(vhost))) as conn:
            count = conn.channel().queue_declare(stream, passive=True).method.message_count
        if expected is None or count == expected or time.monotonic() > deadline:
            return count
        time.sleep(0.2)


def freshness(url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    fedbus = str(Path(sys.executable).with_name("fedbus"))
    return subprocess.run([fedbus, "freshness", "--url", url, *extra],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_operator_sees_each_mirror_and_the_one_behind(bus, vhost) -> None:
    _stream, accounts = bus
    url = accounts.url("operator", vhost)
    run = freshness(url)
    out = run.stdout
    first = out.splitlines()[0]
    assert run.returncode == 1, out + run.stderr
    assert first.startswith("WARNING: ")
    assert "mirror.example.edu (tier2, fedora-pub) is 8 h 00 min behind the master" in first
    assert "mirror.example.org (tier2, fedora-pub): last pull failed: rsync exited 23" in first
    assert "dl01" not in first  # it pulled the master's last change
    rows = {line.split()[1]: line.split() for line in out.splitlines()
            if line.startswith("fedora-pub ") and len(line.split()) > 3}
    assert rows["dl01"][2:4] == ["tier1", "current"]
    assert rows["mirror.example.edu"][2:4] == ["tier2", "behind"]
    assert rows["mirror.example.org"][2:4] == ["tier2", "failed"]
    assert "evil" not in out  # the forged event was skipped
    # read again: the stream still holds everything, the verdict is the same
    again = json.loads(freshness(url, "--json").stdout)
    assert again["status"] == "WARNING"
    assert {m["mirror"] for m in again["mirrors"]} == {
        "dl01", "mirror.example.edu", "mirror.example.org"}
    assert again["masters"][0]["changed_at"] == at(8)
    # a wider tolerance leaves only the failed pull; above --critical it is CRITICAL
    tolerant = freshness(url, "--warning", "86400", "--critical", "90000")
    assert tolerant.returncode == 1 and "behind" not in tolerant.stdout.splitlines()[0]
    strict = freshness(url, "--warning", "60", "--critical", "3600")
    assert strict.returncode == 2 and strict.stdout.startswith("CRITICAL: mirror.example.edu")
    # --since is the broker's time of storing: the events were stored seconds ago
    time.sleep(3)
    quiet = freshness(url, "--since", "1s")
    assert quiet.returncode == 0, quiet.stdout
    assert "no mirror events in the window" in quiet.stdout


def test_the_stream_is_read_only_and_only_for_the_accounts_granted(bus, broker, vhost) -> None:
    stream, accounts = bus
    operator = accounts.url("operator", vhost)
    for action in (lambda ch: ch.queue_delete(stream),
                   lambda ch: ch.queue_bind(stream, "amq.topic", "#"),
                   lambda ch: ch.queue_declare(stream, durable=True,
                                               arguments={"x-queue-type": "stream"})):
        with pika.BlockingConnection(pika.URLParameters(operator)) as conn:
            with pytest.raises(ChannelClosedByBroker) as exc:
                action(conn.channel())
            assert exc.value.reply_code == 403
    with pika.BlockingConnection(pika.URLParameters(operator)) as conn:
        with pytest.raises((ChannelClosedByBroker, ConnectionClosedByBroker)) as closed:
            conn.channel().queue_purge(stream)  # streams refuse it (540), whoever asks
        assert closed.value.args[0] in (403, 540)
    assert _count(broker, vhost, stream, len(events()) + 1) == len(events()) + 1
    for name in ("notifier", "mirror-tier1"):  # consumers of the bus, not of this stream
        run = freshness(accounts.url(name, vhost))
        assert run.returncode == 3, run.stdout + run.stderr
        assert run.stdout.startswith("UNKNOWN: ") and "ACCESS_REFUSED" in run.stdout, run.stdout
        assert len(run.stdout.splitlines()) == 1


def test_a_missing_stream_is_unknown_in_one_line(broker, vhost) -> None:
    run = freshness(broker.amqp_url(vhost))
    assert run.returncode == 3
    assert run.stdout.startswith("UNKNOWN: stream fedbus.mirror.events: 404 NOT_FOUND"), \
        run.stdout
