"""The OpenAPI 3.1 document of the REST API (served at ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

from fedbus import __version__
from fedbus.notifier.models import (
    DELIVERY_MODES,
    DESTINATION_KINDS,
    PACKAGE_RELATIONS,
    RULE_KINDS,
    SEVERITIES,
)
from fedbus.notifier.validate import NICK_RE, PACKAGE_RE


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


#: the largest id (the database's ``integer``); a larger one names nothing: 404
MAX_ID = 2**31 - 1
ID: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
#: a link from a created object (its ``id``, or ``package``) to the operations on it
LINKS: dict[str, tuple[str, str, list[str]]] = {
    "addRule": ("rule_id", "$response.body#/id", ["getRule", "changeRule", "deleteRule"]),
    "addDestination": (
        "dest_id",
        "$response.body#/id",
        ["changeDestination", "verifyDestination", "newToken", "deleteDestination"],
    ),
    "followPackage": ("package", "$response.body#/package", ["unfollowPackage"]),
}


#: what the validation (``fedbus.notifier.validate``) accepts, as JSON Schema patterns
#: (its own where they are ones; no control characters, which it refuses separately)
PACKAGE = PACKAGE_RE.pattern
USER = r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$"
SERVICE = r"^[a-z0-9_-]+$"
EMAIL = r"^[^@\s<>,;\x00-\x1f\x7f]+@[^@\s<>,;\x00-\x1f\x7f]+\.[^@\s<>,;\x00-\x1f\x7f]+$"
NICK = NICK_RE.pattern
CHANNEL = r"^#[^\s,:\x00-\x1f\x7f]{1,49}$"


def _kind(kind: str, value: dict[str, Any], field: str = "address") -> dict[str, Any]:
    """One ``kind`` of a ``oneOf``: its ``field`` (required) as ``value`` says."""
    return {
        "required": [field],
        "properties": {"kind": {"const": kind}, field: {"type": "string", **value}},
    }


def _error(description: str) -> dict[str, Any]:
    return {"description": description, **_json(_ref("Error"))}


def _op(
    op_id: str,
    summary: str,
    ok: int = 200,
    resp: dict[str, Any] | None = None,
    req: dict[str, Any] | None = None,
    params: list[str] | None = None,
) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": "OK", **(_json(resp) if resp else {})}
    if op_id in LINKS:
        param, source, targets = LINKS[op_id]
        answer["links"] = {t: {"operationId": t, "parameters": {param: source}} for t in targets}
    retry = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
    op: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "responses": {
            str(ok): answer,
            "400": _error("Invalid value"),
            "401": _error("Not authenticated (or credentials that are wrong)"),
            "404": _error("Not found (or someone else's)"),
            "429": {
                **_error("Too many failed logins, or verification messages"),
                "headers": retry,
            },
        },
    }
    if req:
        op["requestBody"] = {"required": True, **_json(req)}
        op["responses"]["415"] = _error("The body is not application/json")
    if params:
        op["parameters"] = [
            {
                "name": p,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255}
                if p == "package"
                else ID,
            }
            for p in params
        ]
    return op


def _array(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


RULE_PROPS: dict[str, Any] = {
    "name": {"type": "string", "maxLength": 100},
    "kind": {
        "type": "string",
        "enum": list(RULE_KINDS),
        "description": "; ".join(f"{k}: {v}" for k, v in RULE_KINDS.items()),
    },
    "value": {"type": "string", "maxLength": 255},
    "enabled": {"type": "boolean"},
    "min_severity": {"type": ["string", "null"], "enum": [*SEVERITIES, None]},
    "exclude_mine": {"type": "boolean", "description": "drop events whose agent is me"},
    "exclude_topics": {"type": "array", "items": {"type": "string"}},
    "exclude_services": {"type": "array", "items": {"type": "string"}},
    "destination_ids": {
        "type": "array",
        "items": ID,
        "description": "empty: all of my verified destinations",
    },
}


def document(base_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "fedbus notification server",
            "version": __version__,
            "description": "Preferences of the authenticated user (and only theirs).",
        },
        "servers": [{"url": base_url}],
        "security": [{"proxy": []}, {"basic": []}],
        "paths": {
            "/api/v1/me": {
                "get": _op("getMe", "My profile (paused, muted)", resp=_ref("Profile")),
                "patch": _op(
                    "changeMe",
                    "Pause or mute",
                    resp=_ref("Profile"),
                    req={
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "paused": {"type": "boolean"},
                            "muted_until": {"type": ["string", "null"], "format": "date-time"},
                        },
                    },
                ),
            },
            "/api/v1/rules": {
                "get": _op("listRules", "My rules", resp=_array("Rule")),
                "post": _op("addRule", "Add a rule", 201, _ref("Rule"), _ref("NewRule")),
            },
            "/api/v1/rules/{rule_id}": {
                "get": _op("getRule", "One rule", resp=_ref("Rule"), params=["rule_id"]),
                "patch": _op(
                    "changeRule",
                    "Change a rule",
                    resp=_ref("Rule"),
                    req=_ref("RuleInput"),
                    params=["rule_id"],
                ),
                "delete": _op("deleteRule", "Delete a rule", 204, params=["rule_id"]),
            },
            "/api/v1/destinations": {
                "get": _op("listDestinations", "My destinations", resp=_array("Destination")),
                "post": _op(
                    "addDestination",
                    "Add a destination (a verification token is sent to it)",
                    201,
                    _ref("NewDestination"),
                    {
                        "type": "object",
                        "required": ["kind", "address"],
                        "additionalProperties": False,
                        "oneOf": [
                            _kind("email", {"pattern": EMAIL}),
                            _kind("irc", {"anyOf": [{"pattern": NICK}, {"pattern": CHANNEL}]}),
                        ],
                        "properties": {
                            "kind": {"type": "string", "enum": list(DESTINATION_KINDS)},
                            "address": {"type": "string", "maxLength": 254},
                            "delivery": {"type": "string", "enum": list(DELIVERY_MODES)},
                            "digest_cap": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                    },
                ),
            },
            "/api/v1/destinations/{dest_id}": {
                "patch": _op(
                    "changeDestination",
                    "Delivery: immediate or digest, cap",
                    resp=_ref("Destination"),
                    req={
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "delivery": {"type": "string", "enum": list(DELIVERY_MODES)},
                            "digest_cap": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                    },
                    params=["dest_id"],
                ),
                "delete": _op("deleteDestination", "Delete a destination", 204, params=["dest_id"]),
            },
            "/api/v1/destinations/{dest_id}/verify": {
                "post": _op(
                    "verifyDestination",
                    "Verify with the token sent to the address",
                    resp={
                        "type": "object",
                        "required": ["verified"],
                        "properties": {"verified": {"const": True}},
                    },
                    req={
                        "type": "object",
                        "required": ["token"],
                        "additionalProperties": False,
                        "properties": {"token": {"type": "string", "minLength": 1}},
                    },
                    params=["dest_id"],
                ),
            },
            "/api/v1/destinations/{dest_id}/token": {
                "post": _op(
                    "newToken",
                    "Send a new verification token",
                    resp=_ref("TokenSent"),
                    req={"type": "object", "additionalProperties": False},
                    params=["dest_id"],
                ),
            },
            "/api/v1/packages": {
                "get": _op("listPackages", "Packages I follow", resp=_array("Package")),
                "post": _op(
                    "followPackage",
                    "Follow a package",
                    201,
                    _ref("Package"),
                    {
                        "type": "object",
                        "required": ["package"],
                        "additionalProperties": False,
                        "properties": {
                            "package": {"type": "string", "pattern": PACKAGE},
                            "relation": {"type": "string", "enum": list(PACKAGE_RELATIONS)},
                        },
                    },
                ),
            },
            "/api/v1/packages/{package}": {
                "delete": _op(
                    "unfollowPackage", "Stop following a package", 204, params=["package"]
                ),
            },
        },
        "components": {
            "securitySchemes": {
                "proxy": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Remote-User",
                    "description": "set by the authenticating reverse proxy; "
                    "trusted only from its configured addresses",
                },
                "basic": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "local accounts (local, publictest)",
                },
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
                "Profile": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "paused": {"type": "boolean"},
                        "muted_until": {"type": ["string", "null"], "format": "date-time"},
                    },
                },
                "NewRule": {
                    "allOf": [_ref("RuleInput")],
                    "required": ["kind"],
                    "oneOf": [
                        _kind("package", {"pattern": PACKAGE}, "value"),
                        _kind("user", {"pattern": USER}, "value"),
                        _kind("service", {"pattern": SERVICE}, "value"),
                        _kind("topic", {"pattern": r"^\S+$"}, "value"),
                        {"properties": {"kind": {"enum": ["owned_packages", "my_events"]}}},
                    ],
                },
                "RuleInput": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": RULE_PROPS,
                },
                "Rule": {"type": "object", "properties": {"id": {"type": "integer"}, **RULE_PROPS}},
                "Destination": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "kind": {"type": "string", "enum": list(DESTINATION_KINDS)},
                        "address": {"type": "string", "maxLength": 254},
                        "verified": {"type": "boolean"},
                        "delivery": {"type": "string", "enum": list(DELIVERY_MODES)},
                        "digest_cap": {"type": "integer"},
                    },
                },
                "NewDestination": {
                    "allOf": [_ref("Destination")],
                    "required": ["token_sent"],
                    "properties": {"token_sent": {"type": "boolean"}},
                },
                "TokenSent": {
                    "type": "object",
                    "required": ["token_sent"],
                    "properties": {"token_sent": {"type": "boolean"}},
                },
                "Package": {
                    "type": "object",
                    "properties": {
                        "package": {"type": "string"},
                        "relation": {"type": "string"},
                        "source": {"type": "string"},
                    },
                },
            },
        },
    }
