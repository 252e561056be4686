"""``ledger cluster up|down|status``: a 3-node RabbitMQ cluster and a pg_auto_failover formation on loopback.

For trying the ledger on replicated servers, and for the tests and ``ledger chaos --cluster``, which
kill and stop their nodes. :class:`Cluster` is both halves and the state file (``cluster.json``) that
lets a later ``ledger cluster status|down`` find the pids it started. Every server runs as its
service user on free ports under one directory; nothing else on the machine is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from ledger_cli.cluster.common import HarnessError, alive, check_root
from ledger_cli.cluster.pgaf import Formation
from ledger_cli.cluster.rabbit import RabbitCluster
from ledger_cli.database import create_database
from ledger_common.settings import Settings

STATE = "cluster.json"
DEFAULT_DIR = Path(os.environ.get("LEDGER_CLUSTER_DIR", "/tmp/ledger-cluster"))  # noqa: S108 - the harness's own


@dataclass
class Cluster:
    base: Path
    rabbit: RabbitCluster
    pg: Formation

    def __post_init__(self) -> None:
        self._saving = threading.Lock()
        self.rabbit.changed = self.pg.changed = self.save

    @classmethod
    def plan(cls, base: Path | None = None) -> Cluster:
        base = base or Path(tempfile.mkdtemp(prefix="ledger-cluster-"))
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o755)  # each half's own directory below is its service user's alone
        return cls(base, RabbitCluster.plan(base / "rabbitmq"), Formation.plan(base / "postgresql"))

    @classmethod
    def load(cls, base: Path) -> Cluster:
        data = json.loads((base / STATE).read_text())
        return cls(base, RabbitCluster.from_json(data["rabbitmq"]), Formation.from_json(data["postgresql"]))

    def save(self) -> None:
        with self._saving:  # both halves start at once
            state = {"rabbitmq": self.rabbit.to_json(), "postgresql": self.pg.to_json()}
            (self.base / STATE).write_text(json.dumps(state, indent=2))

    def up(self) -> None:
        """Both halves at once (the state file names every pid as soon as it exists: ``down`` can stop a
        half-started cluster); on failure, whatever started is stopped again."""
        check_root()
        self.save()
        try:
            with ThreadPoolExecutor(2) as pool:
                for done in [pool.submit(self.rabbit.up), pool.submit(self.pg.up)]:
                    done.result()
        except BaseException:
            self.down(remove=False)
            raise

    def down(self, *, remove: bool = True) -> None:
        """Stop every server this cluster started (by its pids), then remove its directory."""
        with ThreadPoolExecutor(2) as pool:
            for done in [pool.submit(self.rabbit.down), pool.submit(self.pg.down)]:
                done.result()
        self.save()
        if remove:
            shutil.rmtree(self.base, ignore_errors=True)

    def settings(self, settings: Settings, database: str = "postgres") -> Settings:
        """``settings`` pointed at this cluster: every broker node, every data node."""
        urls = {"amqp_url": SecretStr(self.rabbit.url()), "database_url": SecretStr(self.pg.url(database))}
        return settings.model_copy(update=urls)

    def env(self) -> dict[str, str]:
        return {"AMQP_URL": self.rabbit.url(), "DATABASE_URL": self.pg.url("ledger")}

    def status(self) -> dict[str, Any]:
        rabbit = [{"node": n.name, "amqp_port": n.amqp_port, "up": alive(n.pid)} for n in self.rabbit.nodes]
        running: list[str] = []
        queues: list[dict[str, Any]] = []
        try:
            running = self.rabbit.running_nodes()
            queues = self.rabbit.quorum_queues()
        except HarnessError as exc:
            running = [f"unknown: {exc}"[:200]]
        return {
            "dir": str(self.base),
            "rabbitmq": {"nodes": rabbit, "running": running, "quorum_queues": queues},
            "postgresql": {"monitor_up": alive(self.pg.monitor.pid), "nodes": self.pg.states()},
            "env": self.env(),
        }


def add_parser(sub: Any) -> None:
    p = sub.add_parser("cluster", help="a local 3-node RabbitMQ cluster and a pg_auto_failover formation")
    p.add_argument("action", choices=["up", "down", "status"])
    p.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"the cluster's directory (default {DEFAULT_DIR})")


def cluster(_: Settings, args: argparse.Namespace) -> int:
    base: Path = args.dir
    try:
        if args.action == "up":
            if (base / STATE).exists():
                print(f"a cluster is already in {base} (ledger cluster down --dir {base})", file=sys.stderr)
                return 1
            started = time.monotonic()
            c = Cluster.plan(base)
            c.up()
            asyncio.run(create_database(c.pg.url("postgres"), "ledger"))  # what DATABASE_URL names
            print(f"cluster up in {time.monotonic() - started:.0f} s ({base}); to use it:")
            for k, v in c.env().items():
                print(f"export {k}='{v}'")
            return 0
        if not (base / STATE).exists():
            print(f"no cluster in {base}", file=sys.stderr)
            return 1
        c = Cluster.load(base)
        if args.action == "down":
            check_root()
            c.down()
            print(f"cluster in {base} stopped and removed")
        else:
            print(json.dumps(c.status(), indent=2))
        return 0
    except HarnessError as exc:
        print(f"ledger cluster: {exc}", file=sys.stderr)
        return 1
