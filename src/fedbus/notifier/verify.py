"""Sending a destination's verification token (to the address itself, to prove it).

The web layer calls, after :meth:`UserStore.add_destination` or :meth:`UserStore.new_token`::

    send_verification(urls, tls, user_id=me.user_id, user=me.name, destination=dest,
                      token=token, base_url=settings.base_url)

It publishes (pika, blocking, with publisher confirms — usable from a WSGI request) one job
to ``notifier.email`` / ``notifier.irc`` through ``fedbus.queues`` (no account may write the
default exchange: :mod:`fedbus.consumer.queues`); the sender delivers it like any notification,
even though the destination is not verified yet.  The text carries the token and the link
``<base_url>/settings/destinations/<id>/verify?token=<token>``; the job's summary
(:data:`SUMMARY`, which the delivery ledger keeps and the web UI lists) never has the token.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from urllib.parse import quote

import pika

from fedbus.client.connect import TlsOptions
from fedbus.consumer.queues import QUEUE_EXCHANGE
from fedbus.notifier.jobs import Job
from fedbus.notifier.settings import QUEUES
from fedbus.notifier.store import DestinationView

SUMMARY = "Confirm your Fedora notifications address"


def verification_job(
    *, user_id: int, user: str, destination: DestinationView, token: str, base_url: str
) -> Job:
    link = f"{base_url}/settings/destinations/{destination.id}/verify?token={quote(token)}"
    if destination.kind == "email":
        subject = SUMMARY
        text = (
            f"Hello {user},\n\nSomeone (hopefully you) asked to send Fedora notifications to "
            f"this address.  To confirm, open:\n\n  {link}\n\nor enter this code: {token}\n\n"
            "If it was not you, ignore this message: nothing will be sent here.\n"
        )
    else:
        subject = ""
        text = f"Fedora notifications for {user}: confirm this nick with code {token} ({link})"
    return Job(
        message_id=f"verify-{secrets.token_hex(8)}", user_id=user_id, user=user,
        destination_id=destination.id, kind=destination.kind, address=destination.address,
        delivery="immediate", topic="verification", summary=SUMMARY,
        subject=subject, text=text,
    )  # fmt: skip


def send_verification(
    urls: Sequence[str],
    tls: TlsOptions | None,
    *,
    user_id: int,
    user: str,
    destination: DestinationView,
    token: str,
    base_url: str,
) -> Job:
    """Publish the verification job (confirmed); returns it."""
    job = verification_job(user_id=user_id, user=user, destination=destination, token=token,
                           base_url=base_url)  # fmt: skip
    last: Exception | None = None
    for url in urls:
        params = pika.URLParameters(url)
        if url.startswith("amqps") and tls is not None:
            params.ssl_options = pika.SSLOptions(tls.context())
        try:
            with pika.BlockingConnection(params) as conn:
                queue = QUEUES[job.kind]
                ch = conn.channel()
                try:
                    ch.queue_declare(queue, passive=True)
                except pika.exceptions.ChannelClosedByBroker:  # 404: first use
                    ch = conn.channel()
                    ch.queue_declare(queue, durable=True)
                ch.queue_bind(queue, QUEUE_EXCHANGE, routing_key=queue)  # the sender does too
                ch.confirm_delivery()
                props = pika.BasicProperties(
                    content_type="application/json", delivery_mode=2, message_id=job.key
                )
                ch.basic_publish(QUEUE_EXCHANGE, queue, job.encode(), props, mandatory=True)
                return job
        except pika.exceptions.AMQPError as exc:
            last = exc
    raise ConnectionError(f"cannot publish the verification: {last}")
