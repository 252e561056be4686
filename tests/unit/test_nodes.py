"""Several servers behind one URL (contracts/nodes.py), and what a failover looks like to the retry policy."""

from __future__ import annotations

from urllib.parse import quote, unquote, urlsplit

import aio_pika
import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.errors import DatabaseUnavailable
from contracts.nodes import address, hosts_in_query, node_urls
from ledger_common import amqp, db
from ledger_common.settings import Settings
from ledger_sdk.amqp import _connect

_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=12)
_hostname = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}(\.[a-z0-9]{1,5}){0,2}\Z")
_ipv6 = st.sampled_from(["[::1]", "[fe80::1]", "[2001:db8::7]"])
_host = st.tuples(st.one_of(_hostname, _ipv6), st.one_of(st.none(), st.integers(1, 65535)))


def _hostport(host: tuple[str, int | None]) -> str:
    name, port = host
    return name if port is None else f"{name}:{port}"


@given(
    user=_text,
    password=_text,
    hosts=st.lists(_host, min_size=1, max_size=5),
    vhost=st.one_of(st.just(""), _text),
    query=st.sampled_from(["", "?heartbeat=30", "?heartbeat=5&connection_timeout=3000"]),
)
def test_a_host_list_becomes_one_url_per_node_with_the_same_credentials_vhost_and_query(
    user: str, password: str, hosts: list[tuple[str, int | None]], vhost: str, query: str
) -> None:
    userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    path = "/" + quote(vhost, safe="")
    url = f"amqp://{userinfo}{','.join(_hostport(h) for h in hosts)}{path}{query}"
    urls = node_urls(url)
    assert len(urls) == len(hosts)
    for one, (name, port) in zip(urls, hosts, strict=True):
        parts = urlsplit(one)
        assert (parts.hostname, parts.port) == (name.strip("[]"), port)
        assert (unquote(parts.username or ""), unquote(parts.password or "")) == (user, password)
        assert unquote(parts.path) == "/" + vhost and ("?" + parts.query if parts.query else "") == query
        assert address(one) == f"{name.strip('[]')}:{port or ''}"  # host and port only: no credentials


@given(st.lists(st.tuples(_hostname, st.integers(1, 65535)), min_size=1, max_size=4))
def test_a_list_of_whole_urls_is_read_too_and_a_single_url_is_itself(nodes: list[tuple[str, int]]) -> None:
    whole = [f"amqps://u{n}:p{n}@{h}:{p}/v{n}" for n, (h, p) in enumerate(nodes)]
    assert node_urls(",".join(whole)) == tuple(whole)
    assert node_urls(whole[0]) == (whole[0],)


def test_a_password_may_hold_a_comma_or_an_at_sign() -> None:
    assert node_urls("amqp://u:a,b@c@h1:1,h2:2/") == ("amqp://u:a,b@c@h1:1/", "amqp://u:a,b@c@h2:2/")


@pytest.mark.parametrize("bad", ["h1,h2", "amqp://u@h1,,h2/", "amqp://u@/v"])
def test_an_empty_host_or_no_scheme_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        node_urls(bad)


def test_the_amqp_user_is_the_first_nodes_whatever_the_list() -> None:
    url = "amqp://ledger-worker:s3cret@mq1:5672,mq2:5672,mq3:5672/ledger"
    assert Settings(amqp_url=url).amqp_user == "ledger-worker"
    assert Settings(amqp_url="amqp://a@mq1/,amqp://a@mq2/").amqp_user == "a"


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction"),
        asyncpg.exceptions.TargetServerAttributeNotMatched("none of the hosts is read-write"),
        asyncpg.exceptions.CannotConnectNowError("the database system is in recovery mode"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        ConnectionResetError(104, "reset by peer"),
    ],
)
def test_what_a_failover_looks_like_is_an_outage_to_retry_not_a_bug(exc: Exception) -> None:
    assert db.is_transient(exc)
    assert isinstance(db.classify(exc), DatabaseUnavailable)


def test_sqlalchemy_reads_a_formations_hosts_from_the_query() -> None:
    from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
    from sqlalchemy.engine import make_url

    url = hosts_in_query(
        "postgresql+asyncpg://postgres@127.0.0.1:5433,127.0.0.1:5434/ledger?target_session_attrs=read-write"
    )
    _, args = PGDialect_asyncpg().create_connect_args(make_url(url))  # type: ignore[no-untyped-call]
    assert (args["host"], args["port"], args["database"]) == (["127.0.0.1", "127.0.0.1"], [5433, 5434], "ledger")
    assert args["target_session_attrs"] == "read-write" and args["user"] == "postgres"
    single = "postgresql://u:p@db:5432/x"
    assert hosts_in_query(single) == single


def test_an_unreadable_node_list_is_refused_at_start_without_echoing_it() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as refused:
        Settings(amqp_url="amqp://u:s3cret-pass@mq1,,mq3/")
    assert "s3cret-pass" not in str(refused.value)


async def test_a_node_closing_mid_handshake_is_unreachable_not_the_end_of_the_retry_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiormq raises StopAsyncIteration when a node closes the connection during the handshake (a node being
    killed: tests/e2e/test_cluster.py saw a worker exit with ``AssertionError: unreachable``). Escaping into
    tenacity's ``async for``, it ended the retry loop without a word; it is the node's loss."""

    async def closed_mid_handshake(*_: object, **__: object) -> None:
        raise StopAsyncIteration

    monkeypatch.setattr(aio_pika, "connect", closed_mid_handshake)
    url = "amqp://ledger:secret@mq1:5672,mq2:5672/vhost"
    with pytest.raises(ConnectionResetError):
        await amqp.connect_url(url, "test", retry=False)  # every node tried, then the last loss raised
    with pytest.raises(ConnectionResetError):
        await _connect.connect_any(url)  # the SDK's connection (a LogReader's) likewise
