"""The on-call runbooks (docs/runbooks/) name only things that exist.

- every component has its page, and the index links every page;
- every alert the ``bus_alert_rules`` filter generates is named in a runbook;
- every ``fedbus …`` / ``fedbus-wedge …`` command they quote uses subcommands, actions and
  options of the real parser (``fedbus.cli.main.build_parser``);
- every systemd unit they name (``systemctl …``, ``journalctl -u …``, ``*.service``,
  ``*.target``) is a unit template of roles/, or a unit of a package a role installs.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml

from fedbus.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[3]
RUNBOOKS = ROOT / "docs" / "runbooks"
PAGES = sorted(RUNBOOKS.glob("*.md"))
COMPONENTS = ("broker", "relay", "wedges", "notifier", "mirror", "bridge")

_spec = importlib.util.spec_from_file_location("bus_alerts", ROOT / "plugins/filter/bus_alerts.py")
assert _spec and _spec.loader
bus_alerts = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bus_alerts)

FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.S)
SPAN = re.compile(r"`([^`]+)`")
PROMPT = re.compile(r"^[$#] (.+)$", re.M)


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _commands(page: Path) -> list[str]:
    """The command lines of a page: prompted lines of its code blocks, and inline code."""
    text = _text(page)
    lines = [m for block in FENCE.findall(text) for m in PROMPT.findall(block)]
    prose = FENCE.sub("", text)
    lines += [" ".join(span.split()) for span in SPAN.findall(prose)]
    return lines


def _argvs(page: Path) -> list[list[str]]:
    """Each simple command of the page's command lines (split at pipes and ``;``),
    without a leading ``runuser -u USER --``."""
    out = []
    for line in _commands(page):
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        argv: list[str] = []
        for word in [*words, "|"]:
            if word in ("|", ";", "&&", "||"):
                if argv[:2] == ["runuser", "-u"] and "--" in argv:
                    argv = argv[argv.index("--") + 1:]
                if argv:
                    out.append(argv)
                argv = []
            else:
                argv.append(word)
    return out


def test_every_component_has_a_page() -> None:
    missing = [c for c in COMPONENTS if not (RUNBOOKS / f"{c}.md").is_file()]
    assert missing == []


def test_the_index_links_every_page() -> None:
    index = _text(RUNBOOKS / "README.md")
    linked = set(re.findall(r"\]\(([\w.-]+\.md)(?:#[\w-]*)?\)", index))
    assert {p.name for p in PAGES} - {"README.md"} - linked == set()


def _alert_names() -> set[str]:
    table = yaml.safe_load((ROOT / "inventories/common/bus.yml").read_text())
    rules = bus_alerts.bus_alert_rules(table["fedbus_accounts"], "prod")
    return {r["alert"] for group in rules["groups"] for r in group["rules"]}


def test_every_alert_has_a_runbook() -> None:
    names = _alert_names()
    assert "FedbusRelaySetAside" in names and "FedbusQueueWithoutConsumer" in names
    text = "\n".join(_text(p) for p in PAGES)
    assert sorted(n for n in names if not re.search(rf"\b{n}\b", text)) == []


def test_the_index_maps_every_alert_to_a_page() -> None:
    index = _text(RUNBOOKS / "README.md")
    assert sorted(n for n in _alert_names() if not re.search(rf"`{n}`", index)) == []


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


def _option(parser: argparse.ArgumentParser, word: str) -> argparse.Action | None:
    return parser._option_string_actions.get(word.partition("=")[0])


def check_fedbus(argv: list[str]) -> str | None:
    """Why ``fedbus ARGV`` is not a command of the parser (None: it is).  The words are
    walked as argparse would: options of the current (sub)parser with their values,
    subcommands, then positionals (those with choices must be one of them)."""
    parser: argparse.ArgumentParser = build_parser()
    where = "fedbus"
    positionals: list[argparse.Action] = []
    words = iter(argv)
    for word in words:
        if word.startswith("-") and word != "-":
            action = _option(parser, word)
            if action is None:
                return f"{where}: no option {word}"
            if action.nargs != 0 and "=" not in word:
                next(words, None)
            continue
        subs = _subparsers(parser)
        if subs is not None:
            if word not in subs:
                return f"{where}: no subcommand {word!r}"
            parser, where = subs[word], f"{where} {word}"
            positionals = [a for a in parser._actions if not a.option_strings
                           and not isinstance(a, argparse._SubParsersAction)]
            continue
        if not positionals:
            return f"{where}: unexpected {word!r}"
        action = positionals.pop(0) if positionals[0].nargs not in ("*", "+") else positionals[0]
        if action.choices is not None and word not in action.choices:
            return f"{where}: {word!r} is not one of {sorted(action.choices)}"
    return None


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_quoted_commands_exist(page: Path) -> None:
    wrong = []
    for argv in _argvs(page):
        if argv[0] == "fedbus" and len(argv) > 1:
            error = check_fedbus(argv[1:])
        elif argv[0] == "fedbus-wedge" and len(argv) > 1:
            error = check_fedbus(["wedge", *argv[1:]])
        else:
            continue
        if error:
            wrong.append(f"{' '.join(argv)}: {error}")
    assert wrong == []


def test_the_command_check_can_fail() -> None:
    assert check_fedbus(["relay", "status"]) is None
    assert check_fedbus(["-c", "/etc/fedbus/fedbus.toml", "notifier", "--settings", "x",
                         "sender", "--type", "email"]) is None
    assert check_fedbus(["dlq", "notifier", "--replay", "--limit", "1"]) is None
    assert check_fedbus(["relay", "drain"]) is not None
    assert check_fedbus(["dlq", "notifier", "--all"]) is not None
    assert check_fedbus(["notifier", "mailer"]) is not None
    assert check_fedbus(["history"]) is not None


# Units of Debian packages the roles install or manage (not templates of roles/).
SYSTEM_UNITS = {"rabbitmq-server", "rsync", "exim4", "postgresql"}
TEMPLATES = {p.name.removesuffix(".j2") for p in ROOT.glob("roles/*/templates/**/*.j2")
             if re.search(r"\.(service|target)\.j2$", p.name)}
UNIT_NAME = re.compile(r"^[\w@*.-]+$")


def _units(page: Path) -> set[str]:
    units: set[str] = set()
    for argv in _argvs(page):
        if argv[0] == "systemctl":
            units |= {w for w in argv[2:] if not w.startswith("-") and UNIT_NAME.match(w)}
        elif argv[0] == "journalctl":
            units |= {argv[i + 1] for i, w in enumerate(argv[:-1])
                      if w == "-u" and UNIT_NAME.match(argv[i + 1])}
    prose = FENCE.sub("", _text(page))
    units |= set(re.findall(r"`(fedbus-[\w@*.-]+\.(?:service|target))`", prose))
    return units


def unit_exists(unit: str) -> bool:
    """A unit (``fedbus-x@1``, ``fedbus-x.target``) has its template; a pattern
    (``systemctl list-units 'fedbus-x*'``) matches one."""
    if "*" in unit and "@" not in unit:
        return any(fnmatch.fnmatchcase(t, unit) for t in TEMPLATES)
    return unit_template(unit) in TEMPLATES


def unit_template(unit: str) -> str:
    """The template's file name of a unit: ``fedbus-x@1`` → ``fedbus-x@.service``."""
    name = unit if re.search(r"\.(service|target)$", unit) else f"{unit}.service"
    return re.sub(r"@[^.]*\.", "@.", name)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_named_units_exist(page: Path) -> None:
    units = _units(page)
    missing = sorted(u for u in units
                     if u.removesuffix(".service") not in SYSTEM_UNITS
                     and not unit_exists(u))
    assert missing == []


def test_system_units_are_the_roles() -> None:
    files = [*ROOT.glob("roles/*/**/*.yml"), *ROOT.glob("roles/*/templates/**/*.j2")]
    roles = "\n".join(p.read_text(errors="replace") for p in files)
    assert sorted(u for u in SYSTEM_UNITS if not re.search(rf"\b{u}\b", roles)) == []


def test_the_unit_check_can_fail() -> None:
    assert unit_template("fedbus-notifier-worker@1") in TEMPLATES
    assert unit_template("fedbus-notifier-worker@*") in TEMPLATES
    assert unit_template("fedbus-notifier.target") in TEMPLATES
    assert unit_template("fedbus-relay") in TEMPLATES
    assert unit_template("fedbus-notifier-mailer@email") not in TEMPLATES
    assert unit_exists("fedbus-notifier*") and not unit_exists("fedbus-archive*")
