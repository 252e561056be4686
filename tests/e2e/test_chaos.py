"""A short ``ledger chaos`` run: real processes under every kind of fault but a broker restart; all zeros.

The run creates its own database (next to the session's) and its own namespace, and drops both. Set
``CHAOS_SEED`` to replay a failing run's seed.
"""

from __future__ import annotations

import json
import os

import pytest

from ledger_cli.chaos.schedule import KINDS
from ledger_cli.processes import run_ledger
from ledger_common.settings import Settings

pytestmark = pytest.mark.e2e

MUST_BE_ZERO = (
    "lost",
    "duplicated_effects",
    "wrong_effects",
    "wrong_outcomes",
    "unexpected_commands",
    "http_answers_disagree",
    "http_unanswered",
    "http_server_errors",
    "malformed_http_not_4xx",
    "balance_mismatches",
    "events_lost",
    "events_unexpected",
    "event_id_conflicts",
    "outbox_unsent",
    "order_violations",
    "event_balance_mismatches",
    "audit_findings",
    "dead_letters_not_malformed",
    "malformed_not_dead_lettered",
    "unexpected_exits",
    "drain_timeouts",
    "log_unnumbered",
    "log_reader_stopped",
    "log_reader_out_of_order",
    "log_reader_wrong_event",
    "log_reader_missing",
    "log_reader_stream_order",
)


def test_chaos_run_keeps_every_guarantee(settings: Settings) -> None:
    seed = os.environ.get("CHAOS_SEED", "20261125")
    env = dict(
        os.environ,
        ENVIRONMENT="test",
        DATABASE_URL=settings.database_url.get_secret_value(),
        AMQP_URL=settings.amqp_url.get_secret_value(),
        LOG_LEVEL="WARNING",
    )
    argv = ["chaos", "--commands", "1500", "--faults", "9", "--seed", seed, "--json"]
    done = run_ledger(*argv, env=env, timeout=170, check=False)  # on a timeout, its processes go with it
    assert done.stdout, done.stderr[-3000:]
    report = json.loads(done.stdout)
    figures = report["figures"]
    assert report["violations"] == [], report["violations"]
    assert {name: figures[name] for name in MUST_BE_ZERO} == dict.fromkeys(MUST_BE_ZERO, 0)
    assert done.returncode == 0 and report["ok"] and report["completed"]
    # Every kind but the broker restart was injected, and the load had all it should.
    assert set(report["faults"]) == set(KINDS) - {"restart_broker"}
    assert sum(report["faults"].values()) == 9
    assert report["sent"]["distinct_commands"] == 1500
    assert report["sent"]["duplicates"] > 0 and report["sent"]["duplicates_concurrent"] > 0
    assert figures["applied"] + figures["refused"] == 1500
    assert figures["refusals"]["insufficient_funds"] > 0
    assert figures["events_received"] == figures["events_expected"] == figures["outbox_rows"]
    assert figures["log_reader_read"] == figures["outbox_rows"]  # joined mid-run, read every event once
    assert figures["dead_lettered_distinct"] == figures["malformed_injected"] > 0
