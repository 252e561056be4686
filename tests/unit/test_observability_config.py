"""The alert rules, the Prometheus config and the Grafana dashboard agree with the metrics the processes
export (``ledger_common.metrics.DECLARED``), and docs/observability.md's table is current."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no types
from prometheus_client import REGISTRY

from ledger_common import metrics, metrics_table

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "ledger.json"
COMPOSE = ROOT / "docker-compose.yml"
_SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
#: What PromQL names besides metrics: aggregations, keywords (functions are names followed by ``(``).
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"}


def _series() -> set[str]:
    """Every series name a query may use: the declared metrics with their suffixes, and ``up``."""
    return {d.metric._name + s for d in metrics.DECLARED for s in _SUFFIXES[d.kind]} | {"up"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, regexes)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # range selectors
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)  # label lists
    names = set()
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?", expr):
        if m.group(2) is None and m.group(1) not in _KEYWORDS:
            names.add(m.group(1))
    return names


def _unknown(names: set[str]) -> set[str]:
    return {n for n in names if n not in _series() and not n.startswith(metrics.BUILTIN_PREFIXES)}


def _panel_exprs() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_metric_names_are_read_out_of_promql() -> None:
    expr = 'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{route=~"/v1/.*"}[5m]))) / b_total or up == 0'
    assert metric_names(expr) == {"a_bucket", "b_total", "up"}


def test_promtool_accepts_the_rules_and_the_config() -> None:
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is not installed: run `make tools` (apt-get install prometheus)"
    for args in (["check", "rules", str(ALERTS)], ["check", "config", str(CONFIG)]):
        done = subprocess.run([promtool, *args], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_panel_queries_exported_metrics_and_every_metric_has_a_panel() -> None:
    exprs = _panel_exprs()
    used = set().union(*(metric_names(e) for e in exprs))
    assert exprs and _unknown(used) == set()
    missing = {d.name for d in metrics.DECLARED if not any(d.metric._name + s in used for s in _SUFFIXES[d.kind])}
    assert missing == set(), "metrics the dashboard does not show"


def test_alert_rules_use_exported_metrics() -> None:
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]]
    assert {r["alert"] for r in rules} >= {"LedgerRelayBacklogOld", "LedgerDeadLettersWaiting", "LedgerConsumerGone"}
    for rule in rules:
        assert _unknown(metric_names(rule["expr"])) == set(), rule["alert"]


def test_the_registry_holds_exactly_the_declared_metrics() -> None:
    """A metric made outside the declaration would be missing from the docs, the dashboard and the tests."""
    families = {family.name for family in REGISTRY.collect() if family.name.startswith("ledger_")}
    assert families == {d.metric._name for d in metrics.DECLARED}
    assert len({d.name for d in metrics.DECLARED}) == len(metrics.DECLARED)


def test_the_docs_table_is_current() -> None:
    text = metrics_table.DOC.read_text()
    assert text == metrics_table.splice(text), "run `make schemas` and commit docs/observability.md"


def test_compose_runs_prometheus_and_grafana_and_gives_each_process_its_metrics_port() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert {"prometheus", "grafana"} <= set(services)
    for name in ("gateway", "worker", "relay"):
        assert services[name]["environment"]["METRICS_PORT"] == "9100", name
    for name in ("worker", "relay"):
        assert "/livez" in " ".join(services[name]["healthcheck"]["test"]), name
    scraped = {
        c["job_name"]: c["static_configs"][0]["targets"] for c in yaml.safe_load(CONFIG.read_text())["scrape_configs"]
    }
    assert scraped == {f"ledger-{n}": [f"{n}:9100"] for n in ("gateway", "worker", "relay")}
