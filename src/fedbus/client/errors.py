"""Why a publish failed.  Each error is one line (the CLI prints ``str(exc)``)."""

from __future__ import annotations

from fedbus.errors import PublishError


class PublishReturned(PublishError):
    """The broker could not route the message (``mandatory`` publish, no matching binding)."""

    def __init__(self, routing_key: str, reply_code: int = 312, reply_text: str = "NO_ROUTE"):
        self.routing_key = routing_key
        self.reply_code = reply_code
        self.reply_text = reply_text
        super().__init__(f"unroutable: no queue is bound for {routing_key!r} ({reply_text})")


class PublishNacked(PublishError):
    """The broker answered ``basic.nack`` (it could not take responsibility for the message)."""

    def __init__(self, routing_key: str):
        self.routing_key = routing_key
        super().__init__(f"the broker refused {routing_key!r} (basic.nack); retry later")


class PublishRefused(PublishError):
    """The broker closed the channel: a permanent refusal (403 ACCESS_REFUSED, 406, ...)."""

    def __init__(self, routing_key: str, reply_code: int, reply_text: str):
        self.routing_key = routing_key
        self.reply_code = reply_code
        self.reply_text = " ".join(str(reply_text).split())
        what = "not allowed to publish" if reply_code == 403 else "refused"
        super().__init__(f"{what} {routing_key!r}: {reply_code} {self.reply_text}")


class BrokerUnavailable(PublishError):
    """No broker of the list could be reached (or the connection dropped) within the timeout."""
