"""Every crash point is documented and killed at by a test: ``ledger_common.faults.POINTS`` is the list."""

import re
from pathlib import Path

from ledger_common.faults import POINTS

ROOT = Path(__file__).resolve().parents[2]


def _code(*dirs: str) -> str:
    return "".join(p.read_text() for d in dirs for p in (ROOT / d).rglob("*.py"))


def test_every_point_in_the_code_is_declared() -> None:
    used = set(re.findall(r'crash_point\("([^"]+)"\)', _code("ledger_worker", "outbox_relay", "http_gateway")))
    assert used == POINTS


def test_every_point_is_documented_and_used_by_a_test() -> None:
    design = (ROOT / "docs" / "design.md").read_text()
    tests = _code("tests/e2e")
    for point in POINTS:
        assert f"`{point}`" in design or f"={point}`" in design, point
        assert f'"{point}"' in tests, point
