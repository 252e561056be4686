"""The run's own world: a fresh migrated database, an AMQP namespace, the proxy, the processes' settings.

The database, namespace and processes are :class:`ledger_cli.system.OwnSystem`'s; chaos adds a proxy
in front of RabbitMQ, and the processes reach the broker only through it, so the run can cut and
stall their connections without touching anyone else's.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from pydantic import SecretStr

from contracts.nodes import node_urls
from ledger_cli.chaos.faults import CHECKER_APP_NAME
from ledger_cli.chaos.proxy import ProxyGroup
from ledger_cli.processes import Processes
from ledger_cli.system import OwnSystem
from ledger_common.settings import Settings

#: The chaos checker's own subscriber queue (``collector.py``), deleted with the namespace.
EVENTS_QUEUE = "chaos.events"


def _with_address(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"))


@dataclass
class Sandbox(OwnSystem):
    proxied: Settings  # the run's settings with the broker reached through the processes' proxies
    proxy: ProxyGroup  # every proxy, the processes' and the load's: cut and stalled together
    process_proxy: ProxyGroup  # one proxy per broker node for the processes (their connections are counted)
    load: Settings  # the run's settings with the broker reached through the load's proxies (its publishers)

    @classmethod
    async def create(cls, settings: Settings, *, prefix: str = "chaos") -> Sandbox:
        """The run's own system, and proxies in front of each broker node: the processes' and the load's."""
        own = await OwnSystem.create(settings, prefix=prefix)
        nodes = node_urls(settings.amqp_url.get_secret_value())
        upstreams = [(urlsplit(u).hostname or "127.0.0.1", urlsplit(u).port or 5672) for u in nodes]
        processes, load = ProxyGroup(upstreams), ProxyGroup(upstreams)
        for group in (processes, load):
            await group.start()

        def through(group: ProxyGroup) -> Settings:
            url = ",".join(_with_address(u, "127.0.0.1", p.port) for u, p in zip(nodes, group.proxies, strict=True))
            return own.direct.model_copy(update={"amqp_url": SecretStr(url)})

        fields = {f.name: getattr(own, f.name) for f in dataclasses.fields(OwnSystem)}
        proxy = ProxyGroup.joined(processes, load)
        return cls(**fields, proxied=through(processes), proxy=proxy, process_proxy=processes, load=through(load))

    def processes(self, settings: Settings | None = None) -> Processes:
        """The run's processes: through the proxy, polling the outbox often, with small pools."""
        tuned = (settings or self.proxied).model_copy(
            update={
                "relay_poll_seconds": 0.5,
                "db_pool_size": 5,  # the server is shared: a run's processes use about 30 connections in all
                "log_level": "INFO",
            }
        )
        return super().processes(tuned)

    async def checker_pool(self) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=3, server_settings={"application_name": CHECKER_APP_NAME}
        )
        assert pool is not None
        return pool

    async def destroy(self, *, keep: bool, keep_logs: bool, queues: tuple[str, ...] = ()) -> None:
        """Close the proxy, delete the namespace (with the checker's queue), drop the database unless ``keep``."""
        await self.proxy.close()
        checker_queue = f"{self.direct.ledger_namespace}{EVENTS_QUEUE}"
        await super().destroy(keep=keep, keep_logs=keep_logs, queues=(*queues, checker_queue))
