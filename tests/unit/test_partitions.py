"""Partition routing: stable, spread, and agreeing with the topology's bindings."""

from __future__ import annotations

import uuid
import zlib
from collections import Counter
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from contracts.catalogue import SPECS
from contracts.commands import Command, build_command
from contracts.partitions import lane_of, partition_key, partition_of, routing_key
from contracts.topology import Topology
from ledger_cli.processes import deal


def _transfer(debit: str | uuid.UUID, command_id: str = "c1") -> Command:
    party = {"debit_wallet": debit} if isinstance(debit, str) else {"debit_account_id": debit}
    return build_command(
        "transfer",
        {**party, "credit_wallet": "@shop", "amount": 5, "currency": "USD"},
        command_id=command_id,
        issued_at=datetime.now(UTC),
    )


def test_the_subject_of_a_transfer_is_its_paying_side() -> None:
    assert partition_key(_transfer("@alice")) == "@alice"
    account = uuid.uuid4()
    assert partition_key(_transfer(account)) == str(account)


def test_a_capture_goes_with_its_hold() -> None:
    hold = uuid.uuid4()
    cmd = build_command("hold.capture", {"hold_id": hold}, command_id="c", issued_at=datetime.now(UTC))
    assert partition_key(cmd) == str(hold)


def test_crc32_pins_the_partition_in_every_language() -> None:
    # The IEEE CRC-32 (check value 0xCBF43926) that any publisher's language has: pinned, not ours to change.
    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert partition_of("123456789", 7) == 0xCBF43926 % 7
    assert partition_of("@alice", 8) == 1597431957 % 8


@given(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=64))
def test_partition_is_in_range_and_stable(key: str, partitions: int) -> None:
    assert 0 <= partition_of(key, partitions) < partitions
    assert partition_of(key, partitions) == partition_of(key, partitions)


def test_one_partition_keeps_the_bare_type() -> None:
    assert routing_key(_transfer("@alice"), 1) == "transfer"
    assert routing_key(_transfer("@alice"), 4) == f"p{partition_of('@alice', 4)}.transfer"


def test_lanes_of_one_partition_are_all_used() -> None:
    """``crc % partitions`` is the same for a partition's keys: the lane must not be ``crc % lanes``."""
    keys = [str(uuid.uuid4()) for _ in range(2000)]
    for partitions, lanes in ((2, 2), (4, 2), (4, 4), (1, 3)):
        mine = [k for k in keys if partition_of(k, partitions) == 0]
        used = Counter(lane_of(k, partitions=partitions, lanes=lanes) for k in mine)
        assert set(used) == set(range(lanes)), (partitions, lanes)
        assert min(used.values()) > len(mine) / lanes / 2


def test_bindings_cover_every_routing_key_once() -> None:
    t = Topology("ns.", partitions=3)
    keys = {p: t.binding_keys(p) for p in range(3)}
    assert t.command_queues == tuple(f"ns.ledger.commands.worker.{p}" for p in range(3))
    assert all(f"p{p}.#" in keys[p] for p in range(3))
    assert set(keys[0]) - {"p0.#"} == set(SPECS)  # bare types from partition-unaware publishers land on 0
    assert all(set(keys[p]) == {f"p{p}.#"} for p in (1, 2))
    assert t.queue_arguments()["x-single-active-consumer"] is True
    single = Topology("ns.")
    assert single.command_queues == ("ns.ledger.commands.worker",) and single.binding_keys(0) == ("#",)
    assert "x-single-active-consumer" not in single.queue_arguments()  # the existing queue's arguments


@given(st.integers(min_value=1, max_value=16), st.integers(min_value=1, max_value=8))
def test_partitions_are_dealt_to_every_worker(partitions: int, workers: int) -> None:
    owned = deal(partitions, workers)
    assert len(owned) == workers and all(owned)
    assert set().union(*map(set, owned)) == set(range(partitions))
