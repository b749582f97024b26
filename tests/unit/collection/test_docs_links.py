"""Every relative link of the docs resolves: the file exists, and so does its #anchor.

Covers README.md and docs/*.md: Markdown links `[text](target)` that are not URLs, and
the repository paths named in backticks (`docs/relay.md`, `src/fedbus/…/x.py`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# a path in backticks that starts at a top-level directory of the repository
TICKED = re.compile(r"`((?:docs|src|roles|playbooks|inventories|scripts|molecule|benchmarks"
                    r"|plugins|tests)/[^`\s*<>{}…]+)`")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces → '-'."""
    text = re.sub(r"[`*\[\]()]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {_slug(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.M)}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists() or (anchor and dest.suffix == ".md"
                                 and anchor not in _anchors(dest)):
            broken.append(target)
    assert broken == [], f"{page.relative_to(ROOT)}: broken links {broken}"


def _exists(path: str) -> bool:
    """In the repository, or in a molecule scenario (`tests/test_units.py` of
    molecule/default); test output (`tests/output/`) is made by the runs."""
    path = path.rstrip("/")
    return (path.startswith("tests/output/") or (ROOT / path).exists()
            or any(ROOT.glob(f"molecule/*/{path}")))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_named_paths_exist(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    missing = sorted({p for p in TICKED.findall(text) if not _exists(p)})
    assert missing == [], f"{page.relative_to(ROOT)}: names missing paths {missing}"


def test_the_index_lists_every_page() -> None:
    index = ROOT / "docs" / "README.md"
    listed = {t.partition("#")[0] for t in _links(index)}
    pages = {p.name for p in PAGES if p.parent.name == "docs" and p != index}
    assert pages - listed == set(), "add these pages to docs/README.md"
