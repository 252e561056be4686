"""A local RabbitMQ cluster: Debian's ``rabbitmq-server`` run N times as the ``rabbitmq`` user, then joined.

Each node has its own ``RABBITMQ_NODENAME`` (``ledger<n>@localhost``), AMQP port, distribution port,
mnesia and log directories, all under the harness's directory, and its own config files (so nothing of
``/etc/rabbitmq``, which configures the machine's own broker, applies). The nodes share a cookie of
their own and an ``epmd`` of their own on a free port, so the machine's broker and its epmd are never
addressed. Nodes 2..N join node 1 with ``rabbitmqctl join_cluster``, as the RabbitMQ clustering guide
does it. Quorum queues declared afterwards get a member on every node (their initial group size is
the cluster's size), which is why the cluster is formed before any ledger process starts.
"""

from __future__ import annotations

import json
import secrets
import shutil
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ledger_cli.cluster.common import HarnessError, alive, own, run, signal_group, spawn, stop_group, user_env
from ledger_cli.processes import free_port

USER = "rabbitmq"
SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
CTL = "/usr/lib/rabbitmq/bin/rabbitmqctl"
START_TIMEOUT = 120.0


def epmd_binary() -> str:
    found = sorted(Path("/usr/lib/erlang").glob("erts-*/bin/epmd"))
    if not found:
        raise HarnessError("epmd not found: install rabbitmq-server (make cluster-tools)")
    return str(found[-1])


@dataclass
class RabbitNode:
    n: int
    amqp_port: int
    dist_port: int
    pid: int | None = None  # the rabbitmq-server script: leads the node's process group

    @property
    def name(self) -> str:
        return f"ledger{self.n}@localhost"


@dataclass
class RabbitCluster:
    base: Path
    nodes: list[RabbitNode]
    epmd_port: int
    cookie: str
    epmd_pid: int | None = None
    #: Called whenever a pid changes (the harness saves its state file).
    changed: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)

    @classmethod
    def plan(cls, base: Path, size: int = 3) -> RabbitCluster:
        nodes = [RabbitNode(n, free_port(), free_port()) for n in range(1, size + 1)]
        return cls(base, nodes, free_port(), secrets.token_hex(16).upper())

    def to_json(self) -> dict[str, Any]:
        return {"base": str(self.base), "nodes": [asdict(n) for n in self.nodes], "epmd_port": self.epmd_port,
                "cookie": self.cookie, "epmd_pid": self.epmd_pid}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RabbitCluster:
        nodes = [RabbitNode(**n) for n in data["nodes"]]
        return cls(Path(data["base"]), nodes, data["epmd_port"], data["cookie"], data["epmd_pid"])

    def url(self, user: str = "guest", password: str = "guest") -> str:  # noqa: S107 - the broker's default user
        """``AMQP_URL`` naming every node (contracts/nodes.py)."""
        hosts = ",".join(f"127.0.0.1:{n.amqp_port}" for n in self.nodes)
        return f"amqp://{user}:{password}@{hosts}/"

    def node(self, name: str) -> RabbitNode:
        return next(n for n in self.nodes if n.name == name or str(n.n) == name)

    # -- environment --------------------------------------------------------------------------------

    def _common(self) -> dict[str, str]:
        return {
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
        }

    def _node_env(self, node: RabbitNode) -> dict[str, str]:
        d = self.base / f"node{node.n}"
        return user_env(
            USER,
            self.base,
            {
                **self._common(),
                "RABBITMQ_NODENAME": node.name,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(node.amqp_port),
                "RABBITMQ_DIST_PORT": str(node.dist_port),
                "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
                "RABBITMQ_LOG_BASE": str(d / "log"),
                "RABBITMQ_LOGS": str(d / "log" / "node.log"),
                "RABBITMQ_PID_FILE": str(d / "pid"),
                "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
                # The distribution listens on loopback only, like the node's AMQP port.
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            },
        )

    def ctl(self, node: RabbitNode, *args: str, timeout: float = 60.0, check: bool = True) -> str:
        """``rabbitmqctl -n <node> args`` with this cluster's cookie and epmd; its output."""
        env = user_env(USER, self.base, self._common())
        return run([CTL, "-q", "-n", node.name, *args], user=USER, env=env, timeout=timeout, check=check).stdout

    # -- life cycle ---------------------------------------------------------------------------------

    def up(self) -> None:
        """Write the configuration, start epmd and every node, join nodes 2..N to node 1."""
        own(self.base, USER, 0o700)
        files = {
            ".erlang.cookie": self.cookie,
            "rabbitmq-env.conf": "",
            # No listener but the one RABBITMQ_NODE_PORT names; the guest user on loopback only (the default).
            "rabbitmq.conf": "log.console = false\nlog.file.level = info\n",
            "advanced.config": "[].\n",
            "enabled_plugins": "[].\n",
        }
        for name, text in files.items():
            path = self.base / name
            path.write_text(text)
            shutil.chown(path, USER, USER)
        (self.base / ".erlang.cookie").chmod(0o400)
        for node in self.nodes:
            own(self.base / f"node{node.n}", USER)
        epmd = [epmd_binary(), "-port", str(self.epmd_port), "-address", "127.0.0.1"]
        env = user_env(USER, self.base, {})
        self.epmd_pid = spawn(epmd, user=USER, env=env, log=self.base / "epmd.log", cwd=self.base)
        self.changed()
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(self.start_node, self.nodes))
        first, *others = self.nodes
        for node in others:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        running = self.running_nodes()
        if sorted(running) != sorted(n.name for n in self.nodes):
            raise HarnessError(f"RabbitMQ cluster not formed: running {running}")

    def start_node(self, node: RabbitNode) -> None:
        """Start ``node`` (again) and wait until it has booted (and rejoined its cluster)."""
        d = self.base / f"node{node.n}"
        (d / "pid").unlink(missing_ok=True)  # a killed node's: wait would find its dead pid
        node.pid = spawn([SERVER], user=USER, env=self._node_env(node), log=d / "server.log", cwd=self.base)
        self.changed()
        # ``wait`` on the pid file: the node writes it early, then the command waits until it has booted.
        self.ctl(node, "wait", str(d / "pid"), "--timeout", str(int(START_TIMEOUT)), timeout=START_TIMEOUT + 30)

    def kill(self, node: RabbitNode) -> None:
        """SIGKILL every process of the node (the Erlang VM included): the node is lost, not stopped."""
        signal_group(node.pid, signal.SIGKILL)
        stop_group(node.pid, timeout=10)
        node.pid = None
        self.changed()

    def stop(self, node: RabbitNode) -> None:
        """Stop the node gracefully (SIGTERM: the VM closes its connections and leaves the cluster running)."""
        stop_group(node.pid, timeout=60)
        node.pid = None
        self.changed()

    def down(self) -> None:
        """Stop every node and epmd (SIGKILL after a grace period); the directory is the caller's to remove."""
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda n: stop_group(n.pid, timeout=20), self.nodes))
        stop_group(self.epmd_pid, timeout=5)
        for node in self.nodes:
            node.pid = None
        self.epmd_pid = None

    # -- questions ----------------------------------------------------------------------------------

    def any_running(self) -> RabbitNode:
        for node in self.nodes:
            if alive(node.pid):
                return node
        raise HarnessError("no RabbitMQ node of the cluster is running")

    def running_nodes(self) -> list[str]:
        status = json.loads(self.ctl(self.any_running(), "cluster_status", "--formatter", "json"))
        return list(status.get("running_nodes", []))

    def quorum_queues(self, vhost: str = "/") -> list[dict[str, Any]]:
        """Every quorum queue with its leader, members and online members."""
        out = self.ctl(self.any_running(), "list_queues", "-p", vhost, "name", "type", "leader", "members", "online",
                       "--formatter", "json")  # fmt: skip
        return [q for q in json.loads(out or "[]") if q.get("type") == "quorum"]

    def leader_of(self, queue: str, vhost: str = "/") -> RabbitNode | None:
        for q in self.quorum_queues(vhost):
            if q["name"] == queue and q.get("leader"):
                return self.node(q["leader"])
        return None
