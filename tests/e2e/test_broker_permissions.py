"""``ledger broker-setup`` for real, in a throwaway vhost: every user can do its job and nothing else.

The gateway, worker and relay then run as those users (passive declares, as in docker-compose), an
upstream publisher gets its command's reply, and a subscriber receives the events.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aio_pika
import httpx
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from aiormq.exceptions import ChannelAccessRefused, ChannelPreconditionFailed

from contracts.events import EventEnvelope
from contracts.permissions import Grant, service_grants, subscriber_grant
from contracts.results import CommandResult
from contracts.topology import Topology
from ledger_cli.broker import definitions, password_variable
from ledger_cli.processes import CODE_ROOT, Processes
from ledger_sdk.amqp.log import LogReader
from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.e2e


class Broker:
    """A vhost and users of one test: names, passwords, connections."""

    def __init__(self, namespace: str) -> None:
        tag = uuid.uuid4().hex[:10]
        self.vhost = f"t-{tag}"
        self.prefix = f"t{tag}-"
        self.publisher, self.subscriber = f"p{tag}", f"s{tag}"
        self.namespace = namespace
        self.users = [f"{self.prefix}{r}" for r in ("gateway", "worker", "relay")] + [self.publisher, self.subscriber]
        self.passwords = {u: uuid.uuid4().hex for u in self.users}

    def url(self, user: str) -> str:
        return f"amqp://{user}:{self.passwords[user]}@127.0.0.1:5672/{self.vhost}"

    def env(self) -> dict[str, str]:
        return {password_variable(u): p for u, p in self.passwords.items()}

    def n(self, name: str) -> str:
        return f"{self.namespace}{name}"


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=False, capture_output=True, timeout=60)


@pytest.fixture
def broker(isolated: Processes) -> Iterator[Broker]:
    b = Broker(isolated.settings.ledger_namespace)
    yield b
    isolated.stop_all()
    for user in b.users:
        _ctl("delete_user", user)
    _ctl("delete_vhost", b.vhost)


def _setup(system: Processes, b: Broker) -> subprocess.CompletedProcess[str]:
    users = ["--user-prefix", b.prefix, "--publisher", b.publisher, "--scope", "wallets", "--subscriber", b.subscriber]
    # --max-message-size 0: the machine's own broker is shared and never reconfigured (test_broker_max_size.py
    # checks the setting on a broker node of the test's own).
    return system.run_cli(
        "broker-setup", "--vhost", b.vhost, *users, "--max-message-size", "0", env=b.env(), check=False, timeout=120
    )


async def _connect(b: Broker, user: str) -> AbstractRobustConnection:
    return await aio_pika.connect_robust(b.url(user))


async def _refused(connection: AbstractRobustConnection, action: Callable[[AbstractChannel], Awaitable[Any]]) -> None:
    """``action`` on a fresh channel is refused with ACCESS_REFUSED (403), which closes that channel."""
    with pytest.raises(ChannelAccessRefused):
        await _allowed(connection, action)


async def _allowed(connection: AbstractRobustConnection, action: Callable[[AbstractChannel], Awaitable[Any]]) -> None:
    channel = await connection.channel(publisher_confirms=True)
    await action(channel)
    await asyncio.sleep(0.1)
    await channel.set_qos(prefetch_count=1)  # needs no permission: fails only if the channel was closed
    await channel.close()


async def _publish(channel: AbstractChannel, exchange: str, body: bytes, **props: Any) -> None:
    ex = await channel.declare_exchange(exchange, passive=True)
    await ex.publish(aio_pika.Message(body, **props), routing_key="account.open")


@pytest.fixture
async def connections(broker: Broker) -> AsyncIterator[dict[str, AbstractRobustConnection]]:
    out: dict[str, AbstractRobustConnection] = {}
    yield out
    for c in out.values():
        await c.close()


async def test_broker_setup_grants_least_privilege(
    isolated: Processes, broker: Broker, connections: dict[str, AbstractRobustConnection]
) -> None:
    b = broker
    first, again = _setup(isolated, b), _setup(isolated, b)  # idempotent
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert not any(p in first.stdout + first.stderr + again.stdout for p in b.passwords.values())

    gateway, worker, relay = (f"{b.prefix}{r}" for r in ("gateway", "worker", "relay"))
    for name, user in (("worker", worker), ("relay", relay), ("gateway", gateway)):
        isolated.start(name, env={"AMQP_URL": b.url(user), "AMQP_DECLARE": "false", "AMQP_GATEWAY_USERS": gateway})
    for user in b.users:
        connections[user] = await _connect(b, user)
    pub, sub = connections[b.publisher], connections[b.subscriber]

    # Subscriber: its own queue, bound to the events; nothing on the command side.
    sub_channel = await sub.channel()
    events_queue = await sub_channel.declare_queue(f"{b.subscriber}.events", durable=True)
    await events_queue.bind(b.n("ledger.events"), routing_key="#")
    received: list[AbstractIncomingMessage] = []

    async def collect(message: AbstractIncomingMessage) -> None:
        received.append(message)

    await events_queue.consume(collect, no_ack=True)
    await _allowed(sub, lambda ch: _bind(ch, f"{b.subscriber}.events", b.n("ledger.events")))  # controls
    await _allowed(connections[relay], lambda ch: _publish(ch, b.n("ledger.events"), b"{}"))
    await _refused(sub, lambda ch: _publish(ch, b.n("ledger.commands"), b"{}"))
    await _refused(sub, lambda ch: _bind(ch, f"{b.subscriber}.events", b.n("ledger.commands")))
    await _refused(sub, lambda ch: _consume(ch, b.n("ledger.commands.worker")))
    await _refused(sub, lambda ch: ch.declare_queue(f"{b.publisher}.replies.stolen"))

    # Publisher: commands only (plus its own reply queue); no declaring, consuming or publishing elsewhere.
    pub_channel = await pub.channel(publisher_confirms=True)
    replies = await pub_channel.declare_queue(f"{b.publisher}.replies.1", exclusive=True)
    results: list[CommandResult] = []

    async def on_reply(message: AbstractIncomingMessage) -> None:
        results.append(CommandResult.model_validate_json(message.body))

    await replies.consume(on_reply, no_ack=True)
    command = {"command_id": f"pub-{uuid.uuid4().hex}", "type": "account.open", "issued_at": "2026-01-01T00:00:00Z",
               "reply_to": replies.name, "payload": {"currency": "USD"}}  # fmt: skip
    await _publish(pub_channel, b.n("ledger.commands"), json.dumps(command).encode(), user_id=b.publisher)
    await wait_until(lambda: _true(results))
    assert results[0].status == "applied"  # as amqp:<publisher>, with the scope broker-setup granted it
    # Its identity is the broker-checked user, never the body's: claiming to be the bootstrap service
    # (or anyone) is recorded as refused; a scope it was not granted is refused too.
    forged = {**command, "command_id": f"pub-{uuid.uuid4().hex}", "principal": "service"}
    await _publish(pub_channel, b.n("ledger.commands"), json.dumps(forged).encode(), user_id=b.publisher)
    deposit = {**command, "command_id": f"pub-{uuid.uuid4().hex}", "type": "deposit",
               "payload": {"account_id": str(results[0].account_id), "amount": 5, "currency": "USD"}}  # fmt: skip
    await _publish(pub_channel, b.n("ledger.commands"), json.dumps(deposit).encode(), user_id=b.publisher)
    await wait_until(lambda: _true(len(results) == 3))
    refusals = {r.command_id: r.refusal for r in results}
    assert [refusals[str(forged["command_id"])], refusals[str(deposit["command_id"])]] == [
        "forbidden_principal",
        "forbidden_scope",
    ]
    # RabbitMQ itself refuses a user_id that is not the connection's user: nobody can pose as another.
    with pytest.raises(ChannelPreconditionFailed):
        await _allowed(pub, lambda ch: _publish(ch, b.n("ledger.commands"), b"{}", user_id=f"{b.prefix}gateway"))
    await _refused(pub, lambda ch: ch.declare_queue("anything"))
    await _refused(
        pub, lambda ch: ch.declare_exchange(b.n("ledger.commands"), aio_pika.ExchangeType.TOPIC, durable=True)
    )
    await _refused(pub, lambda ch: _consume(ch, b.n("ledger.commands.worker")))
    await _refused(pub, lambda ch: _publish(ch, b.n("ledger.events"), b"{}"))
    await _refused(pub, lambda ch: _bind(ch, replies.name, b.n("ledger.events")))

    # Service users: each only its own job.
    await _refused(connections[relay], lambda ch: _publish(ch, b.n("ledger.commands"), b"{}"))
    await _refused(connections[relay], lambda ch: _consume(ch, b.n("ledger.commands.worker")))
    await _refused(connections[worker], lambda ch: _publish(ch, b.n("ledger.events"), b"{}"))
    await _refused(connections[gateway], lambda ch: _consume(ch, b.n("ledger.commands.worker")))
    # The gateway reads the command dead letters (GET /v1/admin/dead_letters), and no other command queue.
    await _allowed(connections[gateway], lambda ch: _get(ch, b.n("ledger.commands.dead")))
    await _refused(connections[gateway], lambda ch: _publish(ch, b.n("ledger.events"), b"{}"))
    await _refused(connections[gateway], lambda ch: ch.declare_queue(b.n("ledger.gateway.replies.x")))

    # And the real processes, running as those users, serve HTTP end to end.
    token = isolated.settings.service_api_key.get_secret_value()
    async with httpx.AsyncClient(
        base_url=isolated.base_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
    ) as c:
        account = str(results[0].account_id)
        r = await c.post("/v1/deposits", json={"account_id": account, "amount": 9, "currency": "USD"},
                         headers={"Idempotency-Key": uuid.uuid4().hex})  # fmt: skip
        assert r.status_code == 200, r.text
        dead = await c.get("/v1/admin/dead_letters", params={"source": "commands"})
        assert dead.status_code == 200 and dead.json()["dead_letters"] == [], dead.text
        assert (await c.get("/v1/admin/operations")).json()["dead_letters"]["commands"] == 0
    await wait_until(lambda: _true([m for m in received if m.routing_key == "account.credited"]))
    assert {m.routing_key for m in received} >= {"account.opened", "account.credited"}

    # The event log: the relay (as its user) published it; the subscriber reads it, nobody else writes it.
    read: list[str] = []
    log_reader = LogReader(b.url(b.subscriber), name="perm", signing_keys=None, namespace=b.namespace)
    stop = asyncio.Event()

    async def on_event(event: EventEnvelope) -> None:
        read.append(event.type)
        if event.type == "account.credited":
            stop.set()

    await asyncio.wait_for(log_reader.run(on_event, stop=stop), 60)
    assert read[0] == "account.opened" and read[-1] == "account.credited"
    await _refused(sub, lambda ch: _publish(ch, b.n("ledger.events.log"), b"{}"))
    await _refused(pub, lambda ch: _consume(ch, b.n("ledger.events.log")))


async def _true(value: object) -> bool:
    return bool(value)


async def _bind(channel: AbstractChannel, queue: str, exchange: str) -> None:
    q = await channel.declare_queue(queue, passive=True)
    await q.bind(exchange, routing_key="#")


async def _consume(channel: AbstractChannel, queue: str) -> None:
    q = await channel.declare_queue(queue, passive=True)
    await q.consume(_ignore)


async def _get(channel: AbstractChannel, queue: str) -> None:
    q = await channel.declare_queue(queue, passive=True)
    await q.get(no_ack=False, fail=False)  # nothing there; a message would go back when the channel closes


async def _ignore(message: AbstractIncomingMessage) -> None:
    return None


DEFINITIONS = CODE_ROOT / "deploy" / "rabbitmq" / "definitions.json"
DEV_PASSWORDS = {
    "ledger-gateway": "gateway-dev-password",
    "ledger-worker": "worker-dev-password",
    "ledger-relay": "relay-dev-password",
    "ledger-admin": "admin-dev-password",
}


def _hash_matches(stored: str, password: str) -> bool:
    raw = base64.b64decode(stored)
    return raw[4:] == hashlib.sha256(raw[:4] + password.encode()).digest()


def test_compose_definitions_are_generated_from_the_same_grants() -> None:
    """deploy/rabbitmq/definitions.json is what ``broker-setup --write-definitions`` makes (see docs)."""
    committed = json.loads(DEFINITIONS.read_text())
    fresh = definitions(service_grants(""), Topology(""), vhost="ledger", passwords=DEV_PASSWORDS, admin="ledger-admin")
    for doc in (committed, fresh):
        for user in doc["users"]:
            assert _hash_matches(user.pop("password_hash"), DEV_PASSWORDS[user["name"]])
    assert committed == fresh


def test_rabbitmq_accepts_our_password_hashes() -> None:
    user, vhost, password = f"t{uuid.uuid4().hex[:10]}-probe", f"t-{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    grant = subscriber_grant("", "probe")
    doc = definitions([Grant(user, grant.configure, grant.write, grant.read)], Topology("x."), vhost=vhost,
                      passwords={user: password})  # fmt: skip
    try:
        subprocess.run(["rabbitmqctl", "-q", "import_definitions"], input=json.dumps(doc), text=True, check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        ok = subprocess.run(["rabbitmqctl", "-q", "authenticate_user", user, password], capture_output=True, timeout=60)
        bad = subprocess.run(["rabbitmqctl", "-q", "authenticate_user", user, "wrong"], capture_output=True, timeout=60)
        assert ok.returncode == 0 and bad.returncode != 0
    finally:
        _ctl("delete_user", user)
        _ctl("delete_vhost", vhost)


@pytest.mark.parametrize("name", ["ledger", "amq", "x", "Billing", "tns"])
def test_names_that_would_overlap_the_ledger_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        subscriber_grant("tns.", name)
