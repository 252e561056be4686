"""Which command-queue partition a command goes to: the same subject, the same partition, in order.

With ``COMMAND_PARTITIONS=N`` (N > 1) the command exchange routes ``p<k>.<type>`` onto the quorum queue
of partition ``k``, each consumed by one worker at a time (single active consumer), so N workers own
disjoint sets of subjects and apply each subject's commands in the order they were published.

The subject is what a command is about, read from the catalogue's declarations, never from names:
the first party of the payload (the paying side of a transfer, the holder of a hold), else its first
declared reference (the hold of a capture, the wallet of a freeze), else the command itself. A
subject named two ways (``@alice`` and her wallet id) may land on two partitions: correctness never
depends on the partition (the worker locks what it changes), only the order between those two does.
"""

from __future__ import annotations

import zlib

from pydantic import BaseModel

from contracts.commands import Command
from contracts.ids import command_scope
from contracts.refs import parties, walk


def partition_key(cmd: Command) -> str:
    """The subject whose commands must stay in order: see the module docstring."""
    payload: BaseModel = cmd.payload
    for party in parties(type(payload)):
        for name in (party.wallet_field, party.account_field):
            value = getattr(payload, name)
            if value is not None:
                return str(value)
    for _, value in walk(payload):
        if value is not None and not isinstance(value, tuple):
            return str(value)
    return command_scope(cmd.principal, cmd.command_id)


def partition_of(key: str, partitions: int) -> int:
    """A stable partition for ``key`` (CRC-32: the same in every process, language and release)."""
    return zlib.crc32(key.encode()) % partitions if partitions > 1 else 0


def routing_key(cmd: Command, partitions: int) -> str:
    """The routing key to publish ``cmd`` with on the command exchange."""
    if partitions <= 1:
        return cmd.type
    return f"p{partition_of(partition_key(cmd), partitions)}.{cmd.type}"


def lane_of(key: str, *, partitions: int, lanes: int) -> int:
    """The lane of a worker that ``key``'s commands share: a hash independent of the partition's
    (``crc % partitions`` is the same for every key of one partition)."""
    return (zlib.crc32(key.encode()) // max(1, partitions)) % lanes
