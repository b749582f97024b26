"""The webhook endpoint: applications that can only POST JSON publish through it.

``POST /hook/<service>`` with ``Authorization: Bearer <token>`` (one token per service,
from ``vault_webhook_tokens``) and a JSON object::

    {"topic": "bodhi.update.comment", "body": {...}, "schema": "bodhi.update.comment.v1"}

(``schema`` optional; when given it must be a schema registered for that topic, see
:func:`fedbus.wedges.hooks.schema_for`).  The service may only publish its own topics
(``<service>.…``).  Bugzilla posts its native webhook JSON to ``/hook/bugzilla`` (see
:mod:`fedbus.wedges.bugzilla`; what is not public, or of a product not published, is
answered 200 ``{"dropped": …}`` and not spooled).  The body is strict JSON
(:func:`fedbus.message.envelope.loads_json`).

Answers: 202 and the message id (spooled for the relay; the broker may be down), 400 bad
JSON / schema / ``Content-Length`` / HTTP version (one-line reason), 401 bad or missing
token, 403 foreign topic, 404 unknown service, 408 request not complete within
``request_timeout`` seconds, 411 no ``Content-Length`` (chunked bodies are refused), 413
body over :data:`MAX_BODY` (refused before it is read), 503 more than ``max_connections``
connections at once.  ``GET /health`` answers ``{"status": "ok"}`` and nothing else.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import re
import socket
import threading
import time
import tomllib
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fedbus.errors import ConfigError, ValidationError
from fedbus.message.envelope import Encoded, loads_json
from fedbus.wedges.base import Sink, one_line, publish_all
from fedbus.wedges.bugzilla import Dropped, Policy
from fedbus.wedges.hooks import Outbox
from fedbus.wedges.metrics import COLLECTOR, WebhookStats

log = logging.getLogger("fedbus.wedges.webhook")
MAX_BODY = 4 << 20
REQUEST_TIMEOUT = 10.0  # seconds for a whole request: line, headers and body
MAX_CONNECTIONS = 64  # connections served at once; more are answered 503
_DIGITS = re.compile(r"[0-9]{1,19}")


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


def translate(service: str, payload: Any, outbox: Outbox,
              bugzilla: Policy | None = None) -> Encoded:
    """The message a service's payload stands for; ValidationError when it is wrong,
    :class:`~fedbus.wedges.bugzilla.Dropped` when Bugzilla's event is not for the bus."""
    if not isinstance(payload, dict):
        raise ValidationError("the body must be a JSON object")
    if service == "bugzilla" and "event" in payload:
        from fedbus.wedges.bugzilla import from_webhook

        suffix, bz_body, schema_name = from_webhook(payload, bugzilla)
        return outbox.message(suffix, bz_body, schema_name)
    topic, body = payload.get("topic"), payload.get("body")
    if not isinstance(topic, str) or not isinstance(body, dict):
        raise ValidationError('expected {"topic": "<service>.…", "body": {…}}')
    schema = payload.get("schema")
    if schema is not None and not isinstance(schema, str):
        raise ValidationError("schema: expected a schema name")
    return outbox.message(topic, body, schema)


class WebhookServer(ThreadingHTTPServer):
    """The endpoint.  ``request_timeout``: seconds a connection may take to send its whole
    request (a slow or stalled client is cut off, 408); ``max_connections``: connections
    served at once (one thread each; the next ones get 503 at once)."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], tokens: Mapping[str, str],
                 target: Sink, *, bugzilla: Policy | None = None,
                 request_timeout: float = REQUEST_TIMEOUT,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        if not request_timeout > 0:
            raise ConfigError(f"request_timeout {request_timeout!r}: expected seconds > 0")
        if max_connections < 1:
            raise ConfigError(f"max_connections {max_connections!r}: expected at least 1")
        super().__init__(address, Handler)
        self.tokens = dict(tokens)
        self.outboxes = {s: Outbox(s, target) for s in tokens}
        self.target = target
        self.bugzilla = bugzilla or Policy()
        self.request_timeout = request_timeout
        self.max_connections = max_connections
        self._slots = threading.BoundedSemaphore(max_connections)
        self._deadlines: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self.stats = WebhookStats()  # fedbus.wedges.metrics
        COLLECTOR.track_webhook(self.stats)
        self._reaper = threading.Thread(target=self._reap, name="webhook-reaper", daemon=True)
        self._reaper.start()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("webhook: more than %d connections: %s refused",
                        self.max_connections, client_address[0])
            self.stats.count("refused", "busy")
            _refuse(request)
            self.shutdown_request(request)
            return
        with self._lock:
            self._deadlines[request] = time.monotonic() + self.request_timeout
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._done(request)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._done(request)

    def _done(self, request: Any) -> None:
        with self._lock:
            if self._deadlines.pop(request, None) is None:
                return
        self._slots.release()

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def deadline_passed(self, request: Any) -> bool:
        with self._lock:
            return self._deadlines.get(request) == float("inf")

    def _reap(self) -> None:
        """Cut off the connections past their deadline: the blocked read then fails and
        the handler's thread ends."""
        while not self._closed.wait(min(1.0, self.request_timeout / 4)):
            now = time.monotonic()
            with self._lock:
                late = [s for s, t in self._deadlines.items() if t < now]
                for sock in late:
                    self._deadlines[sock] = float("inf")  # once
            for sock in late:
                log.warning("webhook: request not complete in %.0f s: connection cut",
                            self.request_timeout)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RD)


def _refuse(request: socket.socket) -> None:
    data = json.dumps({"error": "too many connections"}).encode()
    try:
        request.settimeout(1.0)
        request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json"
                        b"\r\nConnection: close\r\nContent-Length: "
                        + str(len(data)).encode() + b"\r\n\r\n" + data)
    except OSError:
        pass


class Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    server_version = "fedbus-webhook"
    # Answers always have a status line, even to a request line without a version.
    default_request_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Every answer goes through here (``send_response``): count it."""
        if isinstance(code, int):
            route, hook = self._route()
            self.server.stats.answered(route, int(code), hook=hook)
        super().log_request(code, size)

    def _route(self) -> tuple[str, bool]:
        """The metrics' ``route`` (few values, whatever the path), and whether it is a
        hook."""
        path = getattr(self, "path", "")
        if path == "/health":
            return path, False
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "hook" and parts[1] in self.server.tokens:
            return f"/hook/{parts[1]}", True
        return "other", path.startswith("/hook")

    def _answer(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def setup(self) -> None:
        super().setup()
        # each read; the reaper bounds the sum
        self.connection.settimeout(self.server.request_timeout)

    def parse_request(self) -> bool:
        ok = super().parse_request()
        if ok and self.request_version not in ("HTTP/1.0", "HTTP/1.1"):
            self.request_version = "HTTP/1.0"  # so that the answer has a status line
            self.close_connection = True
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/1.0 or HTTP/1.1 only")
            return False
        return ok

    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(HTTPStatus.OK, {"status": "ok"})
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
        raw = self._body(service)
        if raw is None:
            return
        try:
            payload = loads_json(raw)
            enc = translate(service, payload, self.server.outboxes[service],
                            self.server.bugzilla)
        except Dropped as exc:
            log.info("webhook: %s: dropped: %s", service, exc)
            self.server.stats.count("dropped", service)
            self._answer(HTTPStatus.OK, {"dropped": str(exc)})
            return
        except ValidationError as exc:
            status = (HTTPStatus.FORBIDDEN if "may not publish" in str(exc)
                      else HTTPStatus.BAD_REQUEST)
            log.error("webhook: %s: %s", service, exc)
            self._answer(status, {"error": str(exc)})
            return
        if publish_all(self.server.target, [enc]) != 1:
            self._answer(HTTPStatus.SERVICE_UNAVAILABLE, {"error": "spool unavailable"})
            return
        self.server.stats.count("published", service)
        self._answer(HTTPStatus.ACCEPTED, {"id": enc.properties.message_id,
                                           "topic": enc.routing_key})

    def _refuse(self, status: HTTPStatus, service: str, error: str) -> None:
        log.error("webhook: %s: %s", service, error)
        self.close_connection = True  # what is left of the request is not read
        self._answer(status, {"error": error})

    def _body(self, service: str) -> bytes | None:
        """The request body, or None once the refusal is sent: the length must be one
        plain decimal ``Content-Length`` within :data:`MAX_BODY` (checked before reading)."""
        if self.headers.get("Transfer-Encoding") is not None:
            self._refuse(HTTPStatus.LENGTH_REQUIRED, service,
                         "Transfer-Encoding is not accepted: send a Content-Length")
            return None
        values = self.headers.get_all("Content-Length") or []
        if not values:
            self._refuse(HTTPStatus.LENGTH_REQUIRED, service, "Content-Length required")
            return None
        text = values[0].strip()
        if len(set(values)) != 1 or not _DIGITS.fullmatch(text):
            self._refuse(HTTPStatus.BAD_REQUEST, service,
                         f"Content-Length {', '.join(values)[:40]!r}: expected one number")
            return None
        length = int(text)
        if length > MAX_BODY:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, service,
                         f"body too large ({length} bytes; at most {MAX_BODY})")
            return None
        try:
            raw = self.rfile.read(length)
        except OSError:  # timed out, or cut off by the reaper
            self._refuse(HTTPStatus.REQUEST_TIMEOUT, service,
                         f"request not complete within {self.server.request_timeout:g} s")
            return None
        if len(raw) != length:
            status = (HTTPStatus.REQUEST_TIMEOUT if self.server.deadline_passed(self.request)
                      else HTTPStatus.BAD_REQUEST)
            self._refuse(status, service,
                         f"body ended after {len(raw)} of {length} bytes")
            return None
        return raw
