"""The REST API (``/api/v1``), JSON only; its OpenAPI document is ``/api/openapi.json``.

Authentication: the trusted proxy header (from a configured proxy address only) or, where
the local login is on, HTTP Basic with a local account.  Session cookies are NOT accepted
here, and every write must be ``application/json`` (a cross-site form cannot send that
without a CORS preflight, which this API never grants): no CSRF token is needed.
Every call works on the authenticated user's own preferences; an id of someone else's
rule or destination answers 404, exactly as one that does not exist.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Blueprint, Response, current_app, g, jsonify, request

from fedbus.notifier.render import one_line
from fedbus.notifier.store import NotFound, Store, UserStore
from fedbus.notifier.validate import InvalidPreference, check_address, text_ok
from fedbus.notifier.web import auth, throttle
from fedbus.notifier.web.openapi import MAX_ID, document

bp = Blueprint("api", __name__, url_prefix="/api")
F = TypeVar("F", bound=Callable[..., Any])
NoneType = type(None)
#: every body's fields and their JSON types (``list[...]``: an array of that): anything
#: else is a 400 before the store sees it (a list where a name goes, a string for an id)
Fields = dict[str, tuple[Any, ...]]
RULE_FIELDS: Fields = {
    "kind": (str,),
    "value": (str,),
    "name": (str,),
    "enabled": (bool,),
    "min_severity": (str, NoneType),
    "exclude_mine": (bool,),
    "exclude_topics": (list[str],),
    "exclude_services": (list[str],),
    "destination_ids": (list[int],),
}


def error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def api_auth(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            user = auth.api_user()
        except auth.Limited as exc:
            resp, status = error(429, "too many failed logins, retry later")
            resp.headers["Retry-After"] = str(exc.retry_after)
            return resp, status
        if user is None:
            resp, status = error(401, "authentication required")
            if auth.settings().local_login:
                resp.headers["WWW-Authenticate"] = 'Basic realm="fedbus notifier"'
            return resp, status
        if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
            return error(415, "send the body as application/json")
        g.user = user
        # an id beyond the database's integer names nothing: 404 before a query overflows
        # (a 500 on PostgreSQL); not int(max=...) in the route, werkzeug then answers 405
        ids = [v for k, v in kwargs.items() if k.endswith("_id")]
        if any(not 1 <= v <= MAX_ID for v in ids):
            return error(404, f"no such id {ids[0]}" if len(ids) == 1 else "no such id")
        try:
            return view(*args, **kwargs)
        except NotFound as exc:
            return error(404, str(exc))
        except InvalidPreference as exc:
            return error(400, str(exc))
        except throttle.TooMany as exc:
            resp, status = error(429, str(exc))
            resp.headers["Retry-After"] = str(exc.retry_after)
            return resp, status

    return cast(F, wrapper)


def me() -> UserStore:
    return cast(Store, current_app.config["FEDBUS_STORE"]).user(g.user)


#: the longest text of a field (the database's column); any other text: 255
MAX_LENGTH = {"name": 100, "value": 255, "address": 254, "package": 255}


def _is(value: Any, kind: Any) -> bool:
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
    if kind == list[str]:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == list[int]:
        return isinstance(value, list) and all(_is(v, int) for v in value)
    return isinstance(value, kind)


def body(fields: Fields) -> dict[str, Any]:
    """The JSON object sent, with only ``fields``, each of its type (else a 400)."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidPreference("the body must be a JSON object")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InvalidPreference(f"unknown field(s): {', '.join(unknown)}")
    for name, value in data.items():
        texts = value if isinstance(value, list) else [value]
        limit = MAX_LENGTH.get(name, 255)
        if not all(text_ok(t, limit) for t in texts if isinstance(t, str)):
            raise InvalidPreference(f"{name}: at most {limit} characters, no NUL, valid Unicode")
        if not any(_is(value, kind) for kind in fields[name]):
            raise InvalidPreference(
                f"{name}: {one_line(repr(value), 80)} is not {_want(name, fields)}"
            )
    return data


def _want(name: str, fields: Fields) -> str:
    words = {str: "a string", bool: "true or false", NoneType: "null", int: "an integer",
             list[str]: "a list of strings", list[int]: "a list of ids"}  # fmt: skip
    return " or ".join(words[k] for k in fields[name])


def out(view: Any) -> dict[str, Any]:
    data = dataclasses.asdict(view)
    for k, v in data.items():
        if isinstance(v, dt.datetime):
            data[k] = v.replace(tzinfo=dt.UTC).isoformat()
        elif isinstance(v, tuple):
            data[k] = list(v)
    return data


@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(document(auth.settings().base_url))


@bp.get("/v1/me")
@api_auth
def get_me() -> Any:
    return jsonify(out(me().profile()))


@bp.patch("/v1/me")
@api_auth
def patch_me() -> Any:
    data, user = body({"paused": (bool,), "muted_until": (str, NoneType)}), me()
    until = _utc(data.get("muted_until"))  # checked before anything changes
    if "paused" in data:
        user.set_paused(data["paused"])
    if "muted_until" in data:
        user.mute_until(until)
    return jsonify(out(user.profile()))


def _utc(until: str | None) -> dt.datetime | None:
    """An ISO 8601 time as UTC (naive: already UTC); within years 1 to 9999 in UTC."""
    try:
        when = dt.datetime.fromisoformat(until) if until else None
        return when.astimezone(dt.UTC) if when and when.tzinfo else when
    except (ValueError, OverflowError) as exc:
        raise InvalidPreference(f"muted_until {until!r}: an ISO 8601 time or null") from exc


@bp.get("/v1/rules")
@api_auth
def list_rules() -> Any:
    return jsonify([out(r) for r in me().list_rules()])


@bp.post("/v1/rules")
@api_auth
def add_rule() -> Any:
    data = body(RULE_FIELDS)
    if "kind" not in data:
        raise InvalidPreference("kind is required")
    rule = me().add_rule(data.pop("kind"), data.pop("value", ""), **data)
    return jsonify(out(rule)), 201


@bp.get("/v1/rules/<int:rule_id>")
@api_auth
def get_rule(rule_id: int) -> Any:
    return jsonify(out(me().get_rule(rule_id)))


@bp.patch("/v1/rules/<int:rule_id>")
@api_auth
def patch_rule(rule_id: int) -> Any:
    return jsonify(out(me().update_rule(rule_id, **body(RULE_FIELDS))))


@bp.delete("/v1/rules/<int:rule_id>")
@api_auth
def delete_rule(rule_id: int) -> Any:
    me().delete_rule(rule_id)
    return "", 204


@bp.get("/v1/destinations")
@api_auth
def list_destinations() -> Any:
    return jsonify([out(d) for d in me().list_destinations()])


@bp.post("/v1/destinations")
@api_auth
def add_destination() -> Any:
    data = body({"kind": (str,), "address": (str,), "delivery": (str,), "digest_cap": (int,)})
    kind = data.get("kind", "")
    # validated before anything queries with it (a NUL is a 500 on PostgreSQL)
    address = check_address(kind, data.get("address", ""))
    throttle.check(g.user, kind, address)
    dest, token = me().add_destination(
        kind,
        address,
        delivery=data.get("delivery", "immediate"),
        digest_cap=data.get("digest_cap", 50),
    )
    sent = _send(dest, token)
    return jsonify({**out(dest), "token_sent": sent}), 201


def _send(dest: Any, token: str) -> bool:
    throttle.sent(g.user, dest.kind, dest.address)
    try:
        current_app.config["FEDBUS_SEND_TOKEN"](g.user, dest, token)
    except Exception as exc:
        current_app.logger.warning("could not send the token to %s: %s", dest.address, exc)
        return False
    return True


@bp.patch("/v1/destinations/<int:dest_id>")
@api_auth
def patch_destination(dest_id: int) -> Any:
    data = body({"delivery": (str,), "digest_cap": (int,)})
    user = me()
    current = next((d for d in user.list_destinations() if d.id == dest_id), None)
    if current is None:
        raise NotFound(f"no destination {dest_id}")
    dest = user.set_delivery(
        dest_id, data.get("delivery", current.delivery), digest_cap=data.get("digest_cap")
    )
    return jsonify(out(dest))


@bp.post("/v1/destinations/<int:dest_id>/verify")
@api_auth
def verify_destination(dest_id: int) -> Any:
    token = body({"token": (str,)}).get("token")
    if not isinstance(token, str) or not token:
        raise InvalidPreference("token is required")
    if not me().verify_destination(dest_id, token):
        return error(400, "that token is wrong or expired")
    return jsonify({"verified": True})


@bp.post("/v1/destinations/<int:dest_id>/token")
@api_auth
def new_token(dest_id: int) -> Any:
    body({})
    user = me()
    dest = next((d for d in user.list_destinations() if d.id == dest_id), None)
    if dest is None:
        raise NotFound(f"no destination {dest_id}")
    throttle.check(g.user, dest.kind, dest.address)
    token = user.new_token(dest_id)
    return jsonify({"token_sent": _send(dest, token)})


@bp.delete("/v1/destinations/<int:dest_id>")
@api_auth
def delete_destination(dest_id: int) -> Any:
    me().delete_destination(dest_id)
    return "", 204


@bp.get("/v1/packages")
@api_auth
def list_packages() -> Any:
    return jsonify([out(p) for p in me().list_packages()])


@bp.post("/v1/packages")
@api_auth
def add_package() -> Any:
    data = body({"package": (str,), "relation": (str,)})
    package = me().add_package(data.get("package", ""), data.get("relation", "watcher"))
    return jsonify(out(package)), 201


@bp.delete("/v1/packages/<path:package>")
@api_auth
def remove_package(package: str) -> Any:
    if not text_ok(package, MAX_LENGTH["package"]):
        raise NotFound(f"you do not follow package {package!r}")
    me().remove_package(package)
    return "", 204
