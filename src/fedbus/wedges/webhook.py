"""The webhook endpoint: applications that can only POST JSON publish through it.

``POST /hook/<service>`` with ``Authorization: Bearer <token>`` (one token per service,
from ``vault_webhook_tokens``) and a JSON object::

    {"topic": "bodhi.update.comment", "body": {...}, "schema": "bodhi.update.comment.v1"}

(``schema`` optional, see :func:`fedbus.wedges.hooks.schema_for`).  The service may only
publish its own topics (``<service>.…``).  Bugzilla posts its native webhook JSON to
``/hook/bugzilla`` (see :mod:`fedbus.wedges.bugzilla`).  Answers: 202 and the message id
(spooled for the relay; the broker may be down), 400 bad JSON / schema (one-line reason),
401 bad or missing token, 403 foreign topic, 404 unknown service, 413 body too large.
"""

from __future__ import annotations

import hmac
import json
import logging
import tomllib
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fedbus.errors import ConfigError, ValidationError
from fedbus.message.envelope import Encoded
from fedbus.wedges.base import Target, one_line, publish_all
from fedbus.wedges.hooks import Outbox

log = logging.getLogger("fedbus.wedges.webhook")
MAX_BODY = 4 << 20


def load_tokens(path: str | Path) -> dict[str, str]:
    """``service = "token"`` lines of a TOML file (mode 0640, root:fedbus)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the webhook tokens: {exc}") from exc
    tokens: dict[str, str] = {k: v for k, v in data.items() if isinstance(v, str) and v}
    if not tokens:
        raise ConfigError(f"{path}: no tokens (expected service = \"token\" lines)")
    return tokens


def translate(service: str, payload: Any, outbox: Outbox) -> Encoded:
    """The message a service's payload stands for; ValidationError when it is wrong."""
    if not isinstance(payload, dict):
        raise ValidationError("the body must be a JSON object")
    if service == "bugzilla" and "event" in payload and "bug" in payload:
        from fedbus.wedges.bugzilla import from_webhook

        suffix, bz_body, schema_name = from_webhook(payload)
        return outbox.message(suffix, bz_body, schema_name)
    topic, body = payload.get("topic"), payload.get("body")
    if not isinstance(topic, str) or not isinstance(body, dict):
        raise ValidationError('expected {"topic": "<service>.…", "body": {…}}')
    schema = payload.get("schema")
    return outbox.message(topic, body, schema if isinstance(schema, str) else None)


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], tokens: Mapping[str, str],
                 target: Target) -> None:
        super().__init__(address, Handler)
        self.tokens = dict(tokens)
        self.outboxes = {s: Outbox(s, target) for s in tokens}
        self.target = target


class Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    server_version = "fedbus-webhook"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def _answer(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(HTTPStatus.OK, {"status": "ok", "services": sorted(self.server.tokens)})
        else:
            self._answer(HTTPStatus.NOT_FOUND, {"error": "not found"})

    def do_POST(self) -> None:
        try:
            self._post()
        except Exception as exc:  # one line, never a traceback to the client
            log.error("webhook: %s", one_line(exc))
            self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": one_line(exc)})

    def _post(self) -> None:
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "hook" or parts[1] not in self.server.tokens:
            self._answer(HTTPStatus.NOT_FOUND, {"error": "unknown service"})
            return
        service = parts[1]
        auth = self.headers.get("Authorization", "")
        given = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not given or not hmac.compare_digest(given.encode(),
                                                self.server.tokens[service].encode()):
            log.warning("webhook: %s: bad or missing token from %s", service,
                        self.address_string())
            self._answer(HTTPStatus.UNAUTHORIZED, {"error": "bad or missing token"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
            return
        raw = self.rfile.read(length)
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            log.error("webhook: %s: body is not JSON: %s", service, exc)
            self._answer(HTTPStatus.BAD_REQUEST, {"error": f"body is not JSON: {exc}"})
            return
        try:
            enc = translate(service, payload, self.server.outboxes[service])
        except ValidationError as exc:
            status = (HTTPStatus.FORBIDDEN if "may not publish" in str(exc)
                      else HTTPStatus.BAD_REQUEST)
            log.error("webhook: %s: %s", service, exc)
            self._answer(status, {"error": str(exc)})
            return
        if publish_all(self.server.target, [enc]) != 1:
            self._answer(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "spool unavailable"})
            return
        self._answer(HTTPStatus.ACCEPTED, {"id": enc.properties.message_id,
                                           "topic": enc.routing_key})
