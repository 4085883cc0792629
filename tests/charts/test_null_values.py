"""`null` for any value of any chart: a sentence naming the value, or what the chart documents.

`--set x=null` (or `x: null` in a values file) makes Helm drop the key, defaults
included, so the templates would see the value as absent. Generated over every key of
each chart's values.yaml (tests.support.bad_inputs), one `helm template` per key:

- a value the schema declares and values.yaml sets is required (its parent's `required`
  list in values.schema.json): null fails at `helm template` naming it. The exception is
  an optional value whose default is empty (a digest ""): null may render, if it renders
  exactly what the defaults render;
- a value whose comment gives null a meaning (NULL_MEANS) renders;
- an entry of a free-form map (a label, a node selector term) is the user's data: null
  removes it, as Helm documents, and the chart renders or names the map.

A Go template trace is never an answer. An emptied list (`x=[]`) renders or fails naming
the list: some lists are meaningful when empty (no namespaces allowed), some are not.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
import yaml

from tests.support import bad_inputs, chart_checks, helm
from tests.support.bad_inputs import Path_, Verdict

CHARTS = ("kuberay-llm", "vllm-standalone", "observability")
# Values whose values.yaml comment gives null a meaning of its own (checked below), each
# with what else the user sets along with it (`--set-json`) for that meaning to hold.
BY_EXPRESSION = {"matchExpressions": [{"key": "app", "operator": "Exists"}]}
NULL_MEANS: dict[str, dict[Path_, dict[str, Any]]] = {
    "kuberay-llm": {("head", "numCpus"): {}},
    "vllm-standalone": {("defaults", "cpuThreadsBind"): {"image.variant": "cpu"}},
    "observability": {
        **{("scrape", source, "selector", "matchLabels"): {f"scrape.{source}.selector": BY_EXPRESSION, "scrape.dcgm.enabled": True} for source in ("vllm", "ray", "dcgm")},
        ("scrape", "dcgm", "namespaceSelector", "matchNames"): {"scrape.dcgm.enabled": True},
    },
}


@cache
def defaults(chart: str) -> Any:
    return yaml.safe_load((helm.CHARTS / chart / "values.yaml").read_text())


@cache
def schema(chart: str) -> Any:
    return json.loads((helm.CHARTS / chart / "values.schema.json").read_text())


@cache
def default_render(chart: str) -> str:
    return helm.template_process(chart).stdout


def nulled(chart: str, paths: list[Path_]) -> list[Verdict]:
    return bad_inputs.judge_all(chart, [{bad_inputs.set_json_key(path): None} for path in paths])


def set_values(chart: str, declared: bool) -> list[Path_]:
    """Keys values.yaml sets: declared properties of the schema, or entries of free-form maps."""
    return [
        path for path in bad_inputs.key_paths(defaults(chart))
        if path not in NULL_MEANS[chart] and bad_inputs.declared(schema(chart), path) == declared
    ]


@pytest.mark.parametrize("chart", CHARTS)
def test_null_for_a_declared_value_fails_naming_it(chart: str):
    paths = set_values(chart, declared=True)
    wrong = [
        bad_inputs.described(verdict, path) for path, verdict in zip(paths, nulled(chart, paths))
        if verdict.traced or not ((not verdict.rendered and verdict.names(path)) or (verdict.rendered and verdict.output == default_render(chart)))
    ]
    assert not wrong, (
        f"{len(wrong)} of {len(paths)} values set to null did not fail naming the value "
        "(list each in its parent's `required` in values.schema.json, or in NULL_MEANS with a comment saying what null means):\n"
        + "\n".join(wrong)
    )


@pytest.mark.parametrize("chart", CHARTS)
def test_null_for_an_entry_of_a_default_map_removes_it_or_names_the_map(chart: str):
    paths = set_values(chart, declared=False)
    wrong = [
        bad_inputs.described(verdict, path) for path, verdict in zip(paths, nulled(chart, paths))
        if verdict.traced or not (verdict.rendered or any(verdict.names(path[:end]) for end in range(len(path), len(path) - 3, -1)))
    ]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("chart", [chart for chart in CHARTS if NULL_MEANS[chart]])
def test_null_with_a_documented_meaning_renders(chart: str):
    for path, companions in NULL_MEANS[chart].items():
        verdict = bad_inputs.judge(chart, {**companions, bad_inputs.set_json_key(path): None})
        assert verdict.rendered, bad_inputs.described(verdict, path)
        changed = verdict.output != bad_inputs.judge(chart, companions).output
        assert changed, f"{bad_inputs.dotted(path)}: null rendered the same as the default"
        assert "null" in documentation(chart, path).lower(), f"{bad_inputs.dotted(path)}: its values.yaml comment does not say what null means"


def documentation(chart: str, path: Path_) -> str:
    """The helm-docs comment of the value, or of the nearest value above it that has one."""
    comments = chart_checks.value_comments((helm.CHARTS / chart / "values.yaml").read_text())
    for end in range(len(path), 0, -1):
        if (comment := comments.get(".".join(map(str, path[:end])))) is not None:
            return comment
    return ""


@pytest.mark.parametrize("chart", CHARTS)
def test_an_emptied_list_renders_or_fails_naming_it(chart: str):
    values = defaults(chart)
    paths = [path for path in bad_inputs.key_paths(values) if isinstance(bad_inputs.get(values, path), list) and bad_inputs.get(values, path)]
    verdicts = bad_inputs.judge_all(chart, [{bad_inputs.set_json_key(path): []} for path in paths])
    wrong = [
        bad_inputs.described(verdict, path) for path, verdict in zip(paths, verdicts)
        if verdict.traced or not (verdict.rendered or verdict.names(path))
    ]
    assert paths, "the chart's defaults have no list to empty"
    assert not wrong, "\n".join(wrong)
