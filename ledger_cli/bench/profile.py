"""``ledger bench --profile DIR``: a py-spy sampling profile of each own process during each scenario.

py-spy (a dev dependency) samples a running interpreter from outside, without instrumenting it, so
the profile is of the process the scenario measures, not of a copy. Each process is recorded for the
scenario's duration in py-spy's folded ("raw") format, one file per process and scenario; from those
:func:`summarise` writes a Markdown table per process: where the samples were (self time) by package
and by function, the figures docs/benchmarks.md quotes. ``--nonblocking`` keeps the sampled process
running between samples (the profile costs it nothing but the sampler's own CPU, which is the bench's).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

#: Samples per second per process: enough for percentages to within a point over 15 s.
RATE = 97
TOP = 15
#: ``function (path:line)`` as py-spy names a frame.
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>[^()]*?)(?::\d+)?\)$")
#: Where a frame's file lives -> the name its time is reported under.
_OURS = ("ledger_worker", "outbox_relay", "http_gateway", "ledger_common", "contracts", "ledger_cli")


@dataclass(frozen=True)
class Recording:
    process: str
    path: Path
    task: asyncio.subprocess.Process


def available() -> str | None:
    """The py-spy executable, if installed: beside this interpreter (a virtualenv not on PATH) or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def record(directory: Path, label: str, pids: dict[str, int], seconds: float) -> list[Recording]:
    """Start one py-spy per process (gateway, workers, relays), sampling for ``seconds``."""
    exe = available()
    if exe is None:
        raise SystemExit("ledger bench --profile: py-spy is not installed (pip install py-spy)")
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    recordings = []
    for process, pid in sorted(pids.items()):
        path = directory / f"{_slug(label)}.{process}.folded"
        task = await asyncio.create_subprocess_exec(
            exe, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))), "--rate", str(RATE),
            "--format", "raw", "--nonblocking", "--output", str(path),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        recordings.append(Recording(process, path, task))
    return recordings


async def finish(recordings: list[Recording], label: str, directory: Path) -> Path | None:
    """Wait for the samplers, then write ``<label>.md`` with the tables of each process."""
    for rec in recordings:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(rec.task.wait(), timeout=30)
        if rec.task.returncode is None:
            rec.task.kill()
            await rec.task.wait()
    return await asyncio.to_thread(_write_summary, recordings, label, directory)


def _write_summary(recordings: list[Recording], label: str, directory: Path) -> Path | None:
    sections = [summarise(r.process, r.path.read_text()) for r in recordings if r.path.exists()]
    if not sections:
        return None
    out = directory / f"{_slug(label)}.md"
    out.write_text(f"# {label}\n\n" + "\n".join(sections))
    return out


def summarise(process: str, folded: str) -> str:
    """Self time by package and by function, and total (inclusive) time by function, from py-spy's
    folded stacks (``frame;frame;…;leaf count`` per line)."""
    by_package: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total_time: Counter[str] = Counter()
    samples = 0
    for line in folded.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        frames = [_frame(f) for f in stack.split(";") if f]
        if not frames:
            continue
        name, path = frames[-1]
        self_time[name] += count
        by_package[package_of(path)] += count
        for seen in {n for n, _ in frames}:
            total_time[seen] += count
    if samples == 0:
        return f"## {process}\n\nno samples\n"
    parts = [f"## {process}\n\n{samples} samples\n"]
    parts.append(_table("self time by package", by_package, samples))
    parts.append(_table("self time by function", self_time, samples))
    parts.append(_table("total time by function (including callees)", total_time, samples))
    return "\n".join(parts)


def package_of(path: str) -> str:
    """A frame's file -> the package its time is reported under: py-spy shortens paths on ``sys.path``
    (``asyncpg/connection.py``, ``asyncio/streams.py``); full ones are read from ``site-packages`` on."""
    parts = Path(path).parts
    for i, part in enumerate(parts):
        if part in ("site-packages", "dist-packages") and i + 1 < len(parts):
            parts = parts[i + 1 :]
            break
    else:
        for i, part in enumerate(parts):
            if part in _OURS or (part.startswith("python3") and i + 1 < len(parts)):
                parts = parts[i + (part not in _OURS) :]
                break
    if not parts or parts[0] == "/":
        return path or "?"
    return parts[0].removesuffix(".py")


def _frame(text: str) -> tuple[str, str]:
    m = _FRAME.match(text)
    if m is None:
        return text, ""
    path = m["path"]
    return f"{m['func']} ({Path(path).name})", path


def _table(title: str, counts: Counter[str], samples: int) -> str:
    rows = [f"| {name} | {100 * n / samples:.1f} % |" for name, n in counts.most_common(TOP)]
    return f"{title}\n\n| where | share |\n|---|---:|\n" + "\n".join(rows) + "\n"


def _slug(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")
