#!/usr/bin/env python3
"""Generate docs/roles.md from every role's meta/argument_specs.yml.

    scripts/gen-role-docs.py            # rewrite docs/roles.md
    scripts/gen-role-docs.py --check    # exit 1 if docs/roles.md is stale

The argument specs are what Ansible validates before a role runs, so the page
cannot drift from what the roles accept.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "roles.md"


def _text(value: object) -> str:
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _cell(value: object) -> str:
    return _text(value).replace("|", "\\|").replace("\n", " ").strip()


def _default(option: dict) -> str:
    if "default" not in option:
        return "*required*" if option.get("required") else "(see defaults/main.yml)"
    value = option["default"]
    if option.get("no_log"):
        return "*secret*"
    return f"`{yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}`"


def render() -> str:
    lines = [
        "# Roles of the fedora.bus collection",
        "",
        "Generated from each role's `meta/argument_specs.yml` by `scripts/gen-role-docs.py`;",
        "Ansible validates these before the role runs. Defaults live in `defaults/main.yml`,",
        "which explains each one in place.",
        "",
    ]
    for spec_file in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
        role = spec_file.parent.parent.name
        spec = yaml.safe_load(spec_file.read_text())["argument_specs"]["main"]
        lines += [f"## `{role}`", "", _text(spec.get("short_description")), ""]
        lines += [_text(spec.get("description")), ""] if spec.get("description") else []
        if (spec_file.parent.parent / "README.md").is_file():
            lines += [f"Example play: [roles/{role}/README.md](../roles/{role}/README.md).", ""]
        lines += ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
        for name, option in sorted(spec.get("options", {}).items()):
            kind = option.get("type", "str")
            if kind == "list" and option.get("elements"):
                kind = f"list of {option['elements']}"
            if option.get("choices"):
                kind += " (" + ", ".join(str(c) for c in option["choices"]) + ")"
            lines.append(
                f"| `{name}` | {_cell(kind)} | {_cell(_default(option))} "
                f"| {_cell(option.get('description'))} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print("docs/roles.md is stale: run scripts/gen-role-docs.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
