"""The ledger on a cluster (``ledger cluster``'s 3 RabbitMQ nodes and pg_auto_failover formation) under a
short ``ledger chaos --cluster`` load: the command queue's leader node is killed (SIGKILL) and the
PostgreSQL primary is killed (a failover to the synchronous standby), and every guarantee still holds:
the processes of the lost node move to another, every connection (the LISTEN ones too) to the new
primary, nothing is lost or applied twice, every HTTP command is answered or its outcome retrievable.

Every server the run starts is recorded in its cluster's state file and stopped by pid here too (a run
killed at its timeout cannot stop them itself); its directories are removed, failed or not.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from pathlib import Path

import pytest

from ledger_cli.cluster import STATE, Cluster
from ledger_cli.processes import run_ledger
from tests.e2e.test_chaos import MUST_BE_ZERO

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="the cluster's servers run as rabbitmq and postgres: needs root"),
]


def test_a_broker_node_kill_and_a_postgres_failover_under_load_lose_and_double_nothing() -> None:
    base = Path(f"/tmp/ledger-cluster-test-{uuid.uuid4().hex[:10]}")
    env = dict(os.environ, ENVIRONMENT="test", LOG_LEVEL="WARNING")
    for name in ("DATABASE_URL", "AMQP_URL"):  # the run's cluster's, not these
        env.pop(name, None)
    seed = os.environ.get("CHAOS_SEED", "23")
    argv = ["chaos", "--cluster", "--cluster-dir", str(base), "--commands", "400", "--faults", "2", "--seed", seed]
    logs: list[Path] = []
    try:
        done = run_ledger(*argv, "--json", env=env, timeout=300, check=False)
        logs = [Path(p) for p in re.findall(r"logs in (\S+)", done.stderr)]
        for log in (p for d in logs for p in sorted(d.glob("*.log"))):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}")  # shown if the test fails
        assert done.stdout, done.stderr[-3000:]
        report = json.loads(done.stdout)
        figures = report["figures"]
        assert report["violations"] == [], report["violations"]
        assert {name: figures[name] for name in MUST_BE_ZERO} == dict.fromkeys(MUST_BE_ZERO, 0)
        assert done.returncode == 0 and report["ok"] and report["completed"]
        assert report["faults"] == {"kill_broker_node": 1, "kill_primary": 1}
        assert any("the command queue's leader" in line for line in report["fault_log"]), report["fault_log"]
        for kind in ("kill_broker_node", "kill_primary"):
            (recovered,) = report["recovery"][kind]
            stuck = [line for line in done.stderr.splitlines() if "not back" in line]
            assert recovered["clients_back_s"] is not None, (report["fault_log"], stuck)  # then whole again
        # The key cache's and the relays' LISTEN connections moved to the new primary.
        assert [x["seconds"] is not None for x in report["recovery"]["listeners_back_s"]] == [True]
        assert figures["applied"] + figures["refused"] == 400
        assert set(report["quorum_members"].values()) == {3}, report["quorum_members"]  # one on every node
        assert figures["events_received"] == figures["events_expected"] == figures["outbox_rows"]
    finally:
        if (base / STATE).exists():  # stopped already unless the run was killed: by the pids it recorded
            Cluster.load(base).down()
        shutil.rmtree(base, ignore_errors=True)
        for d in logs:
            shutil.rmtree(d, ignore_errors=True)
