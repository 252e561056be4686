"""Every Python snippet of README.md and sdk/README.md runs, twice, against the real gateway, worker and relay.

The snippets address the ledger ``make run`` starts (``http://127.0.0.1:8000``, the development key), or
``$LEDGER_URL`` and ``$LEDGER_API_KEY``: the test points both at its own processes, then runs each snippet as a
user would paste it (a fresh interpreter, the repository on its path) two times; each run must exit 0. Twice,
because a reader runs a quick start again (a handle taken by the first run must not break the second).

The AMQP snippets name the broker users an operator makes for them, the publisher ``orders`` (``ledger
publishers create``) and the subscriber ``billing`` (``ledger broker-setup --subscriber``), and read their
URLs from ``$LEDGER_AMQP_URL`` and ``$LEDGER_SUBSCRIBER_URL``: the test makes both users under unique
names (the broker is shared), gives those names in their place, and deletes the users and the subscriber's
queues afterwards.

Every fenced block says what it is. ``python`` blocks run, unless the line before the fence is
``<!-- snippet: not run: <why> -->`` (none is, now: keep it for one that cannot run here); those are still
compiled (top-level ``await`` allowed), so they cannot rot into invalid Python. Blocks of the languages in
:data:`NOT_PYTHON` (shell, config, output) are not Python; a block without a language, or in another one,
fails the test until it is labelled.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import pytest

from contracts.permissions import subscriber_grant
from ledger_cli.broker import delete_user, set_users, vhost_of
from ledger_cli.processes import Processes

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "README.md", ROOT / "sdk" / "README.md")
#: Fence languages that are not Python: commands, configuration, output and diagrams.
NOT_PYTHON = frozenset({"sh", "console", "text", "json", "yaml", "ini", "toml", "dotenv", "http"})
#: The line before a Python fence that marks it as not run, with the reason.
NOT_RUN = re.compile(r"^<!-- snippet: not run: (?P<why>\S.*?) -->$")
#: What the snippets call the ledger ``make run`` starts; the test's own processes stand in for it.
DOCUMENTED_URL, DOCUMENTED_KEY = "http://127.0.0.1:8000", "dev-service-key-change-me"
FENCE = re.compile(r"^```(?P<lang>\S*)\s*$")
#: The broker users the AMQP snippets name (publisher, subscriber), as they appear in the code.
DOCUMENTED_PUBLISHER, DOCUMENTED_SUBSCRIBER = '"orders"', '"billing.'


@dataclass(frozen=True)
class Snippet:
    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    not_run: str | None  # the reason, for a Python snippet marked not run

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def snippets(path: Path) -> list[Snippet]:
    """The fenced blocks of a Markdown file, in order."""
    lines = path.read_text().splitlines()
    out: list[Snippet] = []
    at = 0
    while at < len(lines):
        opened = FENCE.match(lines[at])
        if opened is None:
            at += 1
            continue
        end = next(i for i in range(at + 1, len(lines)) if lines[i].strip() == "```")
        marker = NOT_RUN.match(lines[at - 1].strip()) if at else None
        code = "\n".join(lines[at + 1 : end]) + "\n"
        out.append(Snippet(path, at + 1, opened["lang"], code, marker["why"] if marker else None))
        at = end + 1
    return out


ALL = [s for doc in DOCS for s in snippets(doc)]
RUN = [s for s in ALL if s.lang == "python" and s.not_run is None]


def test_every_block_says_what_it_is() -> None:
    unlabelled = [s.name for s in ALL if s.lang != "python" and s.lang not in NOT_PYTHON]
    assert not unlabelled, f"label these fences (python, or one of {sorted(NOT_PYTHON)}): {unlabelled}"
    markers = [s.name for s in ALL if s.not_run is not None and s.lang != "python"]
    assert not markers, f"'not run' marks Python snippets only: {markers}"
    assert len(RUN) >= 6, [s.name for s in RUN]  # the extraction found the snippets it is meant to run


@pytest.mark.parametrize("snippet", [s for s in ALL if s.not_run is not None], ids=lambda s: s.name)
def test_a_snippet_not_run_is_valid_python(snippet: Snippet) -> None:
    compile(snippet.code, snippet.name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


@dataclass(frozen=True)
class BrokerUsers:
    publisher: str
    subscriber: str
    env: dict[str, str]  # LEDGER_AMQP_URL and the others the AMQP snippets read


def _url_as(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{user}:{quote(password, safe='')}@{parts.hostname}:{parts.port or 5672}"
    return urlunsplit(parts._replace(netloc=netloc))


async def _delete_queues(url: str, names: list[str]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in names:
            await channel.queue_delete(name)


@pytest.fixture(scope="module")
def broker_users(system: Processes) -> Iterator[BrokerUsers]:
    """A publisher with ``transfer`` (``ledger publishers create``) and a subscriber, as an operator makes them."""
    settings, tag = system.settings, uuid.uuid4().hex[:10]
    publisher, subscriber = f"orders-{tag}", f"billing-{tag}"
    url, namespace = settings.amqp_url.get_secret_value(), settings.ledger_namespace
    try:
        out = system.cli("publishers", "create", publisher, "--scope", "transfer")
        found = re.search(r"password \(shown once, store it now\): (\S+)", out)
        assert found, out
        password = uuid.uuid4().hex
        set_users([subscriber_grant(namespace, subscriber)], vhost=vhost_of(url), passwords={subscriber: password})
        env = {
            "LEDGER_AMQP_URL": _url_as(url, publisher, found.group(1)),
            "LEDGER_SUBSCRIBER_URL": _url_as(url, subscriber, password),
            "LEDGER_NAMESPACE": namespace,
            "LEDGER_EVENT_KEYS": settings.event_signing_keys.get_secret_value(),
        }
        yield BrokerUsers(publisher, subscriber, env)
    finally:
        system.run_cli("publishers", "revoke", publisher, "--delete-user", check=False)
        delete_user(subscriber)
        asyncio.run(_delete_queues(url, [f"{subscriber}.ledger-events"]))


@pytest.mark.parametrize("snippet", RUN, ids=lambda s: s.name)
def test_a_snippet_runs_twice(system: Processes, snippet: Snippet, request: pytest.FixtureRequest) -> None:
    key = system.settings.service_api_key.get_secret_value()
    code = snippet.code.replace(DOCUMENTED_URL, system.base_url).replace(DOCUMENTED_KEY, key)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LEDGER_URL": system.base_url, "LEDGER_API_KEY": key}
    if "LEDGER_AMQP_URL" in code or "LEDGER_SUBSCRIBER_URL" in code:
        users: BrokerUsers = request.getfixturevalue("broker_users")
        code = code.replace(DOCUMENTED_PUBLISHER, f'"{users.publisher}"')
        code = code.replace(DOCUMENTED_SUBSCRIBER, f'"{users.subscriber}.')
        env |= users.env
    for run in (1, 2):
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, f"{snippet.name}, run {run}:\n{done.stdout}\n{done.stderr}"
