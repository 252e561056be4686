"""The gateway's command bus turns a broker lost mid-publish into BrokerUnavailable (503), never a 500."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from contracts.commands import DepositCommand
from contracts.errors import BrokerUnavailable
from http_gateway.bus import CommandBus
from ledger_common.settings import Settings


async def test_a_channel_closed_under_a_publish_is_broker_unavailable(settings: Settings) -> None:
    # Found by `ledger chaos`: a proxy cut between the connection check and the publish raised
    # ChannelInvalidStateError out of the endpoint, and the client got 500 internal_error.
    bus = CommandBus(settings, role="bus-test")
    await bus.start()
    try:
        assert bus._channel is not None
        await bus._channel.close()  # the channel is gone while the connection still looks open
        cmd = DepositCommand.model_validate(
            {
                "command_id": uuid4().hex,
                "issued_at": datetime.now(UTC),
                "payload": {"account_id": uuid4(), "amount": 1, "currency": "USD"},
            }
        )
        with pytest.raises(BrokerUnavailable):
            await bus.send(cmd, timeout=1)
    finally:
        await bus.close()
