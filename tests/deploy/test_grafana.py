"""deploy/grafana/agentmon.json: a loadable dashboard whose every query uses only metrics that
agentmon's services export (as registered by agentmon.metrics, with the series names
Prometheus sees: counters' _total, histograms' _bucket/_sum/_count)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY

import agentmon.metrics  # noqa: F401  (registers agentmon's metrics)

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "agentmon.json"
SERIES_SUFFIXES = {
    "counter": ["_total"],
    "gauge": [""],
    "histogram": ["_bucket", "_sum", "_count"],
    "summary": ["", "_sum", "_count"],
}
METRIC_NAME = re.compile(r"\bagentmon_[a-z0-9_]+")


def exported_series() -> set[str]:
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("agentmon_")
        for suffix in SERIES_SUFFIXES[family.type]
    }


def panels(container: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in container.get("panels", []):
        yield panel
        yield from panels(panel)


def queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])]


def test_the_dashboard_is_importable_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"]
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    for panel in panels(dashboard):
        if panel["type"] != "row":
            assert panel["datasource"]["uid"].strip("${}") in variables, panel["title"]


def test_every_metric_in_the_dashboard_is_exported() -> None:
    used = {name for query in queries() for name in METRIC_NAME.findall(query)}
    assert used, "the dashboard queries no agentmon metric"
    assert used <= exported_series(), used - exported_series()


def test_the_dashboard_shows_ingest_processing_and_the_live_feed() -> None:
    families = {
        name.rsplit("_", 1)[0] for query in queries() for name in METRIC_NAME.findall(query)
    }
    for prefix in ("agentmon_ingest", "agentmon_processor", "agentmon_store", "agentmon_live"):
        assert any(family.startswith(prefix) for family in families), prefix
