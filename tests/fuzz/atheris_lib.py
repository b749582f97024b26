"""What the atheris harnesses share: a temporary spool and the expected error types.

Each harness ``atheris_<target>.py`` defines ``one_input(data: bytes)`` and calls
:func:`main`; an exception other than the target's own error type escapes to atheris,
which reports the crash and writes the input (``run_atheris.py`` names the file).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
SPOOL = Path(tempfile.mkdtemp(prefix="fedbus-atheris-")) / "spool"


def main(one_input: Callable[[bytes], None]) -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
