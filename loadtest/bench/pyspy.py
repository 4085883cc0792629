"""Sample the Python stacks of a system's processes during a level (py-spy).

``python -m loadtest.bench --profile ROLE[,ROLE...]`` records, during the
concurrency-32 level of every system, each process whose role (see procstats)
contains one of the given substrings, e.g. ``--profile OpenAiIngress,ProxyActor,LLMServer``.
Samples are taken without pausing the target (``--nonblocking``) and only while the
thread holds the GIL (``--gil``), i.e. where the process actually spends CPU.
The summary lists the hottest functions by self and by inclusive samples.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from . import procstats


def py_spy() -> str | None:
    local = Path(sys.executable).with_name("py-spy")
    return str(local) if local.exists() else shutil.which("py-spy")


def start(sid: int, roles: list[str], seconds: int, out: Path) -> list[tuple[str, Path, subprocess.Popen]]:
    exe = py_spy()
    if not exe or not roles:
        return []
    out.mkdir(parents=True, exist_ok=True)
    running = []
    for p in procstats.snapshot().values():
        if p.sid != sid or p.state == "Z" or not any(r in p.label for r in roles):
            continue
        name = p.label.replace("::", "_").replace(":", "_").replace(" ", "_")
        raw = out / f"{name}-{p.pid}.txt"
        cmd = [exe, "record", "--pid", str(p.pid), "--duration", str(seconds), "--rate", "100", "--format", "raw", "--nonblocking", "--gil", "--output", str(raw)]
        running.append((p.label, raw, subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    return running


def _frame(f: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = f.partition(" (")
    file = where.rsplit(":", 1)[0].rsplit("/", 1)[-1] if where else ""
    return f"{name} ({file})" if file else name


def summarise(raw: Path, top: int = 15) -> dict:
    self_counts: Counter = Counter()
    incl: Counter = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [_frame(f) for f in stack.split(";")]
        if frames:
            self_counts[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    share = lambda c: round(100 * c / total, 1) if total else 0.0  # noqa: E731
    return {
        "samples": total,
        "self_pct": [(f, share(c)) for f, c in self_counts.most_common(top)],
        "inclusive_pct": [(f, share(c)) for f, c in incl.most_common(top)],
    }


def finish(running: list[tuple[str, Path, subprocess.Popen]]) -> dict:
    out: dict[str, dict] = {}
    for label, raw, proc in running:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if raw.is_file():
            out[f"{label} ({raw.stem.rsplit('-', 1)[-1]})"] = summarise(raw)
            summary = out[f"{label} ({raw.stem.rsplit('-', 1)[-1]})"]
            lines = [f"{label}: {summary['samples']} samples (GIL held)", "", "self %:"]
            lines += [f"  {pct:5.1f}  {f}" for f, pct in summary["self_pct"]]
            lines += ["", "inclusive %:"] + [f"  {pct:5.1f}  {f}" for f, pct in summary["inclusive_pct"]]
            raw.with_suffix(".summary.txt").write_text("\n".join(lines) + "\n")
    return out
