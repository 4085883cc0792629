"""`make fuzz`: a long exploratory fuzz of serve_app, side by side with vLLM's own server.

    python -m tests.support.fuzz_explore [--cases 20000] [--seed N] [--no-vllm | --vllm-cases N] [--out FILE]

Starts serve_app (the serve tier's two-engine app) and, unless --no-vllm, vLLM's own
OpenAI server on the same tiny model; draws ``--cases`` cases from serve_app's schema
with a new seed (or ``--seed``), sends each to both, and writes the figures to
``--out`` (reports/fuzz.json). Every case on which serve_app fails (5xx, a 5xx error
event in a stream, a broken connection, an error body not in the OpenAI shape) is kept
in tests/serve_app/fuzz_corpus/, which every test run replays. Exits 1 if serve_app
failed any case.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import schemathesis

from tests.observability_live import exporters
from tests.support import fuzzing, processes, serving
from tests.support.tools import REPO

COMBINATIONS = sum(len(modes) for modes in fuzzing.OPERATIONS.values())
# Operations without any input draw a single case however many are asked for.
INPUTLESS = (("/v1/models", "GET"), ("/health", "GET"))


def run(client: httpx.Client, cases: list[fuzzing.Case]) -> tuple[fuzzing.Tally, list[fuzzing.Outcome]]:
    tally = fuzzing.Tally()
    outcomes = []
    for case in cases:
        outcome = fuzzing.send(client, case)
        tally.add(case, outcome)
        outcomes.append(outcome)
    return tally, outcomes


def status_class(outcome: fuzzing.Outcome) -> str:
    if outcome.status is None:
        return "no answer"
    if outcome.server_error:
        return "5xx"
    if outcome.status >= 400:
        return "4xx" if outcome.error_shape else "4xx, not OpenAI-shaped"
    return "2xx"


def compare(cases: list[fuzzing.Case], ours: list[fuzzing.Outcome], theirs: list[fuzzing.Outcome]) -> dict[str, Any]:
    """Which inputs each server answers worse: a failure where the other answered cleanly."""
    pairs = Counter(f"serve_app {status_class(a)} / vLLM {status_class(b)}" for a, b in zip(ours, theirs))
    ours_worse = [(c, a) for c, a, b in zip(cases, ours, theirs) if a.failed and not b.failed]
    theirs_worse = [(c, b) for c, a, b in zip(cases, ours, theirs) if b.failed and not a.failed]
    examples = [{"path": c.path, "body": c.body, "status": o.status, "answer": o.text[:300]} for c, o in theirs_worse[:5]]
    return {
        "answer_pairs": dict(pairs.most_common()),
        "serve_app_worse": len(ours_worse),
        "vllm_worse": len(theirs_worse),
        "vllm_worse_examples": examples,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=20_000, help="cases to draw across all operations and modes")
    parser.add_argument("--seed", type=int, default=None, help="seed (default: a new one, printed)")
    parser.add_argument("--no-vllm", action="store_true", help="do not compare with vLLM's own server")
    parser.add_argument("--vllm-cases", type=int, default=None, help="compare on an evenly spread subset of this many cases (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "fuzz.json")
    args = parser.parse_args(argv)
    if args.cases < COMBINATIONS:
        parser.error(f"--cases must be at least {COMBINATIONS} (one per operation and mode)")
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(31)
    print(f"fuzz: seed {seed}, {args.cases} cases", flush=True)
    signal.signal(signal.SIGTERM, processes.interrupt_on_sigterm)

    workdir = Path(tempfile.mkdtemp(prefix="fuzz-"))
    app = serving.start(workdir)
    vllm = None
    try:
        headers = {"Authorization": f"Bearer {app.api_key}"}
        schema = schemathesis.openapi.from_url(f"{app.base_url}/openapi.json", headers=headers, timeout=30)
        started = time.monotonic()
        cases = fuzzing.draw_all(schema, math.ceil(args.cases / (COMBINATIONS - len(INPUTLESS))), seed)
        drawn_s = time.monotonic() - started
        print(f"fuzz: drew {len(cases)} cases in {drawn_s:.0f} s", flush=True)
        started = time.monotonic()
        with app.client() as client:
            tally, ours = run(client, cases)
        figures: dict[str, Any] = {
            "seed": seed,
            "cases": tally.cases,
            "per_operation": tally.per_operation,
            "statuses": tally.statuses,
            "server_errors": sum(o.server_error for _, o in tally.failures),
            "not_openai_shaped": sum(not o.error_shape for _, o in tally.failures),
            "draw_s": round(drawn_s, 1),
            "send_s": round(time.monotonic() - started, 1),
        }
        kept = [fuzzing.keep(c, o, f"make fuzz, seed {seed}") for c, o in tally.failures]
        figures["kept_in_corpus"] = sorted({p.name for p in kept})
        print(f"fuzz: serve_app {tally.statuses}, {len(tally.failures)} failures", flush=True)
        if not args.no_vllm:
            serving.stop(app)
            vllm = exporters.start_vllm(serving.model_dir(), serving.free_port(), workdir, api_key=app.api_key)
            step = max(1, len(cases) // args.vllm_cases) if args.vllm_cases else 1
            shared = cases[::step]
            started = time.monotonic()
            with httpx.Client(base_url=vllm.base_url, headers=headers, timeout=fuzzing.REQUEST_TIMEOUT_S) as client:
                vllm_tally, theirs = run(client, shared)
            figures["vllm"] = {
                "cases": len(shared),
                "statuses": vllm_tally.statuses,
                "send_s": round(time.monotonic() - started, 1),
                **compare(shared, ours[::step], theirs),
            }
            print(f"fuzz: vLLM {vllm_tally.statuses}", flush=True)
    finally:
        if vllm is not None:
            exporters.stop_vllm(vllm)
        serving.stop(app)
    args.out.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"fuzz: figures in {args.out}", flush=True)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
