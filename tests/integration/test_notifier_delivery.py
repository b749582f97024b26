"""The notifier end to end: real RabbitMQ, the worker and senders as processes, a real SMTP
server (aiosmtpd), a real IRC server (ngircd), SQLite."""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.irc_client import IrcClient
from support.notifier_servers import IrcServer, SmtpServer
from support.notifier_stack import PREFIX, Stack, commit, pkgdb_owner
from support.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture
def stack(
    tmp_path: Path, broker: object, vhost: str, smtp: SmtpServer, ircd: IrcServer
) -> Iterator[Stack]:
    s = Stack(tmp_path, broker.amqp_url(vhost), smtp.port, ircd.port)  # type: ignore[attr-defined]
    smtp.accepted.clear()
    smtp.fail_next(0)
    smtp.delay = 0.0
    try:
        yield s
    except BaseException:
        raise
    finally:
        s.stop_all()
        print(s.logs())


def queue_ready(broker: object, vhost: str, queue: str) -> bool:
    import urllib.parse

    q = urllib.parse.quote(vhost, safe="")
    try:
        info = broker.api("GET", f"queues/{q}/{queue}")  # type: ignore[attr-defined]
    except Exception:
        return False
    return bool(info) and int(info.get("consumers", 0)) > 0  # type: ignore[union-attr]


def start_all(stack: Stack, broker: object, vhost: str, *kinds: str) -> None:
    stack.worker()
    for kind in kinds:
        stack.sender(kind)
    wait_for(lambda: queue_ready(broker, vhost, "notifier"), 60, "the worker to consume")
    for kind in kinds:
        wait_for(lambda k=kind: queue_ready(broker, vhost, f"notifier.{k}"), 60, f"{kind} sender")


def test_commit_mail_to_owner_by_pkgdb_and_irc_line(
    stack: Stack, smtp: SmtpServer, ircd: IrcServer, broker: object, vhost: str
) -> None:
    stack.verified("alice", "email", "alice@example.org")
    stack.verified("alice", "irc", "alice")
    stack.store.user("alice").add_rule("owned_packages", name="my packages")
    stack.verified("carol", "email", "carol@example.org")
    stack.store.user("carol").add_rule("package", "kernel", exclude_mine=True)
    listener = IrcClient("127.0.0.1", ircd.port, "alice")
    try:
        start_all(stack, broker, vhost, "email", "irc")
        # alice becomes the owner of kernel through PkgDB, then carol pushes to kernel
        stack.publish([pkgdb_owner("alice", "kernel"), commit("carol", "kernel", rev="ab" * 20)])
        wait_for(lambda: smtp.messages("alice@example.org"), 60, "the commit mail")
        wait_for(lambda: listener.messages, 60, "the IRC line")
        mail = smtp.messages("alice@example.org")[0]
        assert mail["Subject"] == "[rpms/kernel] rawhide: Fix the build"
        text = mail.get_payload(decode=True).decode()
        assert f"From {'ab' * 20}" in text and "+Release: 2" in text  # the patch
        assert "https://notifications.test/settings/rules" in text
        assert mail["X-Fedbus-Topic"] == f"{PREFIX}.git.receive"
        sender, target, line = listener.messages[0]
        assert sender.startswith("fedbus-bot") and target == "alice"
        assert 'carol pushed to rpms/kernel (rawhide). "Fix the build"' in line
        time.sleep(2)
        assert smtp.messages("carol@example.org") == []  # her own push: excluded
        assert len(smtp.messages("alice@example.org")) == 1 and len(listener.messages) == 1
        assert [p.package for p in stack.store.user("alice").list_packages()] == ["kernel"]
    finally:
        listener.close()


@pytest.mark.parametrize("sender_signal", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_worker_killed_sender_stopped_mid_stream_nothing_lost_nothing_doubled(
    stack: Stack, smtp: SmtpServer, broker: object, vhost: str, sender_signal: int
) -> None:
    """The worker is SIGKILLed (its unacked messages come back, their jobs are published
    again: the ledger sends each key once); the sender is stopped with SIGTERM (it finishes
    the mails in hand) — exactly once.  With SIGKILL for the sender too, a mail the SMTP
    server accepted while the sender died before recording it is sent again: nothing is
    lost, and at most one duplicate per concurrent send (8), with the same Message-ID."""
    users = 20
    for i in range(users):
        stack.verified(f"u{i}", "email", f"u{i}@example.org")
        stack.store.user(f"u{i}").add_rule("package", f"pkg{i}")
    total = 300
    messages = [commit("someone", f"pkg{n % users}") for n in range(total)]
    expected = Counter(f"u{n % users}@example.org" for n in range(total))
    smtp.delay = 0.1  # a slow MTA: the kill lands mid-stream, with sends in flight
    start_all(stack, broker, vhost, "email")
    stack.publish(messages)
    wait_for(lambda: len(smtp.accepted) >= 40, 120, "the first mails")
    stack.kill("worker")
    stack.kill("sender-email", sender_signal)
    at_kill = len(smtp.accepted)
    assert at_kill < total, "the stream finished before the kill: the test proves nothing"
    start_all(stack, broker, vhost, "email")
    wait_for(lambda: len(smtp.accepted) >= total, 180, f"{total} mails")
    time.sleep(3)  # anything doubled would arrive now
    got = Counter(rcpt[0] for rcpt, _, _ in smtp.accepted)
    ids = Counter(m["Message-ID"] for _, m, _ in smtp.accepted)
    assert len(ids) == total  # every notification arrived: nothing lost
    if sender_signal == signal.SIGTERM:
        assert got == expected and max(ids.values()) == 1
    else:
        assert not expected - got and sum(got.values()) - total <= 8


def test_smtp_retry_with_backoff_then_permanent_refusal_dead_letters(
    stack: Stack, smtp: SmtpServer, broker: object, vhost: str
) -> None:
    stack.verified("dave", "email", "dave@example.org")
    stack.store.user("dave").add_rule("package", "bash")
    start_all(stack, broker, vhost, "email")
    smtp.fail_next(2, "451 4.3.0 try again later")
    refused_before = smtp.refused
    stack.publish([commit("x", "bash", summary="first")])
    wait_for(lambda: smtp.messages("dave@example.org"), 60, "the mail after two 451s")
    assert smtp.refused - refused_before == 2
    smtp.fail_next(1, "550 5.1.1 no such user")
    stack.publish([commit("x", "bash", summary="second")])
    import pika

    def dead() -> list[tuple[object, bytes]]:
        with pika.BlockingConnection(pika.URLParameters(stack.amqp_url)) as conn:
            method, props, body = conn.channel().basic_get("notifier.email.dlq", auto_ack=True)
            return [] if method is None else [(props, body)]

    found: list[tuple[object, bytes]] = []
    wait_for(lambda: found.extend(dead()) or found, 60, "the dead-lettered job")
    props, body = found[0]
    assert "550" in props.headers["x-fedbus-reason"]  # type: ignore[attr-defined]
    assert b'"summary":"x pushed to rpms/bash (rawhide). \\"second\\""' in body
    assert len(smtp.messages("dave@example.org")) == 1


def test_new_rule_acts_on_the_next_message_without_restart(
    stack: Stack, smtp: SmtpServer, broker: object, vhost: str
) -> None:
    stack.verified("erin", "email", "erin@example.org")
    start_all(stack, broker, vhost, "email")
    stack.publish([commit("y", "vim", summary="before")])
    time.sleep(3)
    assert smtp.messages("erin@example.org") == []
    stack.store.user("erin").add_rule("topic", "git.receive")
    time.sleep(3)  # the workers reload changed users every 2 s
    stack.publish([commit("y", "vim", summary="after")])
    wait_for(lambda: smtp.messages("erin@example.org"), 60, "the mail after the new rule")
    assert "after" in smtp.messages("erin@example.org")[0]["Subject"]


def test_irc_outage_does_not_delay_email(
    stack: Stack, smtp: SmtpServer, broker: object, vhost: str
) -> None:
    stack.verified("fred", "email", "fred@example.org")
    stack.verified("fred", "irc", "fred")
    stack.store.user("fred").add_rule("package", "gcc")
    # the IRC server is down (nothing listens on port 9): every IRC job fails and waits
    text = stack.notifier_toml.read_text()
    stack.notifier_toml.write_text(text.split("[irc]")[0] + '[irc]\nhost = "127.0.0.1"\n'
                                   "port = 9\ntimeout = 2\n")  # fmt: skip
    start_all(stack, broker, vhost, "email", "irc")
    t0 = time.monotonic()
    stack.publish([commit("z", "gcc", summary=f"n{i}") for i in range(5)])
    wait_for(lambda: len(smtp.messages("fred@example.org")) == 5, 60, "5 mails")
    assert time.monotonic() - t0 < 30
    stack.kill("sender-irc", signal.SIGTERM)  # its jobs go back to the queue: none lost
    import pika

    with pika.BlockingConnection(pika.URLParameters(stack.amqp_url)) as conn:
        waiting = conn.channel().queue_declare("notifier.irc", passive=True).method
    assert waiting.message_count == 5


def test_hourly_digest_capped_through_the_queues(
    stack: Stack, smtp: SmtpServer, broker: object, vhost: str
) -> None:
    import asyncio
    import datetime as dt

    from fedbus.notifier.digest import Digests
    from fedbus.notifier.jobs import JobPublisher

    stack.verified("gina", "email", "gina@example.org", delivery="hourly", digest_cap=3)
    stack.store.user("gina").add_rule("package", "tmux")
    start_all(stack, broker, vhost, "email")
    digest = stack.start("digest", "digest", "--interval", "1")
    wait_for(lambda: queue_ready(broker, vhost, "notifier.digest"), 60, "the digest process")
    stack.publish([commit("h", "tmux", summary=f"change {i}") for i in range(5)])
    from sqlalchemy import func, select

    from fedbus.notifier.models import DigestItem

    def kept() -> int:
        with stack.store.session() as s:
            return int(s.scalar(select(func.count(DigestItem.id))) or 0)

    wait_for(lambda: kept() == 5, 60, "5 digest items")
    time.sleep(2)
    assert smtp.messages("gina@example.org") == []  # not due yet: nothing sent at once

    async def flush_later() -> int:
        publisher = JobPublisher([stack.amqp_url])
        try:
            later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=2)
            return await Digests(stack.store, publisher, "https://n.test").flush(later)
        finally:
            await publisher.close()

    assert asyncio.run(flush_later()) == 1
    wait_for(lambda: smtp.messages("gina@example.org"), 60, "the digest mail")
    mail = smtp.messages("gina@example.org")[0]
    text = mail.get_payload(decode=True).decode()
    assert mail["Subject"] == "Your hourly Fedora digest: 5 notification(s)"
    assert "change 4" in text and "change 0" not in text and "… and 2 more" in text
    assert kept() == 0 and asyncio.run(flush_later()) == 0
    assert digest.poll() is None
