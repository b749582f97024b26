"""Email over SMTP (smtplib in a thread): one connection kept open, STARTTLS optional.

Errors: a 5xx refusal of the recipient or the message is permanent (:class:`Reject`:
dead-lettered with the server's answer); anything else (connection refused, 4xx, timeout)
is transient and the job is retried with backoff by :class:`~fedbus.notifier.jobs.JobConsumer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate

from fedbus.consumer.errors import Reject
from fedbus.notifier.jobs import Job
from fedbus.notifier.settings import EmailSettings


def message_id(job: Job) -> str:
    return f"<{hashlib.sha256(job.key.encode()).hexdigest()[:32]}@fedbus.notifier>"


def build(job: Job, sender: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = job.address
    mail["Subject"] = job.subject or job.summary
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = message_id(job)
    mail["Auto-Submitted"] = "auto-generated"
    for name, value in job.headers.items():
        mail[name] = value
    mail.set_content(job.text or job.summary)
    return mail


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
        mail = build(job, self.settings.sender)
        for attempt in (1, 2):  # a kept connection may have been closed by the server
            smtp = self._take()
            try:
                smtp.send_message(mail)
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
