"""The senders' validators (property-based), their rate limits and their database re-check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fedbus.consumer.errors import Later, Reject
from fedbus.errors import ConfigError
from fedbus.notifier.jobs import Job
from fedbus.notifier.senders.checks import (
    allowed_header,
    clean_line,
    is_addr_spec,
    is_channel,
    is_nick,
)
from fedbus.notifier.senders.guard import Guard
from fedbus.notifier.senders.irc import MAX_BYTES, MAX_LINES, check_target, split_text
from fedbus.notifier.senders.limits import Limits, Rate
from fedbus.notifier.senders.smtp import render
from fedbus.notifier.settings import parse
from fedbus.notifier.store import Store

BREAKERS = st.sampled_from(["\r", "\n", "\x00", "\r\n", "\x0b", "\x85", "\u2028", " ", ","])
ATOM = st.text("abcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=20)
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
NICKS = st.from_regex(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}", fullmatch=True)


@given(ATOM, st.lists(LABEL, min_size=2, max_size=4))
def test_addr_specs_are_accepted(local: str, labels: list[str]) -> None:
    assert is_addr_spec(f"{local}@{'.'.join(labels)}")


@given(ATOM, LABEL, st.text(max_size=10), BREAKERS, st.text(max_size=10))
def test_an_address_with_a_breaker_is_refused(
    local: str, domain: str, a: str, bad: str, b: str
) -> None:
    address = f"{local}@{domain}.org"
    for candidate in (
        f"{a}{bad}{b}{address}",
        f"{address}{a}{bad}{b}",
        f"{local}{bad}@{domain}.org",
    ):
        assert not is_addr_spec(candidate)
    assert not is_addr_spec(f"{address}, mallory@evil.test")
    assert not is_addr_spec(f"Alice <{address}>")


@given(NICKS)
def test_rfc2812_nicks_are_accepted(nick: str) -> None:
    assert is_nick(nick) and check_target(nick, ()) == nick


@given(NICKS, BREAKERS, st.text(max_size=20))
def test_a_nick_or_channel_with_a_breaker_is_refused(nick: str, bad: str, rest: str) -> None:
    for candidate in (f"{nick}{bad}{rest}", f"#{nick}{bad}{rest}"):
        assert not is_nick(candidate)
        with pytest.raises(Reject):
            check_target(candidate, (f"#{nick}",))
    assert not is_nick(nick + "x" * 30)


@given(NICKS)
def test_a_channel_must_be_allowed(name: str) -> None:
    channel = f"#{name}"[:50]
    assert is_channel(channel)
    with pytest.raises(Reject, match="not allowed"):
        check_target(channel, ())
    assert check_target(channel.upper(), (channel.lower(),)) == channel.upper()


@given(st.text(max_size=3000))
def test_irc_lines_have_no_control_character_and_are_capped(text: str) -> None:
    lines = split_text(text)
    assert len(lines) <= MAX_LINES
    for line in lines:
        assert len(line.encode()) <= MAX_BYTES
        assert all(ord(ch) >= 0x20 and ch != "\x7f" and not 0x80 <= ord(ch) < 0xA0 for ch in line)
        assert "\u2028" not in line
    assert clean_line(text) == clean_line(clean_line(text))


def test_irc_text_becomes_one_line() -> None:
    assert split_text("hi\r\nPRIVMSG NickServ :x\x00\x01DCC\x01") == ["hi PRIVMSG NickServ :xDCC"]
    long = split_text("é" * 500 + "\nsecond line\n\n")
    assert all(len(line.encode()) <= MAX_BYTES for line in long)
    assert "".join(long) == "é" * 500 + " second line"


@given(st.text(max_size=40), st.text(max_size=60))
def test_only_clean_x_fedbus_headers_are_allowed(name: str, value: str) -> None:
    if allowed_header(name, value):
        assert name.lower().startswith(("x-fedbus-", "x-fedora-"))
        assert "\r" not in value and "\n" not in value and "\x00" not in value
    assert not allowed_header("Reply-To", "x@example.org")
    assert not allowed_header("X-Fedbus-Topic", f"t\r\n{value}")


def job(**kw: object) -> Job:
    base: dict[str, object] = {"message_id": "m1", "user_id": 1, "user": "alice",
            "destination_id": 1, "kind": "email", "address": "alice@example.org",
            "delivery": "immediate",
            "topic": "t", "summary": "s", "subject": "s", "text": "x"}  # fmt: skip
    return Job(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [
    {"subject": "hi\r\nBcc: mallory@example.org"},
    {"headers": {"Reply-To": "mallory@example.org"}},
    {"headers": {"X-Fedbus-Topic": "t\nBcc: m@example.org"}},
    {"headers": {"X-Fedbus-Topic\r\nBcc": "m@example.org"}},
    {"address": "alice@example.org, mallory@example.org"},
    {"address": "alice@example.org\n"},
])  # fmt: skip
def test_render_refuses_what_could_add_a_header_or_a_recipient(bad: dict[str, object]) -> None:
    with pytest.raises(Reject):
        render(job(**bad), "n@example.org")


def test_rate_limits_delay_and_refill() -> None:
    now = [0.0]
    limits = Limits([Rate("destination", 0.5, 2), Rate("user", 10, 3)], clock=lambda: now[0])
    limits.take(job())
    limits.take(job())
    with pytest.raises(Later) as later:
        limits.take(job())
    assert 1.9 < later.value.delay <= 2.0
    limits.take(job(destination_id=2))  # another destination of the same user: 1 token left
    with pytest.raises(Later):
        limits.take(job(destination_id=3))  # the user's bucket is empty now
    now[0] = 2.0
    limits.take(job())


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'n.db'}", create=True)


def test_guard_checks_the_job_against_the_database(store: Store) -> None:
    me = store.user("alice")
    dest, token = me.add_destination("email", "alice@example.org")
    guard = Guard(store, "email")
    good = job(user_id=me.user_id, destination_id=dest.id)
    with pytest.raises(Reject, match="not verified"):
        guard.check(good)
    me.verify_destination(dest.id, token)
    assert guard.check(good).address == "alice@example.org"
    for bad, why in (
        ({"destination_id": 9999}, "no such destination"),
        ({"user_id": me.user_id + 1}, "is not user"),
        ({"user": "bob"}, "not named"),
        ({"address": "mallory@evil.test"}, "address"),
        ({"kind": "irc"}, "kind"),
        ({"user_id": "1"}, "integers"),
        ({"headers": []}, "headers"),
    ):
        with pytest.raises(Reject, match=why):
            guard.check(job(**{**good.__dict__, **bad}))
    me.mute_until(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    with pytest.raises(Reject, match="muted"):
        guard.check(good)
    me.mute_until(None)
    me.set_paused(True)
    with pytest.raises(Reject, match="paused"):
        guard.check(good)


@pytest.mark.parametrize("table", [
    {"irc": {"channels": ["#ok", "bad\r\nJOIN #x"]}},
    {"irc": {"channels": "#ok"}},
    {"irc": {"nick": "bot\r\nJOIN #x"}},
    {"irc": {"destination_rate": 0}},
    {"irc": {"user_burst": 0}},
    {"email": {"user_rate": -1.0}},
    {"email": {"sender": "a@example.org\r\nBcc: m@example.org"}},
])  # fmt: skip
def test_bad_limits_and_names_are_one_line_errors(table: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as exc:
        parse(table)
    assert "\n" not in str(exc.value)


def test_limit_settings_defaults() -> None:
    s = parse({"irc": {"channels": ["#fedora-devel"]}})
    assert s.irc.channels == ("#fedora-devel",) and parse({}).irc.channels == ()
    assert (s.irc.destination_rate, s.irc.destination_burst) == (0.2, 10)
    assert (s.irc.user_rate, s.irc.user_burst) == (0.5, 30)
    assert (s.email.user_rate, s.email.user_burst) == (1.0, 100)


def test_a_host_name_without_a_dot_is_an_address_domain() -> None:
    # roles/notifier's default sender is notifications@<inventory_hostname>, which has
    # no dot in the containers of molecule's whole-bus scenario (RFC 5321 allows it)
    from fedbus.notifier.senders.checks import is_addr_spec

    assert is_addr_spec("notifications@bus-notifier")
    assert not is_addr_spec("notifications@bus-notifier\r\nBcc: x@y")
