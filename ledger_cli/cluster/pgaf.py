"""A local pg_auto_failover formation: a monitor, a primary and a synchronous standby, run as ``postgres``.

Debian's ``pg_autoctl`` (postgresql-15-auto-failover) on three free loopback ports, each instance a
session of its own under the harness's directory (its own ``XDG_*`` dirs, so nothing of the machine's
PostgreSQL or of another formation is read). The monitor assigns roles: the first data node becomes
the primary, the second its standby, and the primary's ``synchronous_standby_names`` names the standby
(with ``synchronous_commit = on``, a commit is acknowledged once it is on both servers' disks).

The monitor's health checks are tightened for a machine where all three share a loopback (a second
between checks, a node unhealthy after 2 s, the old primary given 2 s to be demoted): a failover then
takes about 4 s instead of about 50 s with pg_auto_failover's defaults, which are meant for networks
that drop packets. docs/operations.md says what to use in production.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ledger_cli.cluster.common import HarnessError, alive, own, run, signal_group, spawn, stop_group, user_env, wait_for
from ledger_cli.processes import free_port

USER = "postgres"
PG_BIN = "/usr/lib/postgresql/15/bin"
START_TIMEOUT = 120.0
#: The monitor's health checks, in milliseconds (pgautofailover.* settings).
FAST_CHECKS = {
    "health_check_period": 1000,
    "health_check_timeout": 1000,
    "health_check_max_retries": 1,
    "health_check_retry_delay": 500,
    "node_considered_unhealthy_timeout": 2000,
    "primary_demote_timeout": 2000,
}
_STATES_SQL = (
    "SELECT coalesce(json_agg(s), '[]') FROM"
    " (SELECT nodename, nodeport, reportedstate, goalstate FROM pgautofailover.node ORDER BY nodeid) s"
)


@dataclass
class PgNode:
    name: str  # monitor, node1, node2
    port: int
    pid: int | None = None  # pg_autoctl: leads the group, its postgres included


@dataclass
class Formation:
    base: Path
    monitor: PgNode
    data: list[PgNode]
    #: Called whenever a pid changes (the harness saves its state file).
    changed: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)

    @classmethod
    def plan(cls, base: Path, data_nodes: int = 2) -> Formation:
        data = [PgNode(f"node{n}", free_port()) for n in range(1, data_nodes + 1)]
        return cls(base, PgNode("monitor", free_port()), data)

    def to_json(self) -> dict[str, Any]:
        return {"base": str(self.base), "monitor": asdict(self.monitor), "data": [asdict(n) for n in self.data]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Formation:
        return cls(Path(data["base"]), PgNode(**data["monitor"]), [PgNode(**n) for n in data["data"]])

    def url(self, database: str = "postgres") -> str:
        """``DATABASE_URL`` naming every data node; asyncpg (like libpq) connects to the one that is primary."""
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in self.data)
        return f"postgresql://postgres@{hosts}/{database}?target_session_attrs=read-write"

    @property
    def monitor_url(self) -> str:
        return f"postgresql://autoctl_node@127.0.0.1:{self.monitor.port}/pg_auto_failover?sslmode=disable"

    def node(self, name: str) -> PgNode:
        return next(n for n in [self.monitor, *self.data] if n.name == name)

    def _env(self) -> dict[str, str]:
        return user_env(
            USER,
            self.base,
            {
                "PATH": f"{PG_BIN}:/usr/bin:/bin",
                "PG_CONFIG": f"{PG_BIN}/pg_config",
                "XDG_CONFIG_HOME": str(self.base / "config"),
                "XDG_DATA_HOME": str(self.base / "share"),
                "XDG_RUNTIME_DIR": str(self.base / "run"),
                "PGCONNECT_TIMEOUT": "5",
            },
        )

    def _pgdata(self, node: PgNode) -> str:
        return str(self.base / node.name)

    def _spawn(self, node: PgNode, argv: list[str]) -> None:
        node.pid = spawn(argv, user=USER, env=self._env(), log=self.base / f"{node.name}.log", cwd=self.base)
        self.changed()

    # -- life cycle ---------------------------------------------------------------------------------

    def up(self) -> None:
        """Create and run the monitor, then the primary, then the standby; wait until they are in sync."""
        own(self.base, USER, 0o700)
        common = ["--hostname", "127.0.0.1", "--listen", "127.0.0.1", "--auth", "trust", "--no-ssl", "--run"]
        m = self.monitor
        create = ["pg_autoctl", "create", "monitor", "--pgdata", self._pgdata(m), "--pgport", str(m.port)]
        self._spawn(m, [*create, *common])
        if not wait_for(lambda: self._monitor_sql("SELECT 1") is not None, START_TIMEOUT, every=0.5):
            raise HarnessError(f"pg_auto_failover monitor did not start; see {self.base / 'monitor.log'}")
        settings = [f"ALTER SYSTEM SET pgautofailover.{k} = {v}" for k, v in FAST_CHECKS.items()]
        self._monitor_sql(*settings, "SELECT pg_reload_conf()", user="postgres", check=True)
        for n, node in enumerate(self.data):
            argv = ["pg_autoctl", "create", "postgres", "--pgdata", self._pgdata(node), "--pgport", str(node.port),
                    "--name", node.name, "--monitor", self.monitor_url, *common]  # fmt: skip
            self._spawn(node, argv)
            if n == 0 and not wait_for(lambda: self.primary() is not None, START_TIMEOUT, every=0.5):
                raise HarnessError(f"no primary; see {self.base / 'node1.log'}")
        self.wait_healthy()

    def start(self, node: PgNode) -> None:
        """Run a stopped or killed instance again (a data node rejoins as a standby, rewound if need be)."""
        self._spawn(node, ["pg_autoctl", "run", "--pgdata", self._pgdata(node)])

    def kill(self, node: PgNode) -> None:
        """SIGKILL the instance's pg_autoctl and its PostgreSQL, every process of them: the server is lost."""
        signal_group(node.pid, signal.SIGKILL)
        stop_group(node.pid, timeout=10)
        node.pid = None
        self.changed()

    def stop(self, node: PgNode) -> None:
        """Stop gracefully (SIGTERM: pg_autoctl stops PostgreSQL, fast mode, and exits)."""
        stop_group(node.pid, timeout=60)
        node.pid = None
        self.changed()

    def down(self) -> None:
        for node in [*self.data, self.monitor]:
            stop_group(node.pid, timeout=30)
            node.pid = None

    # -- questions ----------------------------------------------------------------------------------

    def _monitor_sql(self, *sql: str, user: str = "autoctl_node", check: bool = False) -> str | None:
        """Run each of ``sql`` (a transaction each) on the monitor; the output, None if it failed."""
        argv = [f"{PG_BIN}/psql", "-X", "-qAt", "-h", "127.0.0.1", "-p", str(self.monitor.port), "-U", user,
                "-d", "pg_auto_failover", *(a for one in sql for a in ("-c", one))]  # fmt: skip
        try:
            done = run(argv, user=USER, env=self._env(), timeout=15, check=check)
        except subprocess.TimeoutExpired:
            return None
        return done.stdout if done.returncode == 0 else None

    def states(self) -> list[dict[str, Any]]:
        """Each data node's name, port, reported and assigned state, as the monitor has them ([] if it is down)."""
        out = self._monitor_sql(_STATES_SQL)
        return list(json.loads(out)) if out else []

    def primary(self) -> PgNode | None:
        """The data node the monitor has as primary, reported and assigned, if any."""
        for s in self.states():
            if s["reportedstate"] in ("single", "primary", "wait_primary") and s["reportedstate"] == s["goalstate"]:
                return self.node(s["nodename"])
        return None

    def healthy(self) -> bool:
        """A primary and an in-sync standby, each in the state the monitor assigned it, every process up."""
        states = {s["nodename"]: (s["reportedstate"], s["goalstate"]) for s in self.states()}
        pairs = sorted(states.values())
        processes = all(alive(n.pid) for n in [self.monitor, *self.data])
        return processes and pairs == [("primary", "primary"), ("secondary", "secondary")]

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        if not wait_for(self.healthy, timeout, every=0.5):
            raise HarnessError(f"formation not healthy after {timeout:.0f} s: {self.states()}")
