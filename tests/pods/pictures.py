"""Pictures of the observability chart's dashboards with live data, drawn by the harness.

Grafana's server builds from Go here, but its frontend needs Node and npm packages,
so no real Grafana renders these. Instead each panel's queries, with the dashboard's
variables resolved as dashboards.variables resolves them for the release, run as range
queries against the tier's live Prometheus over the last minutes of the run, and every
series is drawn as a line in one small chart per panel, in the dashboard's order. A
panel that cannot have data here says why in place of a chart.

The pictures go to build/dashboards/; with UPDATE_PICTURES=1 to reports/dashboards/,
which the observability chart's README links.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first

from tests.support.tools import REPO  # noqa: E402

from . import dashboards  # noqa: E402
from .prometheus import Prometheus  # noqa: E402

PICTURES = REPO / ("reports" if os.environ.get("UPDATE_PICTURES") == "1" else "build") / "dashboards"
STEP_S = 5
# The part of the run a picture shows: the release's install, its load and its faults.
WINDOW_S = 20 * 60
COLUMNS = 3
LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")
# Lines per panel drawn with a legend; more are drawn unlabelled.
LEGEND_LINES = 6


def legend(template: str, metric: dict[str, str]) -> str:
    """Grafana's legend of one series: the target's legendFormat, else (or when that comes out
    empty) its labels, else its name."""
    text = LEGEND.sub(lambda m: metric.get(m[1], ""), template).strip() if template else ""
    labels = ",".join(f"{k}={v}" for k, v in sorted(metric.items()) if k != "__name__")
    return text or labels or metric.get("__name__", "value")


def range_series(server: Prometheus, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    return server.api("query_range", query=expr, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{STEP_S}s")["result"]


def draw_panel(axes: Any, panel: dashboards.Panel, series: list[tuple[str, list[list[Any]]]], end: float, empty_reason: str | None) -> None:
    axes.set_title(panel.title, fontsize=9)
    axes.tick_params(labelsize=7)
    if not series:
        axes.text(0.5, 0.5, f"no data\n{empty_reason or ''}", ha="center", va="center", wrap=True, fontsize=7, transform=axes.transAxes)
        axes.set_xticks([])
        axes.set_yticks([])
        return
    for index, (label, values) in enumerate(series):
        minutes = [(float(t) - end) / 60 for t, _ in values]
        numbers = [float(v) for _, v in values]
        axes.plot(minutes, numbers, linewidth=1, label=label if index < LEGEND_LINES else None)
    axes.set_xlabel("minutes before the picture", fontsize=7)
    axes.legend(fontsize=6, loc="upper left")


def plot(server: Prometheus, name: str, chart: str, namespace: str, expected_empty: dict[str, str], window_s: float = WINDOW_S) -> tuple[Path, dict[str, int]]:
    """Draws dashboard ``name`` for the release in ``namespace`` over the last ``window_s``;
    the picture's path and the number of series drawn per panel title."""
    values, _ = dashboards.variables(server, name, namespace)
    panels = dashboards.panels(name)
    end = time.time()
    rows = math.ceil(len(panels) / COLUMNS)
    figure, grid = plt.subplots(rows, COLUMNS, figsize=(5 * COLUMNS, 2.8 * rows), squeeze=False)
    drawn: dict[str, int] = {}
    for axes, panel in zip(grid.flat, panels):
        series = [
            (legend(template, result["metric"]), result["values"])
            for expr, template in zip(panel.exprs, panel.legends)
            for result in range_series(server, dashboards.substitute(expr, values), end - window_s, end)
        ]
        drawn[panel.title] = len(series)
        draw_panel(axes, panel, series, end, dashboards.needs(panel) or expected_empty.get(panel.title))
    for axes in list(grid.flat)[len(panels):]:
        axes.axis("off")
    title = dashboards.load(name).get("title", name)
    figure.suptitle(f"{title}: a {chart} release on the real node (namespace {namespace}), live Prometheus, last {window_s / 60:.0f} min", fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.98))
    path = PICTURES / chart / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path, drawn
