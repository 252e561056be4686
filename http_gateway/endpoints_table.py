"""The endpoint table of the README, rendered from the gateway's routes (``make generate``).

One row per OpenAPI tag, each route as ``METHOD /path?query=`` with the scope it requires in brackets (and,
for a command, a side whose naming needs another scope too); the table sits between :data:`BEGIN` and
:data:`END`. tests/unit/test_endpoints_table.py checks the committed README equals the rendering.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute, iter_route_contexts

from contracts.catalogue import SPECS
from http_gateway import auth, pages
from http_gateway.app import create_app
from http_gateway.auth import required_scope
from http_gateway.writes import COMMAND_EXTENSION
from ledger_common.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- endpoints:begin (generated from the gateway's routes by `make generate`; do not edit) -->"
END = "<!-- endpoints:end -->"
HEADER = ("| | |", "| --- | --- |")
_PUBLIC = "public"


def _calls(route: APIRoute) -> tuple[list[str], set[object]]:
    """The query parameters a route declares, and every dependency it calls."""
    names: list[str] = []
    calls: set[object] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop(0)
        names += [f.alias for f in dependant.query_params if f.alias not in names]
        calls.add(dependant.call)
        pending += dependant.dependencies
    if pages.metadata_filter in calls:
        names.append("metadata.<key>")
    return names, calls


def _route(method: str, path: str, route: APIRoute) -> str:
    scope = required_scope(route)
    names, calls = _calls(route)
    query = "?" + "&".join(f"{n}=" for n in names) if names else ""
    unbound = ", unbound key" if auth.UNBOUND.dependency in calls else ""
    text = f"`{method} {path}{query}` [{scope.value if scope else _PUBLIC}{unbound}]"
    kind = (route.openapi_extra or {}).get(COMMAND_EXTENSION)
    extras = [f"`{r.name}` also [{r.scope.value}]" for r in SPECS[kind].parties if r.scope] if kind else []
    return text + (f" (naming {', '.join(extras)})" if extras else "")


def render_table() -> str:
    """The table with its markers: the tags in the order their first route is served."""
    rows: dict[str, list[str]] = {}
    for ctx in iter_route_contexts(create_app(Settings()).routes):
        route = ctx.original_route
        if not isinstance(route, APIRoute) or not getattr(ctx, "include_in_schema", route.include_in_schema):
            continue
        path = ctx.path or route.path
        tag = str((getattr(ctx, "tags", None) or route.tags or [_PUBLIC])[0])
        for method in sorted(ctx.methods or route.methods or ()):
            rows.setdefault(tag, []).append(_route(method, path, route))
    lines = [f"| {tag} | {', '.join(routes)} |" for tag, routes in rows.items()]
    return "\n".join((BEGIN, *HEADER, *lines, END))


def splice(document: str) -> str:
    """``document`` with the table between the markers (markers included) rendered anew."""
    start, end = document.find(BEGIN), document.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{README.name} lacks the endpoints markers {BEGIN!r} ... {END!r}")
    return document[:start] + render_table() + document[end + len(END) :]


def main() -> None:
    README.write_text(splice(README.read_text()))
    print(f"wrote the endpoint table of {README}")


if __name__ == "__main__":
    main()
