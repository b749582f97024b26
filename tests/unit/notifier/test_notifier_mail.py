"""The mail a notification becomes (fedbus.notifier.senders.smtp.render), read back with the
standard library's parser as a mail client would."""

from __future__ import annotations

import email
import email.policy

import pytest

from fedbus.consumer.errors import Reject
from fedbus.notifier.jobs import Job
from fedbus.notifier.senders.smtp import message_id, render


def job(**kw: object) -> Job:
    fields: dict[str, object] = {
        "message_id": "m1", "user_id": 1, "user": "alice", "destination_id": 2,
        "kind": "email", "address": "alice@example.org", "delivery": "immediate",
        "topic": "org.fedoraproject.prod.git.receive", "summary": "alice pushed to kernel",
        "headers": {"X-Fedbus-Topic": "org.fedoraproject.prod.git.receive"},
    }  # fmt: skip
    fields.update(kw)
    return Job(**fields)  # type: ignore[arg-type]


def parse(raw: bytes) -> email.message.EmailMessage:
    lines = raw.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)  # CRLF only
    assert all(len(line) <= 998 for line in lines)  # SMTP's limit
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def test_plain_ascii_mail_is_7bit_and_readable_in_a_mailbox() -> None:
    j = job(subject="[rpms/kernel] rawhide: Fix the build", text="enter this code: K3Y\n")
    raw = render(j, "notifications@fedoraproject.org")
    assert b"\r\n\r\nenter this code: K3Y\r\n" in raw
    msg = parse(raw)
    assert msg["Subject"] == "[rpms/kernel] rawhide: Fix the build"
    assert msg["From"] == "notifications@fedoraproject.org" and msg["To"] == "alice@example.org"
    assert msg["Message-ID"] == message_id(j) and msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Fedbus-Topic"] == "org.fedoraproject.prod.git.receive"
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert msg.get_content().replace("\r\n", "\n") == "enter this code: K3Y\n"


def test_non_ascii_long_lines_and_long_subjects_survive_the_trip() -> None:
    text = "Résumé ✓\r\n" + "+" + "x" * 3000 + "\n.\nlast line"
    subject = "Build kernel-6.12.1-1.fc42 complete ✓ " + "word " * 40
    raw = render(job(subject=subject, text=text), "Fédora <notifications@fedoraproject.org>")
    msg = parse(raw)
    assert msg["Subject"] == " ".join(subject.split())
    (sender,) = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Fédora", "notifications@fedoraproject.org")
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    expected = "Résumé ✓\n+" + "x" * 3000 + "\n.\nlast line\n"
    assert msg.get_content().replace("\r\n", "\n") == expected


def test_a_field_cannot_add_a_header() -> None:
    with pytest.raises(Reject, match="subject"):
        render(job(subject="hi\r\nBcc: mallory@example.org", text="x"), "n@example.org")
