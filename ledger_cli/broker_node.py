"""A RabbitMQ node of our own: a test restarts it without touching the machine's broker (5672), and
``ledger bench --log`` measures the broker's CPU with nothing else on it.

One node of ``ledger cluster``'s harness (``ledger_cli/cluster/rabbit.py``): run as the ``rabbitmq`` user
with its own cookie, epmd, free loopback ports and a temporary directory; stopped (and its directory
removed) by whoever started it. Restarting keeps the data directory, so durable queues and streams come
back as after any broker restart.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ledger_cli.cluster.rabbit import SERVER, RabbitCluster


def available() -> bool:
    """RabbitMQ's scripts and its service user exist here (and we may switch to that user)."""
    return Path(SERVER).exists() and shutil.which("runuser") is not None and os.geteuid() == 0


class BrokerNode:
    def __init__(self) -> None:
        self._cluster = RabbitCluster.plan(Path(tempfile.mkdtemp(prefix="ledger-broker-")), size=1)
        (self._node,) = self._cluster.nodes
        self._started = False

    @property
    def node(self) -> str:
        return self._node.name

    @property
    def url(self) -> str:
        return self._cluster.url()

    def start(self) -> None:
        if not self._started:
            self._cluster.up()  # epmd and the node, configured
            self._started = True
        else:
            self._cluster.start_node(self._node)

    def stop(self) -> None:
        if self._node.pid is not None:
            self._cluster.stop(self._node)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def pid(self) -> int | None:
        """The node's Erlang VM (for its CPU time), from its pid file."""
        try:
            return int((self._cluster.base / f"node{self._node.n}" / "pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def destroy(self) -> None:
        self._cluster.down()
        shutil.rmtree(self._cluster.base, ignore_errors=True)
