"""A web app on a fresh SQLite file, local login on, proxies trusted from 10.0.0.0/24."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fedbus.notifier.migrate import upgrade
from fedbus.notifier.settings import sqlite_url
from fedbus.notifier.store import Store
from fedbus.notifier.web import create_app
from fedbus.notifier.web.settings import WebSettings, parse

PROXY = "10.0.0.5"
STRANGER = "192.0.2.66"
ADMIN_PW = "admin-password-123"


class Sent:
    """Tokens the app handed to its sender: (user, kind, address, token)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, str, str]] = []

    def __call__(self, user: str, dest: Any, token: str) -> None:
        self.items.append((user, dest.kind, dest.address, token))


@pytest.fixture
def settings() -> WebSettings:
    return parse({"secret_key": "s" * 32, "trusted_proxies": ["10.0.0.0/24"],
                  "local_login": True, "admin_password": ADMIN_PW})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = sqlite_url(tmp_path / "notifier.db")
    upgrade(url)  # the real migrations, as on the hosts
    s = Store.open(url)
    yield s
    s.engine.dispose()


@pytest.fixture
def sent() -> Sent:
    return Sent()


@pytest.fixture
def app(settings: WebSettings, store: Store, sent: Sent) -> Flask:
    return create_app(settings, store, send_token=sent, testing=True)


def proxied(app: Flask, user: str, addr: str = PROXY) -> FlaskClient:
    """A client whose requests come from ``addr`` naming ``user`` in X-Remote-User."""
    c = app.test_client()
    c.environ_base.update({"REMOTE_ADDR": addr, "HTTP_X_REMOTE_USER": user})
    return c


def csrf(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def login(app: Flask, user: str, password: str) -> FlaskClient:
    c = app.test_client()
    page = c.get("/login").get_data(as_text=True)
    r = c.post("/login", data={"username": user, "password": password,
                               "csrf_token": csrf(page)})
    assert r.status_code == 302, r.get_data(as_text=True)
    return c


def title_of(html: str) -> str:
    m = re.search(r"<title>(.*?)</title>", html, re.S)
    assert m, "no <title> in the page"
    return unescape(m.group(1)).strip()


@dataclass
class Cell:
    text: str = ""
    links: list[str] = field(default_factory=list)


class _Table(HTMLParser):
    """The rows of the table ``id`` of a page: each a list of cells (text and hrefs)."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.depth = table_id, 0
        self.rows: list[list[Cell]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and (self.depth or a.get("id") == self.table_id):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th") and self.rows:
            self.rows[-1].append(Cell())
        elif self.depth and tag == "a" and self.rows and self.rows[-1]:
            self.rows[-1][-1].links.append(a.get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth and self.rows and self.rows[-1]:
            cell = self.rows[-1][-1]
            cell.text = " ".join(f"{cell.text} {data}".split())


def table_rows(html: str, table_id: str) -> list[list[Cell]]:
    """The body rows (the header row left out) of the table ``table_id``."""
    parser = _Table(table_id)
    parser.feed(html)
    return parser.rows[1:]
