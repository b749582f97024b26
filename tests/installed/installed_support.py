"""What the installed tests share: where the fresh virtualenv is, the check that fedbus
comes from it, the served notifier, and an HTTP client for its web UI (cookies, CSRF, no
redirects followed) with a form reader.  Standard library only: the fresh virtualenv
holds fedbus's pins and pytest alone."""

from __future__ import annotations

import base64
import http.cookiejar
import importlib.metadata
import json
import os
import socket
import sys
import sysconfig
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

VENV = Path(os.environ.get("FEDBUS_INSTALLED_VENV", "/nonexistent"))
BIN = VENV / "bin"
ADMIN_PASSWORD = "admin-password-installed"
ALICE_PASSWORD = "alice-password-installed"


def installed_copy_problem() -> str | None:
    """Why ``fedbus`` here is not the copy the wheel installed; ``None`` when it is."""
    if "FEDBUS_INSTALLED_VENV" not in os.environ:
        return "run these tests through tests/installed/harness.py (scripts/test.sh installed)"
    venv = VENV.resolve()
    if Path(sys.prefix).resolve() != venv:
        return f"the python running the tests is {sys.prefix}, not the fresh virtualenv {venv}"
    import fedbus

    where = Path(fedbus.__file__).resolve()
    purelib = Path(sysconfig.get_paths()["purelib"]).resolve()
    if not where.is_relative_to(purelib):
        return f"fedbus is imported from {where}, not from {purelib}"
    source = os.environ.get("FEDBUS_SOURCE_TREE")
    if source and where.is_relative_to(Path(source).resolve() / "src"):
        return f"fedbus is imported from the source tree: {where}"
    direct_url = importlib.metadata.distribution("fedbus").read_text("direct_url.json")
    if direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"):
        return "fedbus is an editable install"
    return None


def free_port() -> int:
    # tests/support.notifier_servers.free_port's twin: this layer runs from a copy of
    # tests/installed alone, with nothing of the source tree importable.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Fields(HTMLParser):
    """The form fields of a page: name → values, as a browser would submit them (checked
    boxes, selected options, textarea text), and every field name seen."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, list[str]] = {}
        self.names: set[str] = set()
        self._select: str | None = None
        self._textarea: str | None = None
        self.feed(html)
        self.close()

    def _add(self, name: str, value: str) -> None:
        self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name:
            self.names.add(name)
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self._add(name, a.get("value", "on" if a.get("type") == "checkbox" else ""))
        elif tag == "select" and name:
            self.names.add(name)
            self._select = name
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea" and name:
            self.names.add(name)
            self._textarea = name
            self._add(name, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea][-1] += data

    def one(self, name: str) -> str | None:
        values = self.values.get(name, [])
        return values[0] if values else None


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    text: str
    url: str

    @property
    def location(self) -> str:
        """The redirect's target as a path (``/login?next=…``)."""
        loc = urllib.parse.urlsplit(self.headers.get("location", ""))
        return loc.path + (f"?{loc.query}" if loc.query else "")

    @property
    def fields(self) -> Fields:
        return Fields(self.text)

    def json(self) -> Any:
        return json.loads(self.text)

    def describe(self) -> str:
        return f"{self.status} {self.url}\n{self.text[:3000]}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer to look at, not to follow


@dataclass
class Client:
    """One browser: its own cookie jar; ``headers`` go with every request."""

    base: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirects()
        )

    def request(self, method: str, path: str, data: bytes | None = None,
                headers: dict[str, str] | None = None) -> Page:  # fmt: skip
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={**self.headers, **(headers or {})})  # fmt: skip
        try:
            with self.opener.open(req, timeout=30) as resp:
                return Page(resp.status, _lower(resp.headers), resp.read().decode(), path)
        except urllib.error.HTTPError as exc:
            return Page(exc.code, _lower(exc.headers), exc.read().decode(), path)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Page:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: Mapping[str, str | list[str]]) -> Page:
        body = urllib.parse.urlencode(form, doseq=True).encode()
        return self.request("POST", path, body,
                            {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    def submit(self, path: str, form: Mapping[str, str | list[str]]) -> Page:
        """GET the page at ``path``, then POST ``form`` to it with the page's CSRF token."""
        page = self.get(path)
        assert page.status == 200, page.describe()
        token = page.fields.one("csrf_token")
        assert token, f"no csrf_token field in {path}"
        return self.post(path, {**form, "csrf_token": token})

    def api(self, method: str, path: str, user: str, password: str,
            body: Any = None) -> Page:  # fmt: skip
        """The REST API with HTTP Basic (a local account), as scripts use it."""
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers = {"Authorization": f"Basic {auth}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        return self.request(method, path, data, headers)


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


@dataclass
class Notifier:
    """The notifier's files and its web UI, served by ``fedbus … notifier … web``."""

    base: str
    fedbus: list[str]  # the command line of roles/notifier's units, up to the subcommand
    env: dict[str, str]
    log: Path
    database_url: str

    def client(self, **headers: str) -> Client:
        return Client(self.base, dict(headers))

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]
