#!/usr/bin/env python3
"""The ``installed`` test layer: fedbus as the roles deploy it, not as the source tree has it.

    python tests/installed/harness.py [PYTEST ARGS…]      # scripts/test.sh installed

1. Build the fedbus wheel and the fedbus-messages wheel (its schemas, ``src/fedbus-messages``)
   the way ``roles/runtime/tasks/wheelhouse.yml`` does (``pip wheel --no-deps
   --no-build-isolation``, ``SOURCE_DATE_EPOCH``), from an export of the source tree: the
   files git tracks or does not ignore, as they are now (see :func:`export_tree`).
2. Create a fresh virtualenv (``.cache/installed-venv``, recreated on every run) and install
   them as ``roles/runtime/tasks/install.yml`` does: the pins of ``requirements/runtime.txt``
   from wheels (``--no-index``), then the fedbus-messages wheel and the fedbus wheel with
   ``--no-deps``, non-editable; ``pip check`` then proves the pins satisfy what the wheels
   declare.  pytest goes in last, pinned by ``requirements/dev.txt``.  The tests learn where
   the fedbus-messages wheel and the dependency wheels are (``FEDBUS_MESSAGES_WHEEL``,
   ``FEDBUS_INSTALLED_WHEELHOUSE``): ``test_messages_alone.py`` installs that wheel alone in
   a virtualenv of its own.
3. Copy the tests of this directory to a temporary directory and run pytest there with the
   fresh virtualenv's python: no ``src/`` on ``sys.path``, no repository conftest, no
   pytest cache.  ``conftest.py`` refuses to run when ``fedbus`` is not the installed copy.

The dependency wheels are built once per change of the pins (``.cache/installed/wheels-*``;
the first run downloads them from PyPI, later runs need no network).

:func:`tree_files`, :func:`export_tree`, :func:`build_wheel` and :func:`build_messages_wheel`
are also used by
``tests/unit/collection/test_wheel_contents.py``.  Standard library only: this runs under any
Python.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".cache"
VENV = CACHE / "installed-venv"
# The wheel is built exactly as the relay role builds it (reproducible archive times).
SOURCE_DATE_EPOCH = "315532800"
RUNTIME_PINS = ROOT / "requirements" / "runtime.txt"
# The distribution of fedbus's schemas, inside the tree (its own pyproject.toml).
MESSAGES = "src/fedbus-messages"
DEV_PINS = ROOT / "requirements" / "dev.txt"


def log(message: str) -> None:
    print(f"installed: {message}", file=sys.stderr, flush=True)


def tree_files(root: Path = ROOT) -> list[str]:
    """The files of the source tree, relative to ``root``: those git tracks (committed or
    ``git add``-ed) and the new ones it does not ignore, as the working tree has them
    (deleted ones left out).  Read-only: git takes no lock."""
    out = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    return sorted({p for p in out.split("\0") if p and os.path.lexists(root / p)})


def export_tree(dest: Path, root: Path = ROOT) -> list[str]:
    """Copy the files of :func:`tree_files` to ``dest``; returns them.

    In a clean CI clone that is the commit; in a developer's tree it is the commit plus the
    uncommitted edits and new files — what roles/relay, which builds from the working tree,
    would deploy from it — without what .gitignore names: ``build/``, ``*.egg-info``,
    ``__pycache__``, ``.venv``, ``.cache`` (stale build output would end up in the wheel).
    ``git archive HEAD`` would miss the uncommitted work; ``git stash create`` writes
    objects and takes the index lock of a tree other people work in.
    """
    files = tree_files(root)
    for rel in files:
        src, dst = root / rel, dest / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            os.symlink(os.readlink(src), dst)
        elif src.is_file():
            shutil.copy2(src, dst)
    return files


def _build(out_dir: Path, root: Path, subdir: str, glob: str, python: str) -> Path:
    """The wheel of the project in ``subdir`` of an export of ``root``, built into
    ``out_dir`` as the role builds it; returns its path (the one name matching ``glob``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fedbus-wheel-src-") as tmp:
        tree = Path(tmp)
        export_tree(tree, root)
        run(
            [python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
             "--disable-pip-version-check", "--wheel-dir", str(out_dir), str(tree / subdir)],
            env={**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH},
        )  # fmt: skip
    wheels = sorted(out_dir.glob(glob))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one {glob} in {out_dir}, found {wheels}")
    return wheels[0]


def build_wheel(out_dir: Path, root: Path = ROOT, python: str = sys.executable) -> Path:
    """Build the fedbus wheel from an export of ``root`` into ``out_dir``; returns its path.

    ``python`` must have setuptools and wheel (``--no-build-isolation``, as the role: the
    controller's virtualenv, ``.venv``, has them pinned in requirements/dev.txt)."""
    return _build(out_dir, root, ".", "fedbus-*.whl", python)


def build_messages_wheel(out_dir: Path, root: Path = ROOT, python: str = sys.executable) -> Path:
    """Build the fedbus-messages wheel (``src/fedbus-messages``) likewise; returns its path."""
    return _build(out_dir, root, MESSAGES, "fedbus_messages-*.whl", python)


def run(cmd: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 900) -> None:  # fmt: skip
    """Run ``cmd``; on failure raise with its output (kept quiet when it works)."""
    r = subprocess.run(list(cmd), env=env, cwd=cwd, timeout=timeout, capture_output=True,
                       text=True)  # fmt: skip
    if r.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
        )


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One run of the layer at a time on this tree (they share .cache/installed-venv)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def wheelhouse(python: str = sys.executable) -> Path:
    """Wheels of the runtime pins (as the relay role builds them) and of pytest pinned by
    dev.txt; built once per change of either file."""
    key = hashlib.sha256(RUNTIME_PINS.read_bytes() + DEV_PINS.read_bytes()).hexdigest()[:16]
    house = CACHE / "installed" / f"wheels-{key}"
    if (house / ".complete").exists():
        return house
    log(f"building the dependency wheels into {house.relative_to(ROOT)} (once per pin change)")
    house.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{house.name}.", dir=house.parent))
    try:
        pip = [python, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
               "--wheel-dir", str(tmp)]  # fmt: skip
        run([*pip, "--no-deps", "--requirement", str(RUNTIME_PINS)])
        run([*pip, "--constraint", str(DEV_PINS), "pytest"])
        (tmp / ".complete").write_text("")
        shutil.rmtree(house, ignore_errors=True)
        tmp.rename(house)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in house.parent.glob("wheels-*"):
        if old != house:
            shutil.rmtree(old, ignore_errors=True)
    return house


def base_python() -> str:
    """The interpreter the fresh virtualenv is made from: $FEDBUS_PYTHON, else the one
    behind this (virtualenv's) python, as scripts/bootstrap.sh picks it."""
    base: str = getattr(sys, "_base_executable", None) or sys.executable
    return os.environ.get("FEDBUS_PYTHON") or base


def clean_env(venv: Path) -> dict[str, str]:
    """The environment of the installed tests: the fresh venv first on PATH, no trace of
    the developer's .venv or of a PYTHONPATH that could lead to src/."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH",
                        "VIRTUAL_ENV", "FEDBUS_CONFIG", "FEDBUS_NOTIFIER_CONFIG")}  # fmt: skip
    dev_bin = str(ROOT / ".venv" / "bin")
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != dev_bin]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *path])
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["FEDBUS_INSTALLED_VENV"] = str(venv)
    env["FEDBUS_SOURCE_TREE"] = str(ROOT)  # only to assert that fedbus does NOT come from it
    return env


def main(pytest_args: Sequence[str]) -> int:
    timings: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def stage(name: str) -> Iterator[None]:
        start = time.monotonic()
        yield
        timings.append((name, time.monotonic() - start))

    start = time.monotonic()
    with locked(CACHE / "installed.lock"), tempfile.TemporaryDirectory(
        prefix="fedbus-installed-"
    ) as tmp_name:
        tmp = Path(tmp_name)
        with stage("wheels"):
            wheel = build_wheel(tmp / "dist")
            messages_wheel = build_messages_wheel(tmp / "dist-messages")
        log(f"built {wheel.name} and {messages_wheel.name}")
        with stage("dependency wheels"):
            house = wheelhouse()
        with stage("virtualenv"):
            shutil.rmtree(VENV, ignore_errors=True)
            run([base_python(), "-m", "venv", "--clear", str(VENV)])
        py = str(VENV / "bin" / "python")
        pip = [py, "-m", "pip", "--disable-pip-version-check", "install", "--quiet",
               "--no-index", "--find-links", str(house)]  # fmt: skip
        with stage("install"):
            # roles/runtime/tasks/install.yml: the pins, then fedbus-messages and fedbus
            # alone from their wheels
            run([*pip, "--requirement", str(RUNTIME_PINS)])
            run([*pip, "--no-deps", str(messages_wheel)])
            run([*pip, "--no-deps", str(wheel)])
            run([py, "-m", "pip", "--disable-pip-version-check", "check"])
            run([*pip, "--constraint", str(DEV_PINS), "pytest"])
        log(f"installed {messages_wheel.name} and {wheel.name} with the pins of "
            f"requirements/runtime.txt in "
            f"{VENV.relative_to(ROOT)}")  # fmt: skip
        suite = tmp / "suite"
        suite.mkdir()
        for f in HERE.glob("*.py"):
            if f.name != Path(__file__).name:
                shutil.copy2(f, suite / f.name)
        (suite / "pytest.ini").write_text("[pytest]\naddopts = -ra\n")
        with stage("pytest"):
            rc = subprocess.call(
                [py, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(suite),
                 "-c", str(suite / "pytest.ini"), *pytest_args, str(suite)],
                cwd=suite, env={**clean_env(VENV), "FEDBUS_MESSAGES_WHEEL": str(messages_wheel),
                                "FEDBUS_INSTALLED_WHEELHOUSE": str(house)},
            )  # fmt: skip
    log(", ".join(f"{name} {secs:.1f} s" for name, secs in timings)
        + f"; total {time.monotonic() - start:.1f} s")  # fmt: skip
    return rc


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        log(f"error: {exc}")
        sys.exit(1)
