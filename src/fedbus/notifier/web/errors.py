"""Error answers: pages of the site for the pages, ``{"error": …}`` for the API.

- Every HTTP error (400 — a form without its CSRF token —, 401, 403, 404, 405, …) and every
  failure (500) is answered by :func:`answer`: under ``/api/`` the API's JSON error (as
  :func:`fedbus.notifier.web.api.error` writes it), elsewhere ``error.html`` (the site's
  layout, a title, a short explanation, a link home).  Never a traceback.
- A failure is logged by :meth:`App.log_exception`, which Flask calls once per unhandled
  exception: ONE line at ERROR with the request and the cause (exception type and message),
  the traceback only at DEBUG.  Flask's own logging would write the whole traceback at ERROR.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from fedbus.notifier.render import one_line
from fedbus.notifier.web.api import error
from fedbus.notifier.web.views import render

log = logging.getLogger(__name__)
API_PREFIX = "/api"
#: code → (title, explanation) of the error page; other codes show werkzeug's own text.
PAGES: dict[int, tuple[str, str]] = {
    400: ("Bad request", "The request could not be understood. If you were sending a form, "
                         "it may have expired: reload the page and try again."),
    401: ("Not logged in", "This page is only for logged-in users: log in and try again."),
    403: ("Forbidden", "Your account may not use this page."),
    404: ("Page not found", "There is nothing here: the address is wrong, or what it showed "
                            "does not exist (any more)."),
    405: ("Method not allowed", "This page cannot be used that way."),
    500: ("Something went wrong", "The server failed to answer this request. The failure "
                                  "has been logged; please try again later."),
}  # fmt: skip

ExcInfo = tuple[type, BaseException, TracebackType] | tuple[None, None, None]


class App(Flask):
    """The notifier's Flask application: one log line per failure (see the module)."""

    def log_exception(self, exc_info: ExcInfo) -> None:
        exc = exc_info[1]
        cause = f"{type(exc).__name__}: {one_line(str(exc), 500)}" if exc else "unknown"
        log.error("%s %s failed: %s", request.method, one_line(request.path, 300), cause)
        log.debug("the traceback of that failure:", exc_info=exc_info)


def is_api() -> bool:
    return request.path == API_PREFIX or request.path.startswith(f"{API_PREFIX}/")


def answer(exc: HTTPException) -> Any:
    """The answer to ``exc``, with its own headers (``Allow`` of a 405, …)."""
    code = exc.code or 500
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if is_api():
        body, _ = error(code, (exc.name or "error").lower())
        return body, code, headers
    heading, text = PAGES.get(code, (exc.name, exc.description or ""))
    return render("error.html", code=code, heading=heading, text=text), code, headers


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, answer)
