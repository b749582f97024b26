"""The OpenAPI 3.1 document of the REST API (served at ``/api/openapi.json``)."""

from __future__ import annotations

from typing import Any

from fedbus import __version__
from fedbus.notifier.models import DELIVERY_MODES, DESTINATION_KINDS, RULE_KINDS, SEVERITIES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    ok: int = 200,
    resp: dict[str, Any] | None = None,
    req: dict[str, Any] | None = None,
    params: list[str] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {
            str(ok): {"description": "OK", **(_json(resp) if resp else {})},
            "400": {"description": "Invalid value", **_json(_ref("Error"))},
            "401": {"description": "Not authenticated", **_json(_ref("Error"))},
            "404": {"description": "Not found (or someone else's)", **_json(_ref("Error"))},
        },
    }
    if req:
        op["requestBody"] = {"required": True, **_json(req)}
    if params:
        op["parameters"] = [
            {
                "name": p,
                "in": "path",
                "required": True,
                "schema": {"type": "string" if p == "package" else "integer"},
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
        "items": {"type": "integer"},
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
                "get": _op("My profile (paused, muted)", resp=_ref("Profile")),
                "patch": _op(
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
                "get": _op("My rules", resp=_array("Rule")),
                "post": _op("Add a rule", 201, _ref("Rule"), _ref("RuleInput")),
            },
            "/api/v1/rules/{rule_id}": {
                "get": _op("One rule", resp=_ref("Rule"), params=["rule_id"]),
                "patch": _op(
                    "Change a rule", resp=_ref("Rule"), req=_ref("RuleInput"), params=["rule_id"]
                ),
                "delete": _op("Delete a rule", 204, params=["rule_id"]),
            },
            "/api/v1/destinations": {
                "get": _op("My destinations", resp=_array("Destination")),
                "post": _op(
                    "Add a destination (a verification token is sent to it)",
                    201,
                    _ref("Destination"),
                    {
                        "type": "object",
                        "required": ["kind", "address"],
                        "additionalProperties": False,
                        "properties": {
                            "kind": {"type": "string", "enum": list(DESTINATION_KINDS)},
                            "address": {"type": "string"},
                            "delivery": {"type": "string", "enum": list(DELIVERY_MODES)},
                            "digest_cap": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                    },
                ),
            },
            "/api/v1/destinations/{dest_id}": {
                "patch": _op(
                    "Delivery: immediate or digest, cap",
                    resp=_ref("Destination"),
                    req={
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "delivery": {"type": "string", "enum": list(DELIVERY_MODES)},
                            "digest_cap": {"type": "integer"},
                        },
                    },
                    params=["dest_id"],
                ),
                "delete": _op("Delete a destination", 204, params=["dest_id"]),
            },
            "/api/v1/destinations/{dest_id}/verify": {
                "post": _op(
                    "Verify with the token sent to the address",
                    req={
                        "type": "object",
                        "required": ["token"],
                        "properties": {"token": {"type": "string"}},
                    },
                    params=["dest_id"],
                ),
            },
            "/api/v1/destinations/{dest_id}/token": {
                "post": _op("Send a new verification token", params=["dest_id"]),
            },
            "/api/v1/packages": {
                "get": _op("Packages I follow", resp=_array("Package")),
                "post": _op(
                    "Follow a package",
                    201,
                    _ref("Package"),
                    {
                        "type": "object",
                        "required": ["package"],
                        "properties": {
                            "package": {"type": "string"},
                            "relation": {"type": "string"},
                        },
                    },
                ),
            },
            "/api/v1/packages/{package}": {
                "delete": _op("Stop following a package", 204, params=["package"]),
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
                        "address": {"type": "string"},
                        "verified": {"type": "boolean"},
                        "delivery": {"type": "string", "enum": list(DELIVERY_MODES)},
                        "digest_cap": {"type": "integer"},
                    },
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
