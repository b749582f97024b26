"""The console scripts of the installed wheel: ``fedbus`` and ``fedbus-wedge`` from the
fresh virtualenv's bin/, and ``--help`` of every subcommand their parsers define.

The subcommands are read from the installed CLI's own parsers (a module missing from the
wheel would silently drop its command from ``fedbus --help``, see fedbus.cli.main), and a
known minimal set must be among them, so that an empty discovery cannot pass.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import pytest
from installed_support import BIN

# Commands the deployed hosts run (roles' units, hooks and timers): at least these.
KNOWN = {
    ("publish",), ("tail",), ("stat",), ("catalog",), ("relay",), ("bridge",), ("notifier",),
    ("mirror",), ("wedge",),
    ("notifier", "migrate"), ("notifier", "worker"), ("notifier", "sender"),
    ("notifier", "digest"), ("notifier", "web"),
    ("wedge", "git-post-receive"), ("wedge", "pungi-notify"), ("wedge", "zabbix-alert"),
    ("wedge", "webhook"), ("wedge", "netapp-watch"), ("wedge", "bugzilla-poll"),
}  # fmt: skip


def subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """Every command path of ``parser``, depth first: ("notifier",), ("notifier", "web")…"""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.append((name,))
                found.extend((name, *rest) for rest in subcommands(sub))
    return found


Helps = dict[tuple[str, ...], subprocess.CompletedProcess[str]]


@cache
def fedbus_commands() -> tuple[tuple[str, ...], ...]:
    from fedbus.cli.main import build_parser

    return tuple(subcommands(build_parser()))


@cache
def wedge_commands() -> tuple[tuple[str, ...], ...]:
    from fedbus.cli import cmd_wedge

    parser = argparse.ArgumentParser(prog="fedbus-wedge")
    cmd_wedge.register(parser.add_subparsers(dest="command"))
    return tuple(path[1:] for path in subcommands(parser) if len(path) > 1)


def invocations() -> list[tuple[str, ...]]:
    """The command lines to run: each script alone, then each subcommand, with --help."""
    return [
        ("fedbus",),
        *(("fedbus", *path) for path in fedbus_commands()),
        ("fedbus-wedge",),
        *(("fedbus-wedge", *path) for path in wedge_commands()),
    ]


@pytest.fixture(scope="module")
def helps() -> Helps:
    """``--help`` of every invocation, run side by side (each one starts a python)."""

    def run(argv: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        cmd = [str(BIN / argv[0]), *argv[1:], "--help"]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(invocations(), pool.map(run, invocations()), strict=True))


def test_the_known_commands_are_all_there() -> None:
    missing = KNOWN - set(fedbus_commands())
    assert not missing, f"fedbus has no command {sorted(missing)}"
    wedges = {path[1:] for path in KNOWN if path[0] == "wedge" and len(path) > 1}
    assert wedges <= set(wedge_commands())


def test_every_command_of_the_list_is_registered() -> None:
    """fedbus.cli.main skips a command whose module is missing: none may be."""
    from fedbus.cli.main import COMMANDS

    assert {path[0] for path in fedbus_commands()} == set(COMMANDS)


def usage_prefix(argv: tuple[str, ...]) -> str:
    """How the usage line starts: fedbus-wedge's parser calls itself ``fedbus wedge``."""
    words = ["fedbus", "wedge", *argv[1:]] if argv[0] == "fedbus-wedge" else list(argv)
    return "usage: " + " ".join(words)


@pytest.mark.parametrize("argv", invocations(), ids=" ".join)
def test_help(argv: tuple[str, ...], helps: Helps) -> None:
    r = helps[argv]
    assert r.returncode == 0, f"{' '.join(argv)} --help exited {r.returncode}:\n{r.stderr}"
    assert r.stdout.startswith(usage_prefix(argv) + " "), r.stdout[:500]


@pytest.fixture(scope="module")
def misuses() -> Helps:
    """Every invocation with an option none of them has, run side by side."""

    def run(argv: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        cmd = [str(BIN / argv[0]), *argv[1:], "--no-such-option"]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(zip(invocations(), pool.map(run, invocations()), strict=True))


@pytest.mark.parametrize("argv", invocations(), ids=" ".join)
def test_a_misuse_is_one_line(argv: tuple[str, ...], misuses: Helps) -> None:
    r = misuses[argv]
    assert r.returncode == 2, f"{' '.join(argv)} exited {r.returncode}:\n{r.stderr}"
    assert r.stderr.count("\n") == 1 and ": error: " in r.stderr, r.stderr
    assert r.stdout == ""


def test_version() -> None:
    from fedbus import __version__

    r = subprocess.run([str(BIN / "fedbus"), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"fedbus {__version__}", r


def test_catalog_lists_every_message_schema_of_the_entry_points() -> None:
    """The schemas come from the entry points (fedora.messages) of the installed
    fedbus-messages distribution."""
    names = {ep.name for ep in importlib.metadata.entry_points(group="fedora.messages")
             if ep.dist is not None
             and ep.dist.name.lower().replace("_", "-") == "fedbus-messages"}  # fmt: skip
    assert "fedbus.bus.canary.v1" in names
    r = subprocess.run([str(BIN / "fedbus"), "catalog"], capture_output=True, text=True,
                       timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    listed = {line.split()[0] for line in r.stdout.splitlines()[1:] if line.strip()}
    assert names <= listed, f"not in `fedbus catalog`: {sorted(names - listed)}"
