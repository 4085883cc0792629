"""Every string value of the three charts has a kind, and each kind's bad forms fail at
`helm template` naming the value.

The kinds and their bad examples are in tests.support.value_types; the values come from
each chart's values.schema.json, so a value added later is covered (or must be declared
free text) without anyone extending a hand list. Each value is tried inside the chart's
`ci/99-everything-values.yaml`, where every feature is on, so that no template skips it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import bad_inputs, helm
from tests.support.value_types import VALUE_TYPES, ValueType, free_text_reason, type_of

CHARTS = ("kuberay-llm", "vllm-standalone", "observability")
# Settings of everything-values that exclude a value planted next to them (null removes).
EXCLUDES = {"observability": {"scrape": {"ray": {"namespaceSelector": {"any": None}}}}}


@cache
def schema(chart: str) -> dict[str, Any]:
    return json.loads((helm.CHARTS / chart / "values.schema.json").read_text())


def everything(chart: str) -> Path:
    return helm.CHARTS / chart / "ci" / "99-everything-values.yaml"


@cache
def base(chart: str) -> dict[str, Any]:
    """The values `helm template` sees with everything-values (less EXCLUDES): the document bad values are planted in."""
    defaults = yaml.safe_load((helm.CHARTS / chart / "values.yaml").read_text())
    merged = bad_inputs.coalesce(defaults, yaml.safe_load(everything(chart).read_text()))
    return bad_inputs.coalesce(merged, EXCLUDES.get(chart, {}))


@pytest.fixture(scope="module")
def base_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`base(chart)` as a values file, under which the planted sections are set."""
    directory = tmp_path_factory.mktemp("planted")
    files = {}
    for chart in CHARTS:
        files[chart] = directory / f"{chart}.yaml"
        files[chart].write_text(yaml.safe_dump(base(chart)))
    return files


def string_values(chart: str) -> list[tuple[str, ...]]:
    return [tokens for tokens, node in bad_inputs.schema_values(schema(chart)) if tokens and bad_inputs.accepts_strings(node)]


def fields_of(chart: str, kind: ValueType) -> list[tuple[str, ...]]:
    return [tokens for tokens in string_values(chart) if kind in type_of(bad_inputs.schema_path(tokens))]


@pytest.mark.parametrize("chart", CHARTS)
def test_every_string_value_has_a_kind_or_is_declared_free_text(chart: str):
    unknown = [
        bad_inputs.schema_path(tokens) for tokens in string_values(chart)
        if not [t for t in type_of(bad_inputs.schema_path(tokens)) if not t.keys] and not free_text_reason(bad_inputs.schema_path(tokens))
    ]
    assert not unknown, f"give these values a kind in tests/support/value_types.py (or FREE_TEXT, with why): {unknown}"


CASES = [
    pytest.param(chart, kind, id=f"{chart}-{kind.name}{'-keys' if kind.keys else ''}")
    for chart in CHARTS for kind in VALUE_TYPES if fields_of(chart, kind)
]


@pytest.mark.parametrize(("chart", "kind"), CASES)
def test_a_bad_value_of_each_kind_fails_naming_it(chart: str, kind: ValueType, base_files: dict[str, Path]):
    fields = fields_of(chart, kind)
    wrong = []
    for bad in kind.bad:
        for field, (concrete, verdict) in bad_inputs.judge_planted(chart, base(chart), [base_files[chart]], fields, bad, kind.keys).items():
            if verdict.rendered or verdict.traced or not verdict.names(concrete):
                wrong.append(f"{bad_inputs.schema_path(field)} = {bad!r}: {bad_inputs.described(verdict, concrete)}")
    assert not wrong, f"{len(wrong)} bad {kind.name} values not refused by name:\n" + "\n".join(wrong)


def numeric_values(chart: str) -> list[tuple[tuple[str, ...], dict[str, Any], bool]]:
    """(tokens, the node's number branch, whether it takes strings too) of every value that takes a number."""
    found = []
    for tokens, node in bad_inputs.schema_values(schema(chart)):
        types = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        branches = [node] if {"integer", "number"} & set(types) else []
        branches += [alt for alt in node.get("anyOf", []) + node.get("oneOf", []) if isinstance(alt, dict) and alt.get("type") in ("integer", "number")]
        found += [(tokens, branch, bad_inputs.accepts_strings(node)) for branch in branches if "enum" not in branch and "const" not in branch]
    return found


@pytest.mark.parametrize("chart", CHARTS)
def test_every_number_has_a_lower_bound(chart: str):
    """Counts, sizes, seconds and ratios are never negative (the few that take -1 say so in their minimum)."""
    unbounded = [bad_inputs.schema_path(tokens) for tokens, branch, _ in numeric_values(chart) if "minimum" not in branch and "exclusiveMinimum" not in branch]
    assert not unbounded, f"add a minimum to: {unbounded}"


@pytest.mark.parametrize("chart", CHARTS)
def test_a_number_below_its_bound_or_in_words_fails_naming_it(chart: str, base_files: dict[str, Path]):
    """One below the minimum (or the exclusive minimum itself), and a word where only a number goes."""
    by_bad: dict[Any, list[tuple[str, ...]]] = {}
    for tokens, branch, takes_strings in numeric_values(chart):
        below = branch["exclusiveMinimum"] if "exclusiveMinimum" in branch else branch.get("minimum", 0) - 1
        for bad in (below, *(() if takes_strings else ("many",))):
            by_bad.setdefault(bad, []).append(tokens)
    wrong = []
    for bad, fields in by_bad.items():
        for field, (concrete, verdict) in bad_inputs.judge_planted(chart, base(chart), [base_files[chart]], fields, bad).items():
            if verdict.rendered or verdict.traced or not verdict.names(concrete):
                wrong.append(f"{bad_inputs.schema_path(field)} = {bad!r}: {bad_inputs.described(verdict, concrete)}")
    assert not wrong, "\n".join(wrong)
