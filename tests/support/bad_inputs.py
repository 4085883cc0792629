"""Bad values made by rule instead of by hand, and the verdict Helm gives on each.

A hand list of bad values covers what its author thought of. The matrix tests under
tests/charts/ instead walk every value a chart declares and make, for each, the
mistakes users make with that kind of value: `null` (`--set x=null`, which Helm turns
into "key removed"), an emptied list, and the bad forms of its value type (names,
hosts, quantities, durations...). Every case must end one of two ways: `helm template`
fails with a sentence that names the field, or (where the chart documents what the
value means when absent) it renders. A Go template trace (`nil pointer evaluating`,
`error calling include`) is never an acceptable answer: it names a template line, not
the value the user got wrong.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence

from . import helm

# Text only a Go template failure prints: the chart's own `fail` messages never contain it.
TRACE_MARKERS = ("nil pointer evaluating", "executing \"", "error calling", "wrong type for value", "can't evaluate field", "map has no entry", "index out of range")
# helm template runs are short and mostly wait on process start-up; a few at once.
PARALLEL = 4

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Verdict:
    """What `helm template` said of one set of values."""

    rendered: bool
    error: str
    output: str

    @property
    def traced(self) -> bool:
        return any(marker in self.error for marker in TRACE_MARKERS)

    def names(self, path: Path_) -> bool:
        """Whether the error names the value: as the schema validator does (`/a/b/0/c`),
        or as the charts' own messages do (`a.b[0].c`, or the last key for messages
        scoped to a model entry, such as `models[0] (m): autoscaling.hpa.minReplicas`)."""
        parent, key = path[:-1], path[-1]
        missing = f"at '{pointer(parent) if parent else ''}': missing property '{key}'"
        return any(text in self.error for text in (pointer(path), dotted(path), dotted(path[-2:]), missing))


def pointer(path: Path_) -> str:
    """`/a/b/0/c`, as Helm's schema errors print a location."""
    return "/" + "/".join(str(p) for p in path)


def dotted(path: Path_) -> str:
    """`a.b[0].c`, as a user writes the value on the command line."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def key_paths(values: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Every key of a values document that holds something, depth first (lists are leaves:
    Helm replaces a list whole, so a key inside one is not settable on its own)."""
    if not isinstance(values, dict):
        return
    for key, value in values.items():
        if value is None:
            continue
        yield (*path, key)
        yield from key_paths(value, (*path, key))


def declared(schema: dict[str, Any], path: Path_) -> bool:
    """Whether the schema names every key of the path as a property (not an entry of a
    free-form map such as labels, whose keys are the user's data)."""
    node: Any = schema
    for key in path:
        while isinstance(node, dict) and "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        properties = node.get("properties", {}) if isinstance(node, dict) else {}
        if key not in properties:
            return False
        node = properties[key]
    return True


def schema_values(schema: dict[str, Any], node: Any = None, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """Every value a schema declares, as (tokens, node): a token is a property name, `[]`
    for a list's items or `*` for a free-form map's values; local `$ref`s are followed."""
    node = schema if node is None else node
    while isinstance(node, dict) and "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    if not isinstance(node, dict):
        return
    yield path, node
    for key, sub in (node.get("properties") or {}).items():
        yield from schema_values(schema, sub, (*path, key))
    if isinstance(node.get("items"), dict):
        yield from schema_values(schema, node["items"], (*path, "[]"))
    if isinstance(node.get("additionalProperties"), dict):
        yield from schema_values(schema, node["additionalProperties"], (*path, "*"))
    for sub in (node.get("patternProperties") or {}).values():
        yield from schema_values(schema, sub, (*path, "*"))


def schema_path(tokens: tuple[str, ...]) -> str:
    """`.a.b[].c.*`, the form tests.support.value_types matches."""
    return "".join("[]" if t == "[]" else f".{t}" for t in tokens)


def accepts_strings(node: dict[str, Any]) -> bool:
    """A node that takes a free string (not one of an enum's)."""
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    types += [alt.get("type") for alt in node.get("anyOf", []) + node.get("oneOf", []) if isinstance(alt, dict)]
    return "string" in types and "enum" not in node


def coalesce(defaults: Any, override: Any) -> Any:
    """Helm's merge of a values file over the chart's values: maps merge, anything else replaces, null removes."""
    if not (isinstance(defaults, dict) and isinstance(override, dict)):
        return override
    merged = dict(defaults)
    for key, value in override.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = coalesce(defaults.get(key), value)
    return merged


def get(values: Any, path: Path_) -> Any:
    for part in path:
        values = values[part]
    return values


def judge(chart: str, set_json: dict[str, Any], values: Sequence[Any] = ()) -> Verdict:
    proc = helm.template_process(chart, values, set_json)
    return Verdict(proc.returncode == 0, proc.stderr, proc.stdout)


def judge_all(chart: str, cases: Iterable[dict[str, Any]], values: Sequence[Any] = ()) -> list[Verdict]:
    """`judge` for each `--set-json` set, a few at a time, in order."""
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda case: judge(chart, case, values), cases))


def set_json_key(path: Path_) -> str:
    """The `--set-json` key for a path of map keys (a dot inside a key is escaped, as Helm reads it)."""
    return ".".join(str(p).replace(".", "\\.") for p in path)


def described(verdict: Verdict, path: Path_) -> str:
    """One line for a failure list: the value and the start of what helm said."""
    said = "rendered" if verdict.rendered else " | ".join(verdict.error.strip().splitlines()[:4])
    return f"{dotted(path)}: {said}"


def plant(doc: dict[str, Any], tokens: tuple[str, ...], bad: Any, as_key: bool = False) -> Path_:
    """Put `bad` where the schema path `tokens` points in the values document `doc`
    (changed in place): into the first item of each list on the way (an empty list gets
    one, an empty map for it to fill) and under the key `example` of a free-form map, or
    as a key of that map when `as_key`. Returns the concrete path a message should name:
    the value's, or the map's for a key."""
    node: Any = doc
    concrete: list[str | int] = []
    for token, following in zip(tokens, (*tokens[1:], None)):
        if following is None:
            break
        if token == "[]":
            if not node:
                node.append([] if following == "[]" else {})
            node, step = node[0], 0
        else:
            key = "example" if token == "*" else token
            empty: Any = [] if following == "[]" else {}
            if not isinstance(node.get(key), type(empty)):
                node[key] = empty
            node, step = node[key], key
        concrete.append(step)
    last = tokens[-1]
    if last == "[]":
        node[:] = [bad]
        concrete.append(0)
    elif last == "*" and as_key:
        node[bad] = "x"
    else:
        key = "example" if last == "*" else last
        node[key] = bad
        concrete.append(key)
    return tuple(concrete)


def judge_planted(chart: str, base: dict[str, Any], values: Sequence[Any], fields: Sequence[tuple[str, ...]], bad: Any, as_key: bool = False) -> dict[tuple[str, ...], tuple[Path_, Verdict]]:
    """Each field with `bad` planted: field -> (concrete path, verdict).

    All fields go into one document first (Helm's schema check reports every violation
    at once); a field that run does not name by its exact location is judged again on
    its own, since a chart's own `fail` stops at the first bad value it meets.
    """
    doc = copy.deepcopy(base)
    concrete = {field: plant(doc, field, bad, as_key) for field in fields}
    together = judge(chart, {top: doc[top] for top in {field[0] for field in fields}}, values)
    verdicts: dict[tuple[str, ...], tuple[Path_, Verdict]] = {}
    alone = []
    for field in fields:
        if not together.rendered and f"at '{pointer(concrete[field])}'" in together.error:
            verdicts[field] = (concrete[field], together)
        else:
            alone.append(field)
    singles = []
    for field in alone:
        doc = copy.deepcopy(base)
        plant(doc, field, bad, as_key)
        singles.append({field[0]: doc[field[0]]})
    for field, verdict in zip(alone, judge_all(chart, singles, values)):
        verdicts[field] = (concrete[field], verdict)
    return verdicts
