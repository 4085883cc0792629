"""The observability chart's Grafana dashboards, evaluated the way Grafana would.

No Grafana runs here; each panel's queries go to the live Prometheus instead, with the
dashboard's variables resolved as Grafana resolves them: a query variable from its
`label_values(...)` against Prometheus's series, `namespace` set to the release's
namespace (which the variable must offer), every other query variable to all of its
values, textboxes and constants to their defaults, and Grafana's built-in intervals.
A panel shows data when one of its queries returns a series.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tests.charts.observability.promql import all_panels
from tests.support.tools import REPO

from .prometheus import Prometheus

DASHBOARD_DIR = REPO / "charts" / "observability" / "dashboards"
# Grafana's built-ins: $__rate_interval is at least four scrape intervals (5s here);
# $__range is the dashboard's time range.
BUILTINS = {"__rate_interval": "1m", "__range_s": "300", "__range": "5m"}
# Series that cannot exist on this machine: a panel whose every query needs one of
# them is empty here, for this reason.
NEEDS = {
    "DCGM_": "GPU metrics from NVIDIA's DCGM exporter: there is no GPU here",
    "llmstack:model_gpus:sum": "GPUs held per model: needs GPU requests and kube-state-metrics, and there are neither here",
}
LABEL_VALUES = re.compile(r"^label_values\((?:(?P<selector>.+),\s*)?(?P<label>\w+)\)$")


@dataclass(frozen=True)
class Panel:
    dashboard: str
    title: str
    exprs: tuple[str, ...]
    # Grafana's legend per query (`{{label}}` placeholders), "" where the query has none.
    legends: tuple[str, ...]


def load(name: str) -> dict[str, Any]:
    return json.loads((DASHBOARD_DIR / f"{name}.json").read_text())


def panels(name: str) -> list[Panel]:
    """Every panel with queries, rows unfolded (tests.charts.observability.promql.all_panels)."""
    found = []
    for item in all_panels(load(name)):
        targets = [t for t in item.get("targets", []) if t.get("expr")]
        if targets:
            found.append(Panel(name, item.get("title", ""), tuple(t["expr"] for t in targets), tuple(t.get("legendFormat", "") for t in targets)))
    return found


def substitute(expr: str, variables: dict[str, str]) -> str:
    """``$name`` and ``${name}`` replaced, longest names first (``$__range_s`` before ``$__range``)."""
    for name in sorted(variables, key=len, reverse=True):
        expr = expr.replace(f"${{{name}}}", variables[name]).replace(f"${name}", variables[name])
    return expr


def label_values(server: Prometheus, label: str, selector: str | None) -> list[str]:
    return server.api(f"label/{label}/values", **({"match[]": selector} if selector else {}))


def variables(server: Prometheus, name: str, namespace: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The dashboard's variables for ``namespace`` (name -> value) and what each query variable offered."""
    values = dict(BUILTINS)
    offered: dict[str, list[str]] = {}
    for var in load(name).get("templating", {}).get("list", []):
        query = var.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if var["type"] in ("textbox", "constant"):
            values[var["name"]] = str(query)
        elif var["type"] == "query":
            match = LABEL_VALUES.match(str(query).strip())
            assert match, f"{name}: variable {var['name']} is not a label_values() query: {query}"
            selector = match["selector"] and substitute(match["selector"], values)
            offered[var["name"]] = label_values(server, match["label"], selector)
            if var["name"] == "namespace":
                values["namespace"] = namespace
            else:
                # All values as one regex, escaped for a PromQL string as Grafana does.
                values[var["name"]] = "|".join(re.escape(v).replace("\\", "\\\\") for v in offered[var["name"]]) or ".*"
    return values, offered


def needs(panel: Panel) -> str | None:
    """Why the panel is empty on this machine, when every query needs a series that cannot exist here."""
    reasons = [next((why for prefix, why in NEEDS.items() if prefix in expr), None) for expr in panel.exprs]
    return reasons[0] if all(reasons) else None


def checked(name: str, expected_empty: dict[str, str]) -> list[Panel]:
    """The panels of dashboard ``name`` that must show data: all but those NEEDS or
    ``expected_empty`` (title -> reason) explains."""
    return [p for p in panels(name) if not needs(p) and p.title not in expected_empty]


def empty_panels(server: Prometheus, name: str, namespace: str, expected_empty: dict[str, str]) -> dict[str, str]:
    """Panels of dashboard ``name`` that must show data for ``namespace`` and show none (title -> its queries)."""
    values, _ = variables(server, name, namespace)
    empty = {}
    for panel in checked(name, expected_empty):
        queries = [substitute(expr, values) for expr in panel.exprs]
        if not any(server.query(q) for q in queries):
            empty[panel.title] = " ; ".join(queries)
    return empty


def dashboard_names() -> list[str]:
    return sorted(path.stem for path in DASHBOARD_DIR.glob("*.json"))


def assert_shows_data(server: Prometheus, name: str, namespace: str, expected_empty: dict[str, str]) -> None:
    """Every panel of dashboard ``name`` that can have data here shows data for ``namespace``;
    the `gpu` dashboard must have no such panel (all of it needs a GPU)."""
    if name == "gpu":
        assert not checked(name, expected_empty), "a GPU dashboard panel that could show data here"
    else:
        assert checked(name, expected_empty)
    assert empty_panels(server, name, namespace, expected_empty) == {}
