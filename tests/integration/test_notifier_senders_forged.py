"""Forged jobs put straight on the senders' queues (as an account that can publish to the
default exchange could): the senders re-check each job against the database (PostgreSQL)
and send nothing a user did not ask for; real RabbitMQ, aiosmtpd and ngircd."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pika
import pytest
from support.irc_client import IrcClient
from support.notifier_servers import IrcServer, Postgres, SmtpServer
from support.notifier_stack import Stack
from support.polling import wait_for

from fedbus.notifier.jobs import Job
from fedbus.notifier.migrate import upgrade
from fedbus.notifier.models import Destination, DigestItem
from fedbus.notifier.store import Store

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ALLOWED = "#fedora-allowed"


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    pg = Postgres().start()
    upgrade(pg.url)
    yield pg
    pg.stop()


class PgStack(Stack):
    """The notifier's processes on PostgreSQL, with extra settings for ``[email]``/``[irc]``."""

    def __init__(self, tmp: Path, amqp_url: str, smtp: int, irc: int, db: str,
                 email: str = "", irc_extra: str = "") -> None:  # fmt: skip
        super().__init__(tmp, amqp_url, smtp, irc)
        self.db = db
        self.store = Store.open(db)
        text = self.notifier_toml.read_text().splitlines(keepends=True)
        text[0] = f'database_url = "{db}"\n'
        out = "".join(text).replace("[irc]\n", f"{email}[irc]\n{irc_extra}")
        self.notifier_toml.write_text(out)


def make_stack(tmp: Path, broker: Any, vhost: str, smtp: SmtpServer, ircd: IrcServer,
               pg: Postgres, **kw: str) -> PgStack:  # fmt: skip
    smtp.accepted.clear()
    smtp.fail_next(0)
    smtp.delay = 0.0
    return PgStack(tmp, broker.amqp_url(vhost), smtp.port, ircd.port, pg.url, **kw)


@pytest.fixture
def stack(
    tmp_path: Path, broker: Any, vhost: str, smtp: SmtpServer, ircd: IrcServer, postgres: Postgres
) -> Iterator[PgStack]:
    s = make_stack(tmp_path, broker, vhost, smtp, ircd, postgres,
                   irc_extra=f'channels = ["{ALLOWED}"]\n')  # fmt: skip
    try:
        yield s
    finally:
        s.stop_all()
        print(s.logs())


def consuming(broker: Any, vhost: str, queue: str) -> bool:
    q = urllib.parse.quote(vhost, safe="")
    try:
        info = broker.api("GET", f"queues/{q}/{queue}")
    except Exception:
        return False
    return bool(info) and int(info.get("consumers", 0)) > 0


def start(stack: Stack, broker: Any, vhost: str, kind: str) -> None:
    if kind == "digest":
        stack.start("digest", "digest", "--interval", "1")
    else:
        stack.sender(kind)
    wait_for(lambda: consuming(broker, vhost, f"notifier.{kind}"), 60, f"the {kind} consumer")


def forge(stack: Stack, queue: str, *jobs: Job) -> None:
    """Publish jobs on the default exchange, straight to ``queue``: what an attacker does."""
    with pika.BlockingConnection(pika.URLParameters(stack.amqp_url)) as conn:
        ch = conn.channel()
        ch.confirm_delivery()
        for job in jobs:
            props = pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                         message_id=job.key)  # fmt: skip
            ch.basic_publish("", queue, job.encode(), props)


def dead(stack: Stack, queue: str, count: int, timeout: float = 60) -> dict[str, str]:
    """The first ``count`` dead-lettered jobs of ``queue``: job key -> reason."""
    found: dict[str, str] = {}

    def drain() -> bool:
        with pika.BlockingConnection(pika.URLParameters(stack.amqp_url)) as conn:
            ch = conn.channel()
            while True:
                method, props, _body = ch.basic_get(f"{queue}.dlq", auto_ack=True)
                if method is None:
                    break
                found[props.message_id] = props.headers["x-fedbus-reason"]
        return len(found) >= count

    wait_for(drain, timeout, f"{count} dead-lettered job(s) in {queue}.dlq")
    return found


def job(user_id: int, user: str, dest_id: int, address: str, kind: str = "email",
        n: str = "1", **kw: Any) -> Job:  # fmt: skip
    return Job(message_id=f"forged-{n}", user_id=user_id, user=user, destination_id=dest_id,
               kind=kind, address=address, delivery="immediate", topic="org.fedoraproject.x",
               summary=f"summary {n}", subject=f"subject {n}",
               text=kw.pop("text", f"text {n}"), **kw)  # fmt: skip


def uid(stack: Stack, name: str) -> int:
    return stack.store.user(name).user_id


def test_forged_mail_jobs_are_dead_lettered_a_real_one_is_sent(
    stack: PgStack, smtp: SmtpServer, broker: Any, vhost: str
) -> None:
    a_dest = stack.verified("ma-alice", "email", "alice@example.org")
    b_dest = stack.verified("ma-bob", "email", "bob@example.org")
    c_dest, _token = stack.store.user("ma-carol").add_destination("email", "carol@example.org")
    p_dest = stack.verified("ma-paul", "email", "paul@example.org")
    stack.store.user("ma-paul").set_paused(True)
    m_dest = stack.verified("ma-mute", "email", "mute@example.org")
    stack.store.user("ma-mute").mute_until(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    a, c = uid(stack, "ma-alice"), uid(stack, "ma-carol")
    p, m = uid(stack, "ma-paul"), uid(stack, "ma-mute")
    evil = "mallory@evil.test"
    forged = {
        "unknown user": job(999_999, "mallory", 999_999, evil, n="1"),
        "someone else's destination": job(a, "ma-alice", b_dest, "bob@example.org", n="2"),
        "name not the id's": job(a, "ma-bob", a_dest, "alice@example.org", n="3"),
        "unverified": job(c, "ma-carol", c_dest.id, "carol@example.org", n="4"),
        "paused": job(p, "ma-paul", p_dest, "paul@example.org", n="5"),
        "muted": job(m, "ma-mute", m_dest, "mute@example.org", n="6"),
        "address mismatch": job(a, "ma-alice", a_dest, evil, n="7"),
        "kind mismatch": job(a, "ma-alice", a_dest, "alice@example.org", kind="irc", n="8"),
        "Reply-To header": job(
            a, "ma-alice", a_dest, "alice@example.org", n="9", headers={"Reply-To": evil}
        ),
        "Reply-To in subject": replace(
            job(a, "ma-alice", a_dest, "alice@example.org", n="10"),
            subject=f"hello\r\nReply-To: {evil}",
        ),
        "header value": replace(
            job(a, "ma-alice", a_dest, "alice@example.org", n="11"),
            headers={"X-Fedbus-Topic": f"t\r\nBcc: {evil}"},
        ),
        "two recipients": job(a, "ma-alice", a_dest, f"alice@example.org, {evil}", n="12"),
    }
    legit = job(a, "ma-alice", a_dest, "alice@example.org", n="legit",
                headers={"X-Fedbus-Topic": "org.fedoraproject.x"})  # fmt: skip
    start(stack, broker, vhost, "email")
    forge(stack, "notifier.email", *forged.values(), legit)
    wait_for(lambda: smtp.messages("alice@example.org"), 60, "the legitimate mail")
    time.sleep(3)  # any forged mail would be there by now
    assert [rcpt for rcpt, _, _ in smtp.accepted] == [["alice@example.org"]]
    reasons = dead(stack, "notifier.email", len(forged))
    mail = smtp.messages("alice@example.org")[0]
    assert mail["Subject"] == "subject legit" and mail["Reply-To"] is None
    assert mail["From"] == "notifications@fedoraproject.test"
    assert mail["X-Fedbus-Topic"] == "org.fedoraproject.x"
    assert set(reasons) == {j.key for j in forged.values()}
    for what, j in forged.items():
        reason = reasons[j.key]
        assert reason and "\n" not in reason and len(reason) < 300, (what, reason)
    assert "no such destination" in reasons[forged["unknown user"].key]
    assert "paused" in reasons[forged["paused"].key]
    assert "muted" in reasons[forged["muted"].key]
    assert "not verified" in reasons[forged["unverified"].key]
    assert "address" in reasons[forged["address mismatch"].key]
    assert "Reply-To" in reasons[forged["Reply-To header"].key]


def test_forged_irc_jobs_send_no_command_and_join_no_channel(
    stack: PgStack, ircd: IrcServer, broker: Any, vhost: str
) -> None:
    a_dest = stack.verified("ia-alice", "irc", "alicei")
    secret_dest = stack.verified("ia-alice", "irc", "#secret")
    allowed_dest = stack.verified("ia-alice", "irc", ALLOWED)
    a = uid(stack, "ia-alice")
    with stack.store.session() as s:  # a row no form accepts (CR LF in the nick)
        bad = Destination(user_id=a, kind="irc", address="alicei\r\nPRIVMSG victim :pwned1",
                          verified=True)  # fmt: skip
        s.add(bad)
        s.flush()
        bad_id = bad.id
    alice = IrcClient("127.0.0.1", ircd.port, "alicei")
    victim = IrcClient("127.0.0.1", ircd.port, "victim", channels=("#secret", ALLOWED))
    try:
        start(stack, broker, vhost, "irc")
        forged = {
            "unknown user, CR LF nick": job(999_999, "m", 999_999,
                                            "victim\r\nJOIN #secret", kind="irc", n="1"),
            "address with CR LF": job(a, "ia-alice", a_dest,
                                      "alicei\r\nPRIVMSG victim :pwned2", kind="irc", n="2"),
            "CR LF nick in the database": job(a, "ia-alice", bad_id,
                                              "alicei\r\nPRIVMSG victim :pwned1", kind="irc",
                                              n="3"),
            "channel not allowed": job(a, "ia-alice", secret_dest, "#secret", kind="irc", n="4"),
        }  # fmt: skip
        text = "hello\r\nPRIVMSG victim :pwned3\r\nJOIN #secret\x00 \x01DCC SEND x\x01"
        crlf = job(a, "ia-alice", a_dest, "alicei", kind="irc", n="text", text=text)
        to_channel = job(a, "ia-alice", allowed_dest, ALLOWED, kind="irc", n="chan",
                         text="to the channel")  # fmt: skip
        forge(stack, "notifier.irc", *forged.values(), crlf, to_channel)
        wait_for(lambda: victim.messages, 60, "the line on the allowed channel")
        wait_for(lambda: alice.messages, 60, "the line to alice")
        time.sleep(3)  # any injected command would have had its effect by now
        assert victim.messages == [("fedbus-bot", ALLOWED, "to the channel")]
        assert [j for j in victim.joins if j[1] == "#secret" and j[0] != "victim"] == []
        assert len(alice.messages) == 1, alice.messages
        line = alice.messages[0][2]
        assert all(ch >= " " for ch in line), repr(line)
        assert line.startswith("hello PRIVMSG victim :pwned3 JOIN #secret")
        reasons = dead(stack, "notifier.irc", len(forged))
        assert set(reasons) == {j.key for j in forged.values()}
        assert "not allowed" in reasons[forged["channel not allowed"].key]
        assert "not a valid" in reasons[forged["CR LF nick in the database"].key]
        assert "address" in reasons[forged["address with CR LF"].key]
    finally:
        alice.close()
        victim.close()


def test_irc_over_the_rate_limit_is_delayed_not_lost(
    tmp_path: Path, broker: Any, vhost: str, smtp: SmtpServer, ircd: IrcServer,
    postgres: Postgres,
) -> None:  # fmt: skip
    stack = make_stack(tmp_path, broker, vhost, smtp, ircd, postgres,
                       irc_extra="destination_burst = 2\ndestination_rate = 0.5\n")  # fmt: skip
    listener = IrcClient("127.0.0.1", ircd.port, "rlnick")
    try:
        dest = stack.verified("rl-user", "irc", "rlnick")
        u = uid(stack, "rl-user")
        start(stack, broker, vhost, "irc")
        t0 = time.monotonic()
        forge(stack, "notifier.irc",
              *(job(u, "rl-user", dest, "rlnick", kind="irc", n=f"r{i}", text=f"line {i}")
                for i in range(5)))  # fmt: skip
        wait_for(lambda: len(listener.messages) >= 2, 30, "the first two lines")
        assert time.monotonic() - t0 < 10
        time.sleep(0.5)
        assert len(listener.messages) == 2  # the bucket is empty: the others wait
        wait_for(lambda: len(listener.messages) == 5, 60, "all five lines")
        assert time.monotonic() - t0 >= 4  # 3 more at 0.5 per second: 6 s at best
        assert sorted(t for _, _, t in listener.messages) == [f"line {i}" for i in range(5)]
    finally:
        listener.close()
        stack.stop_all()
        print(stack.logs())


def test_mail_over_the_user_rate_limit_is_delayed_not_lost(
    tmp_path: Path, broker: Any, vhost: str, smtp: SmtpServer, ircd: IrcServer,
    postgres: Postgres,
) -> None:  # fmt: skip
    stack = make_stack(tmp_path, broker, vhost, smtp, ircd, postgres,
                       email="user_burst = 2\nuser_rate = 0.5\n")  # fmt: skip
    try:
        dest = stack.verified("rm-user", "email", "rm@example.org")
        u = uid(stack, "rm-user")
        start(stack, broker, vhost, "email")
        t0 = time.monotonic()
        forge(
            stack,
            "notifier.email",
            *(job(u, "rm-user", dest, "rm@example.org", n=f"m{i}") for i in range(4)),
        )
        wait_for(lambda: len(smtp.messages("rm@example.org")) >= 2, 30, "the first two mails")
        time.sleep(0.5)
        assert len(smtp.messages("rm@example.org")) == 2
        wait_for(lambda: len(smtp.messages("rm@example.org")) == 4, 60, "all four mails")
        assert time.monotonic() - t0 >= 3
    finally:
        stack.stop_all()
        print(stack.logs())


def test_forged_digest_job_is_not_kept(stack: PgStack, broker: Any, vhost: str) -> None:
    a = uid(stack, "dg-alice")
    b_dest = stack.verified("dg-bob", "email", "dgbob@example.org", delivery="hourly")
    own = stack.verified("dg-alice", "email", "dgalice@example.org", delivery="daily")
    start(stack, broker, vhost, "digest")
    bad = replace(job(a, "dg-alice", b_dest, "dgbob@example.org", n="d1"), delivery="hourly")
    good = replace(job(a, "dg-alice", own, "dgalice@example.org", n="d2"), delivery="daily")
    forge(stack, "notifier.digest", bad, good)

    def kept() -> list[int]:
        with stack.store.session() as s:
            return sorted(i.destination_id for i in s.query(DigestItem).all())

    wait_for(lambda: own in kept(), 30, "the legitimate digest item")
    time.sleep(1)
    assert kept() == [own]  # nothing slipped into bob's digest
    reasons = dead(stack, "notifier.digest", 1)
    assert list(reasons) == [bad.key] and "destination" in reasons[bad.key]
