#!/usr/bin/python3
"""Stand-ins for the APIs the `local` environment's wedges poll (playbooks/local_stand_ins.yml).

  stand_in_api.py ontap    CONFIG   # NetApp ONTAP REST: GET /api/snapmirror/relationships
  stand_in_api.py bugzilla CONFIG   # Bugzilla 5 REST as python-bugzilla calls it

CONFIG (JSON) holds ``listen`` ("HOST:PORT"), ``access_log`` (path) and, for ``ontap``:
``tls_cert`` / ``tls_key`` (HTTPS), ``users`` (user -> password, HTTP basic auth) and
``records`` (the relationships, ONTAP's record shape); for ``bugzilla``: ``api_key`` (""
= anonymous only), ``version`` and ``bugs`` (``/rest/bug`` records, each with its
``comments``).  Answers in the real APIs' shapes, errors included.  Every request is one
line of the access log: ``<unix time> <client address> <method> <path> <status>``
(path without its query: it may carry an API key).  Standard library only.
"""

from __future__ import annotations

import base64
import hmac
import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse


class Handler(BaseHTTPRequestHandler):
    config: ClassVar[dict[str, Any]] = {}
    server_version = "fedbus-stand-in"

    def log_message(self, format: str, *args: Any) -> None:  # the access log only
        pass

    def _send(self, status: int, body: dict[str, Any],
              content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        line = (f"{time.time():.3f} {self.client_address[0]} {self.command} "
                f"{urlparse(self.path).path} {status}\n")
        with open(self.config["access_log"], "a", encoding="utf-8") as log:
            log.write(line)


class Ontap(Handler):
    """ONTAP 9 REST: HAL+JSON, basic auth, one page of records."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        kind = "application/hal+json"
        if not self._authorized():
            return self._send(401, {"error": {"message": "not authorized for that account",
                                              "code": "6"}}, kind)
        if url.path != "/api/snapmirror/relationships":
            return self._send(404, {"error": {"message": "API not found", "code": "3"}}, kind)
        records = self.config["records"]
        return self._send(200, {"records": records, "num_records": len(records),
                                "_links": {"self": {"href": self.path}}}, kind)

    def _authorized(self) -> bool:
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme != "Basic":
            return False
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        want = self.config["users"].get(user)
        return want is not None and hmac.compare_digest(password.encode(), want.encode())


class Bugzilla(Handler):
    """Bugzilla 5 REST (/rest/version, /rest/bug, /rest/bug/<id>/comment)."""

    def do_GET(self) -> None:
        url = urlparse(self.path)
        query = parse_qs(url.query)
        given = (query.get("Bugzilla_api_key") or [""])[0] or self.headers.get(
            "X-BUGZILLA-API-KEY", "")
        if given and not hmac.compare_digest(given.encode(),
                                             self.config["api_key"].encode()):
            return self._send(400, {"error": True, "code": 306, "documentation":
                                    "https://bugzilla.readthedocs.org/en/5.0/api/",
                                    "message": "The API key you specified is invalid."})
        parts = url.path.strip("/").split("/")
        if parts == ["rest", "version"]:
            return self._send(200, {"version": self.config["version"]})
        if parts == ["rest", "bug"]:
            return self._send(200, {"bugs": self._search(query), "faults": []})
        if len(parts) == 4 and parts[:2] == ["rest", "bug"] and parts[3] == "comment":
            bug = next((b for b in self.config["bugs"] if str(b["id"]) == parts[2]), None)
            if bug is None:
                return self._send(404, {"error": True, "code": 101, "message":
                                        f"Bug #{parts[2]} does not exist."})
            return self._send(200, {"bugs": {parts[2]: {"comments": bug["comments"]}},
                                    "comments": {}})
        return self._send(404, {"error": True, "code": 32614,
                                "message": "A REST API resource was not found for "
                                           f"'GET {url.path.removeprefix('/rest')}'."})

    def _search(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        products = query.get("product")
        since = (query.get("last_change_time") or [""])[0]
        return [{k: v for k, v in b.items() if k != "comments"} for b in self.config["bugs"]
                if (not products or b["product"] in products)
                and b["last_change_time"] >= since]  # both ISO 8601 UTC, "…Z"


def main(kind: str, path: str) -> None:
    with open(path, encoding="utf-8") as f:
        config = json.load(f)
    handler = {"ontap": Ontap, "bugzilla": Bugzilla}[kind]
    handler.config = config
    host, _, port = config["listen"].rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), handler)
    server.daemon_threads = True
    if config.get("tls_cert"):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(config["tls_cert"], config["tls_key"])
        # the handshake in the request's thread: a client that never speaks TLS
        # holds only its own thread
        server.socket = ctx.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
    print(f"{kind} stand-in on {config['listen']}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
