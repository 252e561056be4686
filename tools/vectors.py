"""What every test-vector generator does with its document: write it, or check the committed file is it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def render(document: dict[str, Any]) -> str:
    """The file's exact text: indented JSON, UTF-8 as is, one final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_or_check(out: Path, document: dict[str, Any], script: str, argv: list[str]) -> int:
    """``argv == ["--check"]``: 1 (and a line on stderr) if ``out`` is not ``document``; else (re)write it."""
    text = render(document)
    if argv == ["--check"]:
        if out.read_text(encoding="utf-8") != text:
            print(f"{out.relative_to(ROOT)} is stale: run python {script}", file=sys.stderr)
            return 1
        return 0
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}: {len(document['cases'])} cases")
    return 0
