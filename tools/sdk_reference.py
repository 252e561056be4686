"""Render sdk/REFERENCE.md: every resource and method of the SDK, its values, errors and AMQP helpers, from
their docstrings and signatures (``make generate`` writes it).

``python tools/sdk_reference.py`` writes the file; ``--check`` fails if the committed one differs from what it
would write. tests/unit/test_sdk_reference.py runs the check and asserts :func:`undocumented` is empty, so a
method added without a docstring, or a docstring edited without regenerating, fails the suite.

The sync client is rendered (its methods' parameters are the async client's, which
tests/unit/test_sdk_coverage.py checks); each method says how it is called on ``AsyncClient``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ledger_sdk  # noqa: E402
from ledger_sdk import errors as sdk_errors  # noqa: E402
from ledger_sdk import refusals as sdk_refusals  # noqa: E402
from tools.ruffed import ruffed  # noqa: E402

REFERENCE = ROOT / "sdk" / "REFERENCE.md"
INTRO = """# ledger-sdk reference

Generated from the SDK's docstrings and signatures by `python tools/sdk_reference.py` (`make generate`); do not
edit: edit the docstring. The guide, with the hold, intent and refund semantics, is [README.md](README.md).

`Client` is rendered; `AsyncClient` has the same resources, methods and parameters: each method below says how
it is called there (`await`, or `async for` over an `AsyncPager`). `docs.X` is `contracts.http.X`; every method
also takes the per-call options (`**options`, below). A write answers with the `CommandResult` of its command
(named in brackets) or raises its refusal's class.
"""
CLIENT_OPTIONS = "ledger_sdk/_async/client.py"


def clean(doc: str | None) -> str:
    """A docstring as Markdown: Sphinx roles become code, an indented block a fenced one (``python`` if it
    compiles, else ``text``), so that no renderer reads it as the continuation of a list item."""
    text = inspect.cleandoc(doc or "")
    text = re.sub(r":(?:class|func|meth|mod|data|attr|exc):`~?([^`]+)`", r"`\1`", text)
    out: list[str] = []
    literal: list[str] = []
    for paragraph in [*text.split("\n\n"), ""]:
        lines = [line for line in paragraph.splitlines() if line.strip()]
        if lines and all(line.startswith("    ") for line in lines):
            literal.append(textwrap.dedent(paragraph))
            continue
        if literal:
            block = "\n\n".join(literal)
            out.append(f"```{'python' if _is_python(block) else 'text'}\n{block}\n```")
            literal = []
        stripped = paragraph.rstrip()
        if stripped.endswith("::"):
            paragraph = stripped[:-1]  # "an example::" reads "an example:", a lone "::" nothing
        if paragraph.strip(":"):
            out.append(paragraph)
    return "\n\n".join(out)


def _is_python(block: str) -> bool:
    try:
        compile(block, "<docstring>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    except SyntaxError:
        return False
    return True


def own_doc(obj: Any) -> str | None:
    """The docstring ``obj`` itself has (a class's is not inherited)."""
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    return doc if isinstance(doc, str) and doc.strip() else None


def signature(fn: Callable[..., Any], name: str, *, skip_self: bool = True) -> str:
    """``name(a: T, *, b: U = None, **options) -> R`` as the source wrote the annotations."""
    sig = inspect.signature(fn)
    parts: list[str] = []
    star = False
    for p in sig.parameters.values():
        if skip_self and p.name in ("self", "cls") and not parts and not star:
            continue
        if p.kind is p.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        if p.kind is p.VAR_POSITIONAL:
            star = True
        prefix = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        text = prefix + p.name
        if p.annotation is not p.empty and p.kind is not p.VAR_KEYWORD:
            text += f": {_annotation(p.annotation)}"
        if p.default is not p.empty:
            text += f" = {getattr(p.default, '__name__', None) or repr(p.default)}"
        parts.append(text)
    out = sig.return_annotation
    returns = "" if out is sig.empty or out in ("None", None) else f" -> {_annotation(out)}"
    line = f"{name}({', '.join(parts)}){returns}"
    if len(line) <= 110:
        return line
    return f"{name}(\n" + "".join(f"    {part},\n" for part in parts) + f"){returns}"


def _annotation(value: Any) -> str:
    text = value if isinstance(value, str) else inspect.formatannotation(value)
    return text.replace("builtins.", "")  # where a resource's ``list`` method shadows the builtin


def public_members(cls: type) -> Iterator[tuple[str, Any]]:
    """Public methods and properties of ``cls`` and its bases in ledger_sdk, in definition order (bases first)."""
    seen: set[str] = set()
    for base in reversed(cls.__mro__):
        if not base.__module__.startswith("ledger_sdk"):
            continue
        for name, value in vars(base).items():
            if name.startswith("_") or name in seen:
                continue
            if inspect.isfunction(value) or isinstance(value, property):
                seen.add(name)
                yield name, getattr(cls, name) if inspect.isfunction(value) else value


def async_twin(sync_cls: type, name: str) -> str:
    """How ``name`` is called on the async twin of ``sync_cls`` (``ledger_sdk._async``)."""
    module = importlib.import_module(sync_cls.__module__.replace("._sync.", "._async."))
    twin = getattr(module, "Async" + sync_cls.__name__)
    fn = getattr(twin, name, None) or getattr(twin, "a" + name)  # close -> aclose
    if inspect.iscoroutinefunction(fn):
        return "await"
    if inspect.isasyncgenfunction(fn):
        return "async for"
    return "async for (an `AsyncPager`)" if "Pager" in str(inspect.signature(fn).return_annotation) else "plain"


def member(prefix: str, name: str, value: Any, twin: type | None) -> list[str]:
    if isinstance(value, property):
        return [f"- `{prefix}{name}` (property): {clean(own_doc(value.fget))}", ""]
    lines = ["```python", signature(value, prefix + name), "```", ""]
    route = getattr(value, "__ledger_route__", None)
    if twin is not None:
        how: str | None = async_twin(twin, name)
    else:  # an async-only class (the AMQP helpers)
        how = "await" if inspect.iscoroutinefunction(value) else None
        how = "async for" if inspect.isasyncgenfunction(value) else how
    facts = ([f"`{route[0]} {route[1]}`"] if route else []) + ([f"async: {how}"] if how and how != "plain" else [])
    if facts:
        lines += [" · ".join(facts), ""]
    return [*lines, clean(own_doc(value)), ""]


def class_section(cls: type, title: str, *, prefix: str, twin: bool = False, level: str = "###") -> list[str]:
    lines = [f"{level} {title}", "", clean(own_doc(cls)), ""]
    init = cls.__dict__.get("__init__")
    if inspect.isfunction(init) and cls.__module__.startswith("ledger_sdk"):
        lines += ["```python", signature(init, cls.__name__), "```", ""]
    for name, value in public_members(cls):
        lines += member(prefix, name, value, cls if twin else None)
    return lines


def resources() -> list[tuple[str, type]]:
    """``(attribute, class)`` of each resource of ``Client``, in the order the client makes them."""
    client = ledger_sdk.Client("http://127.0.0.1:1", api_key="x")
    try:
        return [(n, type(v)) for n, v in vars(client).items() if not n.startswith("_") and hasattr(v, "_client")]
    finally:
        client.close()


def commented(path: str, owner: str | None = None) -> dict[str, tuple[str, str]]:
    """``name -> (source, #: comment)`` of the assignments of a module (or of class ``owner``'s fields)."""
    source = (ROOT / path).read_text()
    lines, tree = source.splitlines(), ast.parse(source)
    body = tree.body
    if owner is not None:
        body = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == owner).body
    out: dict[str, tuple[str, str]] = {}
    for node in body:
        target: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        elif isinstance(node, ast.Assign):
            target = node.targets[0]
        if not isinstance(target, ast.Name):
            continue
        comment: list[str] = []
        at = node.lineno - 2
        while at >= 0 and lines[at].strip().startswith("#:"):
            comment.insert(0, lines[at].strip()[2:].strip())
            at -= 1
        out[target.id] = (ast.get_source_segment(source, node) or target.id, " ".join(comment))
    return out


def errors() -> list[type]:
    """The exception classes of ``ledger_sdk.errors`` the package exports, in ``__all__`` order."""
    found = [getattr(ledger_sdk, name) for name in ledger_sdk.__all__]
    return [c for c in found if isinstance(c, type) and c.__module__ == sdk_errors.__name__]


def render() -> str:
    out = [INTRO, "## Clients", ""]
    out += class_section(ledger_sdk.Client, "Client", prefix="client.", twin=True)
    out += ["### AsyncClient", "", clean(own_doc(ledger_sdk.AsyncClient)), ""]
    out += ["```python", signature(ledger_sdk.AsyncClient.__init__, "AsyncClient"), "```", ""]
    out += ["### Per-call options (`CallOptions`)", "", clean(own_doc(ledger_sdk.CallOptions)), ""]
    out += [f"- `{src}`: {doc}" for src, doc in commented(CLIENT_OPTIONS, "CallOptions").values()]
    out += ["", "## Resources", ""]
    for attribute, cls in resources():
        out += class_section(cls, f"client.{attribute}", prefix=f"client.{attribute}.", twin=True)
    out += ["## Pages and pending writes", ""]
    for cls in (ledger_sdk.Pager, ledger_sdk.Operation):
        out += class_section(cls, cls.__name__, prefix="", twin=True)
    out += ["## Values", ""]
    out += [f"- `{src}`" for name, (src, _) in commented("ledger_sdk/_values.py").items() if name[0].isupper()]
    out += ["", *member("", "account", ledger_sdk.account, None)]
    out += class_section(ledger_sdk.AccountRef, "AccountRef", prefix="")
    out += class_section(ledger_sdk.Leg, "Leg", prefix="")
    out += ["## Errors", "", clean(own_doc(sdk_errors)), ""]
    for cls in errors():
        bases = ", ".join(b.__name__ for b in cls.__bases__)
        out += class_section(cls, f"{cls.__name__}({bases})", prefix="")
    out += ["### One class per refusal", "", "| class | `code` | also a |", "| --- | --- | --- |"]
    for refusal, cls in sdk_refusals.REFUSED.items():
        groups = ", ".join(f"`{b.__name__}`" for b in cls.__bases__ if b is not sdk_errors.Refused) or ""
        out.append(f"| `{cls.__name__}` | `{refusal.value}` | {groups} |")
    out += ["", *amqp()]
    return "\n".join(out).rstrip() + "\n"


def amqp() -> list[str]:
    import ledger_sdk.amqp as helpers

    out = ["## AMQP helpers (`ledger_sdk.amqp`)", "", clean(own_doc(helpers)), ""]
    aliases: dict[str, tuple[str, str]] = {}
    for path in sorted((ROOT / "ledger_sdk" / "amqp").glob("*.py")):
        aliases.update(commented(str(path.relative_to(ROOT))))
    for name in helpers.__all__:
        value = getattr(helpers, name)
        if isinstance(value, type):
            out += class_section(value, name, prefix="")
        elif inspect.isfunction(value):
            out += [f"### {name}", "", *member("", name, value, None)]
        else:
            src, doc = aliases[name]
            out += [f"### {name}", "", "```python", src, "```", "", doc, ""]
    return out


def undocumented() -> list[str]:
    """Public classes, methods and properties the reference shows without a docstring."""
    missing: list[str] = []
    import ledger_sdk.amqp as helpers

    classes = [(f"client.{a}", c) for a, c in resources()]
    classes += [(n, getattr(ledger_sdk, n)) for n in ("Client", "AsyncClient", "Pager", "Operation", "AsyncPager")]
    classes += [("AsyncOperation", ledger_sdk.AsyncOperation), ("AccountRef", ledger_sdk.AccountRef)]
    classes += [(n, v) for n in helpers.__all__ if isinstance(v := getattr(helpers, n), type)]
    classes += [(n, v) for n in ledger_sdk.__all__ if isinstance(v := getattr(ledger_sdk, n), type) and v in errors()]
    classes.append(("Leg", ledger_sdk.Leg))
    functions = [("account", ledger_sdk.account)]
    functions += [(n, v) for n in helpers.__all__ if inspect.isfunction(v := getattr(helpers, n))]
    missing += [name for name, fn in functions if own_doc(fn) is None]
    for title, cls in classes:
        if own_doc(cls) is None:
            missing.append(title)
        for name, value in public_members(cls):
            if own_doc(value.fget if isinstance(value, property) else value) is None:
                missing.append(f"{title}.{name}")
    return missing


def formatted(text: str) -> str:
    """``text`` as ``ruff format`` leaves it (it formats the Python blocks of Markdown files), so that the file
    passes ``make lint``; the signatures, not valid Python, stay as rendered."""
    return ruffed(REFERENCE, text, (("format",),))


def main(argv: list[str]) -> int:
    text = formatted(render())
    if "--check" in argv:
        if not REFERENCE.exists() or REFERENCE.read_text() != text:
            print("stale, run python tools/sdk_reference.py: sdk/REFERENCE.md", file=sys.stderr)
            return 1
        return 0
    REFERENCE.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
