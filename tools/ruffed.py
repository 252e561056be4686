"""Generated files pass ``make lint``: their text run through this interpreter's ruff as the repository runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Lint-fix (never failing on what it cannot fix), then format.
FIX_AND_FORMAT = (("check", "--fix", "--quiet", "--exit-zero"), ("format",))


def ruffed(path: Path, text: str, steps: tuple[tuple[str, ...], ...] = FIX_AND_FORMAT) -> str:
    """``text`` as ruff's ``steps`` leave it, read as the file at ``path`` (its type and the repo's settings)."""
    for step in steps:
        text = subprocess.run(  # noqa: S603 - this interpreter's ruff
            [sys.executable, "-m", "ruff", *step, "--stdin-filename", str(path), "-"],
            input=text,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
    return text
