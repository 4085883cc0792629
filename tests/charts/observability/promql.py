"""Every PromQL expression the observability chart ships, and the metric names in them.

Used by the render tier (every expression parses, every alert is unit-tested) and by
the serve tier (every referenced metric exists on the real exporters), so both look
at exactly the same expressions: the ones a `helm template` of the chart produces.

Origins of expressions:
- rules: `expr` of every recording and alerting rule in the PrometheusRules;
- dashboards: every panel target and every `label_values(...)` variable query of
  the dashboard ConfigMaps (Grafana variables replaced by concrete values);
- autoscaling: the `autoscalingQueries` values with their placeholders filled, and
  the prometheus-adapter `metricsQuery` of every rule with its templates filled.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import yaml

from tests.support import helm

CHART = "observability"
CHART_DIR = helm.CHARTS / CHART
RECORDED_PREFIX = "llmstack:"

# Concrete stand-ins for Grafana's variables and prometheus-adapter's templates, so
# that the expressions parse as plain PromQL. Longest names first ($__range_s before $__range).
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range_s": "3600",
    "$__range": "1h",
    "$namespace": "llm",
    "$model": "tiny-llama",
    "$application": "llm",
    "$gpu_hourly_price": "2.5",
    "$currency": "USD",
}
ADAPTER_TEMPLATES = {
    "<<.LabelMatchers>>": 'namespace="llm", pod=~"engine-.*"',
    "<<.GroupBy>>": "pod",
    "<<.Series>>": "vllm:num_requests_waiting",
}
AUTOSCALING_PLACEHOLDERS = {"$namespace": "llm", "$model": "tiny-llama"}

# PromQL words that look like identifiers but are not metric names.
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "atan2", "inf", "nan", "start", "end",
}
LABEL_LIST_CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')


@dataclass(frozen=True)
class Expression:
    origin: str  # where it comes from, e.g. "rules/llmstack-vllm.rules/llmstack:requests:rate5m"
    expr: str  # as shipped (Grafana variables and adapter templates included)
    promql: str  # plain PromQL that promtool can parse


def substitute(text: str, mapping: dict[str, str]) -> str:
    for key in sorted(mapping, key=len, reverse=True):
        text = text.replace(key, mapping[key])
    text = re.sub(r"\$\{(\w+)(?::\w+)?\}", lambda m: mapping.get("$" + m.group(1), m.group(0)), text)
    return text


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (a small tokenizer, not a parser).

    Removes string literals, label matchers `{...}`, label lists of by/without/on/
    ignoring/group_left/group_right, range and subquery durations `[...]`, then keeps
    identifiers that are neither keywords nor function or aggregation calls (an
    identifier directly followed by `(`).
    """
    text = STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = LABEL_LIST_CLAUSE.sub(" ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", text)
    names = set()
    for match in IDENTIFIER.finditer(text):
        word = match.group(0)
        if word.lower() in KEYWORDS:
            continue
        if text[match.start() - 1 : match.start()].isdigit() or (match.start() > 0 and text[match.start() - 1] in "._"):
            continue  # part of a number such as 1e6 or 0.5
        if re.match(r"\s*\(", text[match.end():]):
            continue  # function or aggregation
        names.add(word)
    return names


def is_recorded(name: str) -> bool:
    return name.startswith(RECORDED_PREFIX)


# ---------------------------------------------------------------- extraction from a render

def prometheus_rules(rendered: helm.Rendered) -> list[dict[str, Any]]:
    """All rule groups of all PrometheusRules, in render order."""
    return [group for doc in rendered.of_kind("PrometheusRule") for group in doc["spec"]["groups"]]


def rules_file(rendered: helm.Rendered) -> str:
    """A Prometheus rules file (`groups:`) with every group the chart renders, recording
    groups first (promtool evaluates groups in file order at each step)."""
    groups = sorted(prometheus_rules(rendered), key=lambda g: not any("record" in r for r in g["rules"]))
    return yaml.safe_dump({"groups": groups}, sort_keys=False)


def rule_expressions(rendered: helm.Rendered) -> list[Expression]:
    out = []
    for group in prometheus_rules(rendered):
        for rule in group["rules"]:
            name = rule.get("record") or rule.get("alert")
            out.append(Expression(f"rules/{group['name']}/{name}", rule["expr"], rule["expr"]))
    return out


def dashboards(rendered: helm.Rendered) -> dict[str, dict[str, Any]]:
    """Dashboard JSON by file name, from the dashboard ConfigMaps (component `dashboards`)."""
    out = {}
    for doc in rendered.of_kind("ConfigMap"):
        if (doc["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == "dashboards":
            for key, text in doc["data"].items():
                out[key] = json.loads(text)
    return out


def all_panels(dashboard: dict[str, Any]) -> Iterable[dict[str, Any]]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])  # collapsed rows hold their panels


def variable_selector(query: str) -> str | None:
    """The series selector inside a Grafana `label_values(<selector>, <label>)` query."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*", query, re.S)
    return match.group(1) if match else None


def dashboard_expressions(rendered: helm.Rendered) -> list[Expression]:
    out = []
    for name, dashboard in dashboards(rendered).items():
        for panel in all_panels(dashboard):
            for target in panel.get("targets", []):
                if target.get("expr"):
                    origin = f"dashboards/{name}/{panel['id']}:{panel.get('title', '')}/{target.get('refId')}"
                    out.append(Expression(origin, target["expr"], substitute(target["expr"], GRAFANA_VARIABLES)))
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") != "query":
                continue
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            selector = variable_selector(query)
            assert selector is not None, f"{name}: variable {variable['name']} is not label_values(<selector>, <label>): {query}"
            out.append(Expression(f"dashboards/{name}/${variable['name']}", query, substitute(selector, GRAFANA_VARIABLES)))
    return out


def autoscaling_expressions(rendered: helm.Rendered) -> list[Expression]:
    out = []
    for doc in rendered.of_kind("ConfigMap"):
        data = doc.get("data", {})
        if "queries.yaml" in data:
            for key, query in (yaml.safe_load(data["queries.yaml"]) or {}).items():
                out.append(Expression(f"autoscaling/queries/{key}", query, substitute(query, AUTOSCALING_PLACEHOLDERS)))
        if "targets.yaml" in data:
            for target in yaml.safe_load(data["targets.yaml"]) or []:
                for key, query in target["queries"].items():
                    out.append(Expression(f"autoscaling/targets/{target['namespace']}/{target['model']}/{key}", query, query))
        if "config.yaml" in data:
            config = yaml.safe_load(data["config.yaml"])
            for kind in ("rules", "externalRules"):
                for i, rule in enumerate(config.get(kind, [])):
                    for field in ("seriesQuery", "metricsQuery"):
                        out.append(Expression(f"autoscaling/prometheus-adapter/{kind}[{i}].{field}", rule[field], substitute(rule[field], ADAPTER_TEMPLATES)))
    return out


def all_expressions(rendered: helm.Rendered) -> list[Expression]:
    return rule_expressions(rendered) + dashboard_expressions(rendered) + autoscaling_expressions(rendered)


def referenced_metrics(expressions: Iterable[Expression]) -> dict[str, list[str]]:
    """Metric name -> origins referencing it (the chart's own llmstack:* records excluded)."""
    out: dict[str, list[str]] = {}
    for e in expressions:
        for name in metric_names(e.promql):
            if not is_recorded(name):
                out.setdefault(name, []).append(e.origin)
    return out


def render_everything() -> helm.Rendered:
    """The render that references the most metrics: the everything-on scenario."""
    return helm.template(CHART, [CHART_DIR / "ci" / "99-everything-values.yaml"])


def synthetic_rules_file(expressions: Iterable[Expression]) -> str:
    """Each expression wrapped as a recording rule, so `promtool check rules` parses it."""
    rules = [{"record": f"check:expression_{i}", "expr": e.promql} for i, e in enumerate(expressions)]
    return yaml.safe_dump({"groups": [{"name": "chart-expressions", "rules": rules}]}, sort_keys=False)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
