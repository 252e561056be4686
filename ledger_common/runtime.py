"""Process-wide runtime tuning shared by the gateway, the worker and the relay."""

from __future__ import annotations

import gc


def tune_gc(threshold: int) -> None:
    """Collect the young generation every ``threshold`` allocations instead of Python's 700.

    A worker batch allocates tens of thousands of short-lived objects (commands, postings, events),
    none of them in cycles that matter, so the default threshold ran a collection every few commands:
    7 % of the worker's CPU in ``gc_collect_main`` (py-spy --native, docs/benchmarks.md). ``gc.freeze()``
    after start-up moves the modules, models and caches into the permanent generation, so the
    collections that still run never scan them again. ``0`` leaves Python's defaults alone.
    """
    if threshold <= 0:
        return
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(threshold, older, oldest)
