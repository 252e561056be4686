"""``ledger publishers create``: one command makes a publisher that works, on the real local RabbitMQ.

Its broker user, its vhost permissions and its scopes: the user connects, declares its own reply queue,
sends a command its scope allows and gets the reply; it may declare nothing else; a command outside its
scopes is refused. ``revoke --delete-user`` removes both again."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import uuid
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from aiormq.exceptions import ChannelAccessRefused

from contracts.publishing import MISSING_USER_ID
from contracts.topology import DEAD_LETTER_REASON_HEADER
from ledger_cli.processes import Processes
from ledger_sdk.amqp import CommandPublisher

pytestmark = pytest.mark.e2e


def _users() -> set[str]:
    done = subprocess.run(["rabbitmqctl", "-q", "-s", "list_users"], capture_output=True, text=True, check=True)
    return {line.split("\t")[0] for line in done.stdout.splitlines() if line}


def _url_as(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{parts.hostname}:{parts.port or 5672}"))


async def test_one_command_makes_a_working_publisher(system: Processes) -> None:
    name = f"pub-{uuid.uuid4().hex[:12]}"
    try:
        out = system.cli("publishers", "create", name, "--scope", "wallets", "--scope", "read")
        password = re.search(r"password \(shown once, store it now\): (\S+)", out)
        assert password and f"publisher {name}: read, wallets" in out, out
        assert name in _users()
        url = _url_as(system.settings.amqp_url.get_secret_value(), name, password.group(1))
        namespace = system.settings.ledger_namespace
        async with CommandPublisher(url, user=name, namespace=namespace) as ledger:
            assert ledger.reply_queue.startswith(f"{name}.replies.")
            created = await ledger.send("wallet.create", {"owner_id": f"owner-{name}"})
            assert created.status == "applied", created
            refused = await ledger.send(
                "deposit", {"wallet": str(created.wallet_id), "amount": 5, "currency": "USD"}, raise_refused=False
            )
            assert refused.status == "refused" and refused.refusal == "forbidden_scope", refused
        connection = await aio_pika.connect(url)
        async with connection:
            channel = await connection.channel()
            with pytest.raises(ChannelAccessRefused):  # only its own <name>.replies.* queues
                await channel.declare_queue(f"{namespace}someone-else.{name}", auto_delete=True)
        listed = system.cli("publishers", "list")
        assert f"{name}\tread,wallets\t-" in listed
    finally:
        out = system.run_cli("publishers", "revoke", name, "--delete-user", check=False).stdout
    assert f"broker user {name} deleted" in out
    assert name not in _users()


async def test_a_command_without_user_id_is_dead_lettered_with_the_documented_reason(
    amqp: AbstractRobustConnection, system: Processes
) -> None:
    topology = system.settings.topology
    message_id = f"no-user-{uuid.uuid4().hex}"
    body = {"command_id": message_id, "type": "wallet.create", "issued_at": "2026-01-01T00:00:00Z"}
    channel = await amqp.channel(publisher_confirms=True)
    try:
        exchange = await channel.get_exchange(topology.commands_exchange)
        await exchange.publish(
            aio_pika.Message(json.dumps({**body, "payload": {"owner_id": "x"}}).encode(), message_id=message_id),
            routing_key="wallet.create",
        )
        dead = await channel.get_queue(topology.commands_dead_queue)
        deadline = asyncio.get_running_loop().time() + 30
        while asyncio.get_running_loop().time() < deadline:
            message = await dead.get(no_ack=False, fail=False)
            if message is None:
                await asyncio.sleep(0.1)
            elif message.message_id != message_id:
                continue  # someone else's: handed back when the channel closes
            else:
                await message.ack()
                assert (message.headers or {}).get(DEAD_LETTER_REASON_HEADER) == MISSING_USER_ID
                return
        pytest.fail("the command without user_id was not dead-lettered")
    finally:
        await channel.close()
