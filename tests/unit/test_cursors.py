"""A pagination cursor comes from the client: whatever comes back, ``pages.decode`` answers with a sort key
of the right shape or 400 ``invalid_cursor``, never any other error (a one-element list was a 500).

Every (kind, shape) the list routes decode is tried: ``grep 'pages.decode(' http_gateway/routes``.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from http_gateway import pages
from http_gateway.problems import Problem
from http_gateway.routes import history, wallets

#: kind -> (the shape its routes decode it with, a valid sort key as ``encode`` is given it).
KINDS: dict[str, tuple[TypeAdapter[Any], tuple[Any, ...]]] = {
    "w": (wallets._WALLET, (uuid.uuid4(),)),  # GET /v1/wallets
    "t": (pages.KEYSET, (datetime(2026, 11, 25, 12, tzinfo=UTC), uuid.uuid4())),  # GET /v1/transactions
    "p": (history._POSTING, (2**63 - 1,)),  # entries and wallet transactions (/me too)
    "e": (history._STREAMS, ({"w": [3, 7], "a": {str(uuid.uuid4()): 2}},)),  # wallet events (/me too)
}


def test_the_kinds_are_every_kind_the_routes_decode() -> None:
    import inspect
    import re

    from http_gateway.routes import me, transactions

    used = set()
    for module in (wallets, history, transactions, me):
        used |= set(re.findall(r'pages\.decode\(\w+, "(\w+)"', inspect.getsource(module)))
    assert used == set(KINDS)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(value: object) -> str:
    return _b64(json.dumps(value).encode())


def _decodes_or_is_invalid(cursor: str, kind: str) -> None:
    shape, _ = KINDS[kind]
    try:
        key = pages.decode(cursor, kind, shape)
    except Problem as problem:
        assert (problem.status, problem.code) == (400, "invalid_cursor")
        return
    # Accepted: a sort key of the shape the route puts in its SQL.
    if kind == "w":
        assert isinstance(key, uuid.UUID)
    elif kind == "p":
        assert type(key) is int and 0 <= key < 2**63
    elif kind == "t":
        moment, ident = key
        assert moment.tzinfo is not None and isinstance(ident, uuid.UUID)
        assert moment.utcoffset() is not None
    else:
        assert isinstance(key, history._Streams)
        assert all(0 <= p < 2**63 for p in (*key.w, *key.a.values())) and len(key.a) <= 1000


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
    | st.sampled_from(["2026-11-25T12:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
    | st.uuids().map(str),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text() | st.uuids().map(str), inner, max_size=4),
    max_leaves=12,
)
kinds = st.sampled_from(sorted(KINDS))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_cursor_this_api_issued_decodes(kind: str) -> None:
    shape, parts = KINDS[kind]
    assert pages.decode(pages.encode(kind, *parts), kind, shape) is not None


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(
    "value",
    [
        [],
        ["w"],
        ["p"],
        ["t"],
        ["e"],
        {},
        "w",
        None,
        0,
        [None],
        [["w"], 1],
        [{"w": 1}, 1],
        ["w", None],
        ["t", "x"],
        ["t", "2026-11-25T12:00:00Z"],
        ["t", "0001-01-01T00:00:00+14:00", str(uuid.UUID(int=0))],
        ["t", 0.5, str(uuid.UUID(int=0))],
        ["e", []],
        ["e", {"w": [1]}],
        ["e", {"w": [1, -1]}],
        ["e", {"a": {"not-a-uuid": 1}}],
        ["e", {"a": {str(uuid.uuid4()): 2**63}}],
        ["e", {"a": {str(uuid.UUID(int=i)): 1 for i in range(1001)}}],
        ["p", -1],
        ["p", 2**63],
        ["p", True],
        ["p", 1.0],
        ["p", "1"],
        ["w", "not-a-uuid"],
        ["w", 1, 2, 3],
    ],
)
def test_odd_shapes_are_invalid_cursors(kind: str, value: object) -> None:
    _decodes_or_is_invalid(_cursor(value), kind)


ZERO = str(uuid.UUID(int=0))


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("w", ["w"]),  # was an IndexError: a 500
        ("p", ["p"]),
        ("t", ["t"]),
        ("e", ["e"]),
        ("t", ["t", 0.5, ZERO]),  # a number is no moment (pydantic reads it as seconds since 1970)
        ("t", ["t", "0.5", ZERO]),
        ("t", ["t", 1767225600, ZERO]),
        ("t", ["t", "0001-01-01T00:00:00+14:00", ZERO]),  # before year 1 in UTC
        ("t", ["t", ["2026-01-01T00:00:00Z", ZERO, 1]]),
        ("p", ["p", True]),
        ("p", ["p", 1.0]),
        ("p", ["p", "1"]),
        ("p", ["p", -1]),
        ("p", ["p", 2**63]),
        ("w", ["w", 1]),
        ("w", ["p", 1]),  # another kind's cursor
        ("e", ["e", {"w": [1, 2, 3]}]),
        ("e", ["e", {"a": {ZERO: -1}}]),
    ],
)
def test_forged_cursors_are_refused(kind: str, value: object) -> None:
    with pytest.raises(Problem) as refused:
        pages.decode(_cursor(value), kind, KINDS[kind][0])
    assert (refused.value.status, refused.value.code) == (400, "invalid_cursor")


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "=",
        "====",
        "a",
        "!!!!",
        "é",
        "\x00",
        "W10",  # "[]" unpadded
        _b64(b"\xff\xfe\xfd"),  # not UTF-8
        _b64(b"\xef\xbb\xbf" + b'["w"]'),  # a BOM
        _b64(b"[" * 3000),  # deeper than the parser goes
        _b64(b"[" * 100_000 + b"]" * 100_000),
        _b64(b'["p", ' + b"9" * 5000 + b"]"),  # more digits than Python converts
        _b64(b'["p", 1e999]'),
        _b64(b'["w", NaN]'),
        _b64(b'["w" "x"]'),
    ],
)
def test_malformed_cursors_are_invalid_cursors(kind: str, cursor: str) -> None:
    _decodes_or_is_invalid(cursor, kind)
    with pytest.raises(Problem):
        pages.decode(cursor, kind, KINDS[kind][0])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(kind=kinds, value=json_values)
@example(kind="w", value=["w"])
def test_any_json_value_is_a_sort_key_or_an_invalid_cursor(kind: str, value: object) -> None:
    _decodes_or_is_invalid(_cursor(value), kind)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(kind=kinds, tag=kinds | st.text(max_size=3), parts=st.lists(json_values, max_size=3))
def test_any_list_tagged_with_a_kind_is_a_sort_key_or_an_invalid_cursor(
    kind: str, tag: str, parts: list[object]
) -> None:
    _decodes_or_is_invalid(_cursor([tag, *parts]), kind)


@settings(max_examples=300)
@given(kind=kinds, cursor=st.text(max_size=64))
def test_any_string_is_a_sort_key_or_an_invalid_cursor(kind: str, cursor: str) -> None:
    _decodes_or_is_invalid(cursor, kind)


@settings(max_examples=300)
@given(kind=kinds, raw=st.binary(max_size=64))
def test_any_bytes_are_a_sort_key_or_an_invalid_cursor(kind: str, raw: bytes) -> None:
    _decodes_or_is_invalid(_b64(raw), kind)
