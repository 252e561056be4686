"""``ledger broker-setup``: RabbitMQ users, vhost, permissions and topology, least privilege each.

Runs ``rabbitmqctl`` on the broker host; idempotent (re-running resets passwords from the
environment and permissions to what is below). Passwords come from ``BROKER_PASSWORD_<USER>``
(user name upper-cased, other characters as ``_``) and are passed on stdin, never on a command
line, never printed. The regexes are declared in contracts/permissions.py and documented in docs/topology.md
("Broker permissions").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from contracts.bounds import MAX_BODY_BYTES
from contracts.errors import Rejected
from contracts.permissions import Grant, publisher_grant, service_grants, subscriber_grant
from contracts.topology import Topology
from ledger_common.settings import Settings


def password_variable(user: str) -> str:
    return "BROKER_PASSWORD_" + re.sub(r"[^A-Z0-9]", "_", user.upper())


def passwords(grants: list[Grant], env: Mapping[str, str]) -> dict[str, str]:
    """Each user's password from the environment; refuses to go on with any missing."""
    missing = [password_variable(g.user) for g in grants if not env.get(password_variable(g.user))]
    if missing:
        raise ValueError(f"set {', '.join(missing)} (the users' passwords)")
    return {g.user: env[password_variable(g.user)] for g in grants}


def rabbit_password_hash(password: str) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: base64(salt || sha256(salt || password))."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def definitions(
    grants: list[Grant], topology: Topology, *, vhost: str, passwords: Mapping[str, str], admin: str | None = None
) -> dict[str, Any]:
    """Everything as one RabbitMQ definitions document (what docker-compose loads at boot)."""
    users = [g.user for g in grants] + ([admin] if admin else [])
    full = [Grant(admin, ".*", ".*", ".*")] if admin else []
    return {
        "users": [
            {
                "name": u,
                "password_hash": rabbit_password_hash(passwords[u]),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"] if u == admin else [],
            }
            for u in users
        ],
        "vhosts": [{"name": vhost}],
        "permissions": [
            {"user": g.user, "vhost": vhost, "configure": g.configure, "write": g.write, "read": g.read}
            for g in grants + full
        ],
        **topology.definitions(vhost),
    }


class BrokerSetupError(Rejected, RuntimeError):
    """rabbitmqctl is missing or refused a step; running it again unchanged would fail the same way."""


def _ctl(*args: str, stdin: str | None = None) -> str:
    exe = shutil.which("rabbitmqctl")
    if exe is None:
        raise BrokerSetupError("rabbitmqctl not found: run this on a broker node")
    done = subprocess.run(  # noqa: S603 - fixed executable, arguments are names, secrets go on stdin
        [exe, "-q", *args], input=stdin, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise BrokerSetupError(f"rabbitmqctl {args[0]} failed: {done.stderr.strip()[:500]}")
    return done.stdout


def set_max_message_size(size: int, ctl: Callable[..., str] | None = None) -> None:
    """The broker refuses a message over ``size`` bytes (the channel is closed with 406), for every vhost:
    a publisher cannot make the broker store or the worker read megabytes (contracts.bounds.MAX_BODY_BYTES).

    Set at run time on the node ``rabbitmqctl`` reaches (each node of a cluster needs it) and lost on its
    restart: put ``max_message_size`` in rabbitmq.conf too, as deploy/rabbitmq/rabbitmq.conf does."""
    (ctl or _ctl)("eval", f"application:set_env(rabbit, max_message_size, {int(size)}).")


def apply(grants: list[Grant], topology: Topology, *, vhost: str, passwords: Mapping[str, str]) -> None:
    """Create or update the vhost, users, passwords and permissions, then import the topology."""
    if vhost not in _ctl("-s", "list_vhosts", "name").split():
        _ctl("add_vhost", vhost)
    set_users(grants, vhost=vhost, passwords=passwords)
    _ctl("import_definitions", stdin=json.dumps(topology.definitions(vhost)))


def set_users(grants: list[Grant], *, vhost: str, passwords: Mapping[str, str]) -> None:
    """Create each user (or reset its password) and set its permissions in ``vhost``, which must exist."""
    if vhost not in _ctl("-s", "list_vhosts", "name").split():
        raise BrokerSetupError(f"vhost {vhost!r} does not exist: run `ledger broker-setup` first")
    existing = {line.split("\t")[0] for line in _ctl("-s", "list_users").splitlines() if line}
    for g in grants:
        verb = "change_password" if g.user in existing else "add_user"
        _ctl(verb, g.user, stdin=passwords[g.user] + "\n")
        _ctl("set_permissions", "-p", vhost, g.user, g.configure, g.write, g.read)


def delete_user(user: str) -> bool:
    """Delete a broker user (its connections are closed); False if there was none."""
    if user not in {line.split("\t")[0] for line in _ctl("-s", "list_users").splitlines() if line}:
        return False
    _ctl("delete_user", user)
    return True


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    b = sub.add_parser("broker-setup", help="create RabbitMQ users, vhost, permissions and topology (rabbitmqctl)")
    b.add_argument("--vhost", default=None, help="default: the vhost of AMQP_URL")
    b.add_argument("--user-prefix", default="ledger-", help="service users are <prefix>gateway|worker|relay")
    b.add_argument("--publisher", action="append", default=[], help="upstream publisher user (repeatable)")
    from ledger_cli.publishers import add_scope_arguments

    add_scope_arguments(b)  # --scope/--wallet: what the --publisher users may do (written to the database)
    b.add_argument("--subscriber", action="append", default=[], help="downstream subscriber user (repeatable)")
    b.add_argument("--write-definitions", type=Path, default=None, help="write a definitions file instead")
    b.add_argument("--admin", default=None, help="with --write-definitions: also an administrator user")
    b.add_argument(
        "--max-message-size",
        type=int,
        default=MAX_BODY_BYTES,
        help=f"the broker's max_message_size in bytes, for every vhost (default {MAX_BODY_BYTES}, the body bound;"
        " 0 leaves the broker's own)",
    )


def broker_setup(settings: Settings, args: argparse.Namespace) -> int:
    namespace = settings.ledger_namespace
    vhost = args.vhost or vhost_of(settings.amqp_url.get_secret_value())
    try:
        grants = service_grants(namespace, args.user_prefix)
        grants += [publisher_grant(namespace, p) for p in args.publisher]
        grants += [subscriber_grant(namespace, s) for s in args.subscriber]
        users = grants + ([Grant(args.admin, "", "", "")] if args.admin else [])
        secret = passwords(users, os.environ)
        topology = Topology(namespace, partitions=settings.command_partitions)  # COMMAND_PARTITIONS
        if args.write_definitions:
            doc = definitions(grants, topology, vhost=vhost, passwords=secret, admin=args.admin)
            args.write_definitions.write_text(json.dumps(doc, indent=2) + "\n")
            print(f"wrote {args.write_definitions} ({len(users)} users, vhost {vhost})")
        else:
            apply(grants, topology, vhost=vhost, passwords=secret)
            print(f"vhost {vhost}: {len(grants)} users and permissions set, topology declared")
            if args.max_message_size > 0:
                set_max_message_size(args.max_message_size)
                print(f"broker max_message_size: {args.max_message_size} bytes")
        if args.publisher and not args.write_definitions:
            from ledger_cli.publishers import grant_all

            asyncio.run(grant_all(settings, args.publisher, args))
            print(f"publishers {', '.join(args.publisher)}: {', '.join(sorted(args.scope)) or 'no scope'}")
    except (ValueError, BrokerSetupError) as exc:
        print(f"ledger broker-setup: {exc}", file=sys.stderr)
        return 2
    return 0


def vhost_of(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    path = urlsplit(url).path
    return unquote(path[1:]) if len(path) > 1 else "/"
