"""The SDK's AMQP helpers name a cluster like the ledger's own AMQP_URL (contracts/nodes.py): a node that
does not answer is passed over for one that does; none answering raises what the last one did."""

from __future__ import annotations

import pytest

from ledger_cli.processes import free_port
from ledger_sdk.amqp._connect import UNREACHABLE, connect_any
from tests.conftest import AMQP_URL


async def test_a_node_that_does_not_answer_is_passed_over() -> None:
    live = AMQP_URL.split("@", 1)[1].split("/", 1)[0]
    url = AMQP_URL.replace(live, f"127.0.0.1:{free_port()},{live},127.0.0.1:{free_port()}")
    for _ in range(5):  # from a random node on: whichever it starts from, the live one is reached
        connection = await connect_any(url)
        await connection.close()


async def test_no_node_answering_raises() -> None:
    live = AMQP_URL.split("@", 1)[1].split("/", 1)[0]
    with pytest.raises(UNREACHABLE):
        await connect_any(AMQP_URL.replace(live, f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"))
