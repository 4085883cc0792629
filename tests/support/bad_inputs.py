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
