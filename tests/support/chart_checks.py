"""Checks every chart's test suite makes the same way, written once.

Each chart suite under tests/charts/ keeps its own test functions (names, parameter ids,
and per-chart exceptions such as schema objects allowed to stay open). What lives here
is the logic that must not differ between charts: walking a values schema, reading
helm-docs `# --` comments, comparing a golden render, checking value sets with strict
lint and strict kubeconform, and asserting that bad values are rejected by name. One
copy means a fix to, say, the helm-docs parser reaches every chart at once.

Helpers named `assert_*` fail the calling test with a message that says what to do;
the others return what they found (an empty list means the check holds), so each
suite can keep its own assertion around them.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any, Collection, Iterable, Iterator, Mapping

import pytest
import yaml

from . import helm, kubeconform

# kubeconform's `-summary` line, e.g. "12 resources found in 1 file - Valid: 12, Invalid: 0, Errors: 0, Skipped: 0".
KUBECONFORM_SUMMARY = re.compile(r"(\d+) resources? found .* Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)")
# A values.yaml line that opens a key (list items and block-scalar text do not match).
VALUES_KEY_LINE = re.compile(r"^(\s*)([A-Za-z0-9_.-]+):")
# The helm-docs call that puts the values table into a chart's README.
VALUES_TABLE = '{{ template "chart.valuesTable" . }}'


# ---------------------------------------------------------------- value sets


def values_args(values: Path | None) -> list[Path]:
    """`--values` files for one value set; None stands for the chart's own values.yaml only."""
    return [values] if values else []


# ---------------------------------------------------------------- values schema


def schema_nodes(node: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every schema node with a dotted path (`[]` marks list items, `.*` map values).

    The path matches the values.yaml key path for nodes under `properties`, so the
    completeness checks below can name the offending value the way a user writes it.
    """
    yield path, node
    for key, sub in node.get("properties", {}).items():
        yield from schema_nodes(sub, f"{path}.{key}" if path else key)
    if isinstance(node.get("items"), dict):
        yield from schema_nodes(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from schema_nodes(node["additionalProperties"], f"{path}.*")
    for sub in node.get("patternProperties", {}).values():
        yield from schema_nodes(sub, f"{path}.*")


def undescribed_properties(schema: Mapping[str, Any]) -> list[str]:
    """Paths of schema properties without a description.

    helm-docs and editors show the description; a property without one is a setting
    users cannot learn about.
    """
    return [
        f"{path}.{key}" if path else key
        for path, node in schema_nodes(schema)
        for key, sub in node.get("properties", {}).items()
        if not sub.get("description")
    ]


def open_objects(schema: Mapping[str, Any], allowed: Collection[str]) -> list[str]:
    """Paths of object nodes that accept unknown keys, except those whose last path
    segment is in `allowed`.

    An open object lets a misspelled key through silently; `allowed` is the chart's own
    list of nodes that are open on purpose (Helm's `global`, Kubernetes types checked
    downstream, free-form list items).
    """
    return [
        path
        for path, node in schema_nodes(schema)
        if node.get("type") == "object"
        and node.get("additionalProperties", True) is True
        and path.rsplit(".", 1)[-1] not in allowed
    ]


def defaults_differing_from_values(schema: Mapping[str, Any], values: Any) -> list[str]:
    """Paths whose schema `default` is not the value values.yaml sets.

    The schema default is what the README and editors show; it must be what the chart
    really uses. Nodes under list items (`[]`) or map values (`.*`) name no single
    values.yaml key, so they are not compared.
    """

    def lookup(path: str) -> Any:
        node: Any = values
        for part in path.split("."):
            node = node[part]
        return node

    return [
        path
        for path, node in schema_nodes(schema)
        if "default" in node and "[]" not in path and ".*" not in path and node["default"] != lookup(path)
    ]


def assert_values_valid(values: Any, schema: Mapping[str, Any]) -> None:
    """Fail if the chart's own values.yaml breaks its own schema (helm would reject the defaults)."""
    import jsonschema  # imported here so that only the schema tests need it

    jsonschema.validate(values, schema)


# ---------------------------------------------------------------- values.yaml documentation


def value_comments(values_text: str) -> dict[str, str]:
    """Dotted key path -> the helm-docs comment of that key in values.yaml (from its `# --`
    line to the key, joined with newlines).

    helm-docs lists a value in the README only when the comment block right above its
    key starts with `# --`; blank lines and other comments in between keep the block
    attached, while any other line (a key, a list item, block-scalar text) ends it.
    """
    stack: list[tuple[int, str]] = []
    comments: dict[str, str] = {}
    block: list[str] | None = None
    for line in values_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            block = [stripped]
            continue
        if not stripped or stripped.startswith("#"):
            if block is not None and stripped:
                block.append(stripped)
            continue
        match = VALUES_KEY_LINE.match(line)
        if not match:  # list items and block scalars belong to the key above
            block = None
            continue
        indent = len(match.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match.group(2)))
        if block is not None:
            comments[".".join(key for _, key in stack)] = "\n".join(block)
        block = None
    return comments


def documented_paths(values_text: str) -> set[str]:
    """Dotted key paths of values.yaml that carry a helm-docs `# --` comment."""
    return set(value_comments(values_text))


def leaf_paths(node: Any, path: str = "") -> Iterator[str]:
    """Dotted paths of the leaves of parsed values.yaml (an empty map counts as a leaf,
    since it is a setting a user fills in)."""
    if isinstance(node, dict) and node:
        for key, sub in node.items():
            yield from leaf_paths(sub, f"{path}.{key}" if path else key)
    else:
        yield path


def undocumented_leaves(values: Any, documented: Collection[str]) -> list[str]:
    """Leaves of values.yaml that neither carry a `# --` comment nor sit under a key that does.

    A documented map documents its content (user data such as selectors), so a leaf is
    covered by its own comment or by any ancestor's.
    """

    def covered(path: str) -> bool:
        parts = path.split(".")
        return any(".".join(parts[:i]) in documented for i in range(1, len(parts) + 1))

    return [p for p in leaf_paths(values) if not covered(p)]


def templates_text(chart_dir: Path) -> str:
    """All of a chart's template files as one text, to search for the values they read."""
    return "\n".join(p.read_text() for p in sorted((chart_dir / "templates").rglob("*")) if p.is_file())


def assert_readme_renders_values_table(chart_dir: Path) -> None:
    """Fail unless README.md.gotmpl asks helm-docs for the values table (else the `# --` comments go nowhere)."""
    template = (chart_dir / "README.md.gotmpl").read_text()
    assert VALUES_TABLE in template, f"{chart_dir.name}/README.md.gotmpl must contain {VALUES_TABLE}"


# ---------------------------------------------------------------- golden renders


def assert_matches_golden(rendered_text: str, golden_path: Path) -> None:
    """Fail with a unified diff if `rendered_text` differs from the golden file.

    A golden render turns any change to what a chart renders into a reviewed diff. With
    UPDATE_GOLDEN=1 the file is rewritten first, so an intended change is accepted by
    regenerating and reviewing the diff in version control.
    """
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden_path.parent.mkdir(exist_ok=True)
        golden_path.write_text(rendered_text)
    assert golden_path.is_file(), f"{golden_path} is missing: run with UPDATE_GOLDEN=1 to create it"
    golden = golden_path.read_text()
    label = f"{golden_path.parent.name}/{golden_path.name}"
    diff = "".join(difflib.unified_diff(golden.splitlines(True), rendered_text.splitlines(True), label, "current render"))
    assert rendered_text == golden, f"the render drifted from {label} (UPDATE_GOLDEN=1 regenerates it):\n{diff}"


# ---------------------------------------------------------------- value sets: lint, kubeconform, coverage


def assert_scenarios_include(scenarios: Iterable[Path], *words: str) -> None:
    """Fail unless, for each word, some ci/ scenario's file name contains it.

    chart-testing installs the ci/ scenarios; the suites rely on particular ones
    existing (a CPU-only one CI can run, an everything-on one that renders every kind).
    """
    names = [p.name for p in scenarios]
    for word in words:
        assert any(word in n for n in names), names


def assert_starts_with_header_comment(path: Path) -> None:
    """Fail unless a values file opens with a `# ` comment saying what it is for (users pick presets by it)."""
    first = path.read_text().splitlines()[0]
    assert first.startswith("# "), f"{path.name} must open with a comment saying what it is for"


def assert_lint_passes(chart: str, values: Iterable[Path] = ()) -> None:
    """Fail with helm's output unless `helm lint --strict` passes for the chart with these values."""
    proc = helm.lint(chart, values)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def assert_kubeconform_strict(manifests: str) -> None:
    """Fail unless strict kubeconform accepts every rendered object and skips none.

    Checking the summary as well as the exit code matters: kubeconform passes objects
    it has no schema for as "skipped", and the object count guards against a render
    that kubeconform read only part of.
    """
    proc = kubeconform.validate(manifests)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = KUBECONFORM_SUMMARY.search(proc.stdout)
    assert summary, f"no kubeconform summary in:\n{proc.stdout}"
    found, valid, invalid, errors, skipped = map(int, summary.groups())
    assert (invalid, errors, skipped) == (0, 0, 0), proc.stdout
    assert found == valid == len([d for d in yaml.safe_load_all(manifests) if d])


def assert_kubeconform_rejects(manifests: str, field: str) -> None:
    """Fail unless kubeconform rejects `manifests` naming `field`.

    Feeding it a deliberately unknown field guards the strict check against passing
    vacuously (e.g. a kind checked against no schema).
    """
    proc = kubeconform.validate(manifests)
    assert proc.returncode != 0
    assert field in proc.stdout


def assert_kinds_covered(required: Collection[str], renders: Iterable[helm.Rendered]) -> None:
    """Fail unless the renders, between them, contain every kind in `required`.

    Kinds only a non-default setting produces are schema-checked only if some value
    set turns that setting on.
    """
    kinds: set[str] = set()
    for rendered in renders:
        kinds |= set(rendered.kinds())
    missing = set(required) - kinds
    assert not missing, f"rendered by no value set: {sorted(missing)}"


# ---------------------------------------------------------------- rejected values


def bad_values_case(case_id: str, values: dict[str, Any], *expected: str) -> pytest.ParameterSet:
    """One parametrize entry (values, expected) of a bad-values matrix, with a readable id."""
    return pytest.param(values, expected, id=case_id)


def assert_rejected(chart: str, set_json: dict[str, Any], expected: Iterable[str], values: Iterable[Path] = (), **template_kw: Any) -> None:
    """Fail unless `helm template` rejects the values with an error containing every
    `expected` text (the offending field's path, and for cross-field rules the other field).

    A bad value must fail at render time naming the field, not produce a broken object.
    """
    error = helm.template_error(chart, values, set_json, **template_kw)
    for text in expected:
        assert text in error, f"{text!r} not in helm's error:\n{error}"
