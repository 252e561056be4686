"""``tools/gateway_ab.py``, the side-by-side comparison of two gateways behind docs/benchmarks.md's figures:
a short run of this checkout against itself serves both and reports each. No timing is asserted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ADMIN_URL, AMQP_URL

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_two_gateways_side_by_side_each_report_their_cpu_per_request() -> None:
    env = dict(os.environ, ENVIRONMENT="test", DATABASE_URL=ADMIN_URL, AMQP_URL=AMQP_URL, LOG_LEVEL="WARNING")
    argv = [sys.executable, "tools/gateway_ab.py", str(ROOT), "--seconds", "2", "--rounds", "1", "--lanes", "2"]
    done = subprocess.run([*argv, "--accounts", "200"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = re.findall(
        r"^\s*(this|other):\s+(\d+) requests, ([\d.]+) ms CPU per request, (\d+) failed", done.stdout, re.M
    )
    assert [r[0] for r in rows] == ["this", "other", "this", "other"], done.stdout  # the warm-up round, then one
    assert all(int(n) > 0 and float(ms) > 0 and failed == "0" for _, n, ms, failed in rows), done.stdout
