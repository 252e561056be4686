"""docker-compose.ha.yml: the shape of `ledger cluster up` for those with Docker (it cannot run here, so its
structure is checked): three RabbitMQ nodes forming one cluster, a pg_auto_failover monitor and two data
nodes, and every ledger process given every broker node and both data nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no types

from contracts.nodes import node_urls

ROOT = Path(__file__).resolve().parents[2]
HA = ROOT / "docker-compose.ha.yml"
BROKERS = ("rabbitmq1", "rabbitmq2", "rabbitmq3")


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load(HA.read_text())["services"])


def test_three_rabbitmq_nodes_form_one_cluster_with_one_cookie_and_every_queue_on_each() -> None:
    services = _services()
    conf = (ROOT / "deploy/rabbitmq/ha.conf").read_text()
    cookies = set()
    for n, name in enumerate(BROKERS, start=1):
        node = services[name]
        assert node["hostname"] == name
        assert "./deploy/rabbitmq/ha.conf:/etc/rabbitmq/rabbitmq.conf:ro" in node["volumes"]
        assert f"cluster_formation.classic_config.nodes.{n} = rabbit@{name}" in conf
        cookies.add(node["environment"]["RABBITMQ_ERLANG_COOKIE"])
    assert len(cookies) == 1 and "peer_discovery_backend = classic_config" in conf
    assert "load_definitions = /etc/rabbitmq/definitions.json" in conf
    members = services["rabbitmq-members"]
    script = " ".join(members["command"])
    assert "grow rabbit@$$n all" in script and "rabbitmq2 rabbitmq3" in script
    assert set(members["depends_on"]) == set(BROKERS)


def test_a_monitor_and_two_data_nodes_of_one_formation() -> None:
    services = _services()
    monitor = services["pg-monitor"]["command"]
    assert monitor[:3] == ["pg_autoctl", "create", "monitor"] and "--run" in monitor
    for name in ("pg1", "pg2"):
        command = " ".join(services[name]["command"])
        assert "pg_autoctl create postgres" in command and "--run" in command
        assert "postgresql://autoctl_node@pg-monitor/pg_auto_failover" in command
        assert services[name]["build"] == "deploy/postgres-ha"
    assert "postgresql-15-auto-failover" in (ROOT / "deploy/postgres-ha/Dockerfile").read_text()


def test_every_ledger_process_reaches_every_node_and_the_primary_only() -> None:
    services = _services()
    for name in ("gateway", "worker", "relay", "migrate"):
        env = services[name]["environment"]
        database = env["DATABASE_URL"]
        assert "pg1:5432,pg2:5432" in database and "target_session_attrs=read-write" in database, name
        if name == "migrate":
            continue
        hosts = [u.split("@")[1].split("/")[0] for u in node_urls(env["AMQP_URL"])]
        assert hosts == [f"{b}:5672" for b in BROKERS], name
        needs = services[name]["depends_on"]
        assert needs["rabbitmq-members"] == {"condition": "service_completed_successfully"}, name
        assert needs["migrate"] == {"condition": "service_completed_successfully"}, name
    for name in ("worker", "relay"):
        assert services[name]["deploy"]["replicas"] >= 2, name
