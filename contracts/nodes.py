"""Several servers behind one URL: the broker nodes of ``AMQP_URL``, the hosts of ``DATABASE_URL``.

``AMQP_URL`` names one node or a cluster's nodes, the way libpq and asyncpg name several PostgreSQL
hosts: one URL whose host part is a comma list, sharing the credentials, virtual host and query:

    amqp://ledger-worker:secret@mq1:5672,mq2:5672,mq3:5672/ledger?heartbeat=30

(a list of whole URLs, ``amqp://a@mq1/,amqp://a@mq2/``, is read too). One variable per service
keeps every process, tool and compose file as they were, and a single node is the one-element case.
Pure functions only, shared by the processes (:mod:`ledger_common.amqp` connects) and the SDK
(:mod:`ledger_sdk.amqp`), whose users name a cluster the same way.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

#: ``scheme://`` at the start of a URL.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: A comma that starts another whole URL (``,amqp://...``).
_NEXT_URL = re.compile(r",(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def split_hosts(url: str) -> tuple[str, tuple[str, ...], str, str]:
    """``(scheme://, hosts, userinfo@, /path?query#fragment)`` of a URL whose host part may be a comma list.

    The authority ends at the first ``/``, ``?`` or ``#`` (as for :func:`urllib.parse.urlsplit`: a
    password holding one of them is percent-encoded); its userinfo ends at its last ``@``, so a
    password may hold ``,`` or ``@``.
    """
    scheme = _SCHEME.match(url)
    if scheme is None:
        raise ValueError("not a URL: no scheme://")
    rest = url[scheme.end() :]
    end = _authority_end(rest)
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostpart = authority.rpartition("@")
    hosts = tuple(h.strip() for h in hostpart.split(","))
    if not all(hosts):
        raise ValueError("an empty host in the URL's host list")
    return scheme.group(0), hosts, userinfo + at, tail


def _authority_end(text: str) -> int:
    ends = [i for i in (text.find(c) for c in "/?#") if i >= 0]
    return min(ends) if ends else len(text)


def node_urls(url: str) -> tuple[str, ...]:
    """One URL per node named by ``url``, in the order given (each a plain single-host URL)."""
    url = url.strip()
    if _NEXT_URL.search(url):
        urls = tuple(u.strip() for u in _NEXT_URL.split(url))
        return tuple(u for whole in urls for u in node_urls(whole))
    scheme, hosts, userinfo, tail = split_hosts(url)
    return tuple(f"{scheme}{userinfo}{host}{tail}" for host in hosts)


def address(url: str) -> str:
    """``host:port`` of a single-node URL, for logs (never the credentials)."""
    parts = urlsplit(url)
    return f"{parts.hostname or ''}:{parts.port or ''}"


def hosts_in_query(url: str) -> str:
    """``url`` with a host list moved to repeated ``host=`` query parameters (SQLAlchemy's form of a
    multi-host PostgreSQL URL; its URL parser reads one host in the authority). One host: unchanged."""
    scheme, hosts, userinfo, tail = split_hosts(url)
    if len(hosts) == 1:
        return url
    path, _, query = tail.partition("?")
    given = "&".join(f"host={quote(h, safe=':[]')}" for h in hosts)
    return f"{scheme}{userinfo}{path or '/'}?{given}{'&' + query if query else ''}"
