"""The Grafana dashboards: one ConfigMap each with the sidecar label, valid structure
(unique panel ids, non-overlapping grid positions inside the 24-column grid), a data
source variable every query uses, namespace and model variables, and the cost
dashboard's price taken from the values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import helm

from . import promql

CHART = "observability"
DASHBOARD_FILES = sorted((promql.CHART_DIR / "dashboards").glob("*.json"))
EXPECTED = {"llm-engines.json", "ray-serve.json", "gpu.json", "cost.json"}
GRID_COLUMNS = 24


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return list(promql.all_panels(dashboard))


def variables(dashboard: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in dashboard["templating"]["list"]}


def test_the_four_dashboards_exist() -> None:
    assert {p.name for p in DASHBOARD_FILES} == EXPECTED


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_panel_ids_are_unique(path: Path) -> None:
    ids = [p["id"] for p in panels(load(path))]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert all(isinstance(i, int) and i > 0 for i in ids)


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_grid_positions_are_valid_and_do_not_overlap(path: Path) -> None:
    occupied: dict[tuple[int, int], int] = {}
    for panel in panels(load(path)):
        g = panel["gridPos"]
        assert set(g) == {"h", "w", "x", "y"}, panel["title"]
        assert all(isinstance(v, int) for v in g.values()), panel["title"]
        assert g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["y"] >= 0, panel["title"]
        assert g["x"] + g["w"] <= GRID_COLUMNS, f"{panel['title']} runs past column {GRID_COLUMNS}"
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in occupied, f"panel {panel['id']} overlaps panel {occupied[(x, y)]} at {(x, y)}"
                occupied[(x, y)] = panel["id"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_datasource_namespace_and_model_variables(path: Path) -> None:
    v = variables(load(path))
    assert v["datasource"]["type"] == "datasource" and v["datasource"]["query"] == "prometheus"
    for name in ("namespace", "model"):
        assert v[name]["type"] == "query", name
        assert v[name]["datasource"]["uid"] == "${datasource}", name
        assert v[name]["includeAll"] and v[name]["multi"], name


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_every_query_uses_the_datasource_variable(path: Path) -> None:
    for panel in panels(load(path)):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], f"panel {panel['title']} has no query"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert target["expr"].strip(), panel["title"]


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda p: p.name)
def test_queries_filter_by_the_namespace_variable(path: Path) -> None:
    unfiltered = [p["title"] for p in panels(load(path)) for t in p.get("targets", []) if "$namespace" not in t["expr"]]
    assert not unfiltered


def test_uids_and_titles_are_unique() -> None:
    boards = [load(p) for p in DASHBOARD_FILES]
    assert len({b["uid"] for b in boards}) == len(boards)
    assert len({b["title"] for b in boards}) == len(boards)
    assert all(len(b["uid"]) <= 40 for b in boards)


def test_dashboards_are_shipped_as_configmaps_with_the_sidecar_label() -> None:
    rendered = helm.template(CHART)
    maps = [d for d in rendered.of_kind("ConfigMap") if d["metadata"]["labels"].get("app.kubernetes.io/component") == "dashboards"]
    assert sorted(key for d in maps for key in d["data"]) == sorted(EXPECTED)
    for d in maps:
        assert d["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert d["metadata"]["namespace"] == "llm"
    # the shipped JSON is the file, unchanged (apart from the cost dashboard's defaults)
    shipped = promql.dashboards(rendered)
    for path in DASHBOARD_FILES:
        if path.name != "cost.json":
            assert shipped[path.name] == load(path)


def test_sidecar_label_namespace_and_annotations_are_configurable() -> None:
    rendered = helm.template(CHART, set_json={"dashboards": {"label": "grafana_dashboard_llm", "labelValue": "true", "namespace": "grafana", "annotations": {"grafana_folder": "LLM"}}})
    for d in (d for d in rendered.of_kind("ConfigMap") if d["metadata"]["labels"].get("app.kubernetes.io/component") == "dashboards"):
        assert d["metadata"]["labels"]["grafana_dashboard_llm"] == "true"
        assert "grafana_dashboard" not in d["metadata"]["labels"]
        assert d["metadata"]["namespace"] == "grafana"
        assert d["metadata"]["annotations"] == {"grafana_folder": "LLM"}


@pytest.mark.parametrize("key,file", [("vllm", "llm-engines.json"), ("rayServe", "ray-serve.json"), ("gpu", "gpu.json"), ("cost", "cost.json")])
def test_each_dashboard_can_be_turned_off(key: str, file: str) -> None:
    shipped = promql.dashboards(helm.template(CHART, set_json={f"dashboards.{key}.enabled": False}))
    assert set(shipped) == EXPECTED - {file}


def test_dashboards_off_renders_no_dashboard() -> None:
    assert not promql.dashboards(helm.template(CHART, set_json={"dashboards.enabled": False}))


def test_cost_dashboard_price_and_currency_come_from_values() -> None:
    shipped = promql.dashboards(helm.template(CHART, set_json={"dashboards.cost": {"gpuHourlyPrice": 4.1, "currency": "EUR"}}))
    v = variables(shipped["cost.json"])
    assert v["gpu_hourly_price"]["query"] == "4.1" and v["gpu_hourly_price"]["current"]["value"] == "4.1"
    assert v["currency"]["query"] == "EUR" and v["currency"]["current"]["value"] == "EUR"


def test_cost_panels_compute_cost_per_million_tokens_from_the_price() -> None:
    board = load(promql.CHART_DIR / "dashboards" / "cost.json")
    per_million = [t["expr"] for p in panels(board) if "per million" in p["title"].lower() for t in p["targets"]]
    assert per_million
    for expr in per_million:
        assert "$gpu_hourly_price / 3600" in expr and "1000000" in expr and "llmstack:model_gpus:sum" in expr
