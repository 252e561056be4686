"""``ledger publishers … --help`` shows how several scopes are given, with examples that parse."""

from __future__ import annotations

import shlex

import pytest

from ledger_cli.main import main


@pytest.mark.parametrize("action", ["create", "grant"])
def test_the_help_shows_several_scopes_with_an_example(action: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["publishers", action, "--help"])
    text = capsys.readouterr().out
    assert "repeat" in text and "--scope transfer --scope holds" in text
    examples = [line.strip() for line in text.splitlines() if line.strip().startswith("ledger publishers ")]
    assert any(e.startswith(f"ledger publishers {action} ") for e in examples)


def test_the_examples_parse_as_several_scopes() -> None:
    import argparse

    from ledger_cli import publishers
    from ledger_cli.publishers import EXAMPLES

    parser = argparse.ArgumentParser(prog="ledger")
    publishers.add_parser(parser.add_subparsers(dest="command"))
    for line in EXAMPLES.splitlines():
        if line.strip().startswith("ledger publishers "):
            args = parser.parse_args(shlex.split(line)[1:])
            assert len(args.scope) >= 1 and line.count("--scope") == len(args.scope)


@pytest.mark.parametrize("name", ["ledger-gateway", "ledger-worker", "guest", "ledger"])
def test_create_refuses_service_and_gateway_users_before_touching_the_broker(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse
    import asyncio

    from ledger_cli.publishers import create
    from ledger_common.settings import Settings

    args = argparse.Namespace(name=name, scope=["transfer"], wallet=None, vhost=None)
    settings = Settings(amqp_url="amqp://guest:guest@127.0.0.1:5672/")  # guest: a gateway user by default
    assert asyncio.run(create(settings, args)) == 2
    assert "ledger publishers create:" in capsys.readouterr().err
