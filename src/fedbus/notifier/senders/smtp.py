"""Email over SMTP (smtplib in a thread): one connection kept open, STARTTLS optional.

What goes into a mail is the sender's own data, checked here whatever the job says: the
recipient is one bare addr-spec (the database's address, see :mod:`.guard`), the subject
and the extra headers have no control character (no CR/LF: no header can be added), the
extra headers' names are ``X-Fedbus-*``/``X-Fedora-*`` only (:func:`.checks.allowed_header`)
— anything else is :class:`Reject`.  The body loses NUL and the other control characters
(TAB and line ends kept).

Errors: a 5xx refusal of the recipient or the message is permanent (:class:`Reject`:
dead-lettered with the server's answer); anything else (connection refused, 4xx, timeout)
is transient and the job is retried with backoff by :class:`~fedbus.notifier.jobs.JobConsumer`.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import hashlib
import smtplib
import ssl
import threading
from email.header import Header
from email.utils import formataddr, formatdate, parseaddr

from fedbus.consumer.errors import Reject
from fedbus.notifier.jobs import Job
from fedbus.notifier.senders.checks import allowed_header, has_control, is_addr_spec
from fedbus.notifier.settings import EmailSettings

OWN_HEADERS = frozenset({"from", "to", "subject", "date", "message-id", "auto-submitted",
                         "mime-version", "content-type", "content-transfer-encoding"})  # fmt: skip


def message_id(job: Job) -> str:
    return f"<{hashlib.sha256(job.key.encode()).hexdigest()[:32]}@fedbus.notifier>"


def _header(name: str, value: str) -> bytes:
    """One header line (folded): ASCII as is, anything else RFC 2047-encoded."""
    value = " ".join(value.split())  # no CR/LF from a message's field can start a header
    if value.isascii() and len(name) + len(value) <= 76:  # fits on one line as it is
        return f"{name}: {value}".encode("ascii")
    if value.isascii():
        encoded = Header(value, "us-ascii", header_name=name).encode(linesep="\r\n")
    elif name in ("From", "To"):  # only the display name may be encoded
        encoded = formataddr(parseaddr(value), charset="utf-8")
    else:
        encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}".encode("ascii")


def _body(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\t\n" or not has_control(ch))
    return text if text.endswith("\n") else text + "\n"


def checked_fields(job: Job) -> tuple[str, list[tuple[str, str]]]:
    """The job's subject and extra headers, or :class:`Reject` naming what is refused."""
    if not is_addr_spec(job.address):
        raise Reject(f"recipient {job.address[:80]!r} is not one valid address")
    subject = job.subject or job.summary
    if has_control(subject) or len(subject) > 998:
        raise Reject(f"subject {subject[:60]!r}: control characters or too long")
    if not isinstance(job.headers, dict):
        raise Reject("job: headers must be an object")
    extra = []
    for name, value in job.headers.items():
        if not allowed_header(name, value) or name.lower() in OWN_HEADERS:
            raise Reject(f"header {str(name)[:40]!r} (value {str(value)[:40]!r}) not allowed")
        extra.append((name, value))
    return subject, extra


def render(job: Job, sender: str) -> bytes:
    """The mail of ``job``, as the SMTP DATA (CRLF line ends).

    Built directly rather than through ``email.message.EmailMessage``, whose header
    registry and folding cost ~2 ms of CPU per mail — most of what a sender spent per
    notification.  ASCII text with lines of at most 998 bytes goes as 7bit (readable in a
    mailbox file), anything else as UTF-8 quoted-printable.
    """
    subject, extra = checked_fields(job)
    text = _body(job.text or job.summary)
    headers = [
        ("From", sender),
        ("To", job.address),
        ("Subject", subject),
        ("Date", formatdate(usegmt=True)),
        ("Message-ID", message_id(job)),
        ("Auto-Submitted", "auto-generated"),
        *extra,
        ("MIME-Version", "1.0"),
    ]
    if text.isascii() and all(len(line) <= 998 for line in text.split("\n")):
        body = text.encode("ascii")
        content = [("Content-Type", 'text/plain; charset="us-ascii"'),
                   ("Content-Transfer-Encoding", "7bit")]  # fmt: skip
    else:
        body = binascii.b2a_qp(text.encode(), istext=True).replace(b"\r\n", b"\n")
        content = [("Content-Type", 'text/plain; charset="utf-8"'),
                   ("Content-Transfer-Encoding", "quoted-printable")]  # fmt: skip
    head = b"\r\n".join(_header(name, value) for name, value in [*headers, *content])
    return head + b"\r\n\r\n" + body.replace(b"\n", b"\r\n")


class EmailSender:
    """Sends on a small pool of kept SMTP connections (one per concurrent job)."""

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings
        self._idle: list[smtplib.SMTP] = []
        self._lock = threading.Lock()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        smtp.ehlo()
        if s.starttls:
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
        if s.user:
            smtp.login(s.user, s.password)
        return smtp

    def _take(self) -> smtplib.SMTP:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def send_sync(self, job: Job) -> None:
        mail = render(job, self.settings.sender)
        for attempt in (1, 2):  # a kept connection may have been closed by the server
            smtp = self._take()
            try:
                smtp.sendmail(self.settings.sender, [job.address], mail)
            except smtplib.SMTPRecipientsRefused as exc:
                self._give_back(smtp)
                codes = [c for c, _ in exc.recipients.values()]
                if codes and all(c >= 500 for c in codes):
                    raise Reject(f"recipient refused: {exc.recipients}") from exc
                raise
            except smtplib.SMTPResponseException as exc:
                self._give_back(smtp)
                if exc.smtp_code >= 500:
                    raise Reject(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
                raise
            except (smtplib.SMTPServerDisconnected, OSError):
                _quit(smtp)
                if attempt == 2:
                    raise
            else:
                self._give_back(smtp)
                return

    def _give_back(self, smtp: smtplib.SMTP) -> None:
        with self._lock:
            self._idle.append(smtp)

    async def send(self, job: Job) -> None:
        await asyncio.to_thread(self.send_sync, job)

    def close_sync(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for smtp in idle:
            _quit(smtp)

    async def close(self) -> None:
        await asyncio.to_thread(self.close_sync)


def _quit(smtp: smtplib.SMTP) -> None:
    with contextlib.suppress(Exception):
        smtp.quit()
