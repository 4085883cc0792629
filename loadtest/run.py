"""Headless load run: Locust against one endpoint, results in one directory.

    python -m loadtest.run --url http://127.0.0.1:8000 --out reports/load [--users 8 --duration 60 ...]

Writes Locust's CSV files (stats, history, failures) and HTML report, the per-request
records (records.json), the load generator's own event-loop lag (client_lag.json) and
their summary (summary.json: TTFT, ITL, TPOT, e2e percentiles, output tokens/s, error
rate, client lag). Exits non-zero if any request failed; warns if the load generator
itself was starved of CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from .report import STARVED_P99_MS, summarise_file

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
REPO = LOCUSTFILE.parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="loadtest.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="base URL of the OpenAI-compatible endpoint (without /v1)")
    p.add_argument("--out", type=Path, required=True, help="directory for the result files")
    p.add_argument("--model", help="model name (default: first of /v1/models)")
    p.add_argument("--api-key", default=os.environ.get("LOAD_API_KEY"), help="bearer token (default: $LOAD_API_KEY)")
    p.add_argument("--kind", choices=["chat", "completion", "mixed"], default="mixed")
    p.add_argument("--shape", choices=["constant", "step", "burst"], default="constant")
    p.add_argument("--users", type=int, default=8, help="concurrent users (peak for step/burst)")
    p.add_argument("--duration", type=int, default=60, help="seconds")
    p.add_argument("--step-users", type=int, default=2, help="step shape: users added every --step-seconds (default: %(default)s)")
    p.add_argument("--step-seconds", type=int, default=10, help="step shape: seconds between steps (default: %(default)s)")
    p.add_argument("--burst-base", type=int, default=1, help="burst shape: users between bursts (default: %(default)s)")
    p.add_argument("--burst-every", type=int, default=20, help="burst shape: seconds from one burst to the next (default: %(default)s)")
    p.add_argument("--burst-length", type=int, default=5, help="burst shape: seconds a burst lasts at --users (default: %(default)s)")
    p.add_argument("--rate", type=float, default=0.0, help="target requests/s at the peak user count (default: none, users send back to back)")
    p.add_argument("--prompt-words", default="16-64", help="N or MIN-MAX")
    p.add_argument("--max-tokens", default="32-128", help="N or MIN-MAX")
    args = p.parse_args(argv)
    if args.rate < 0:
        p.error(f"--rate must be 0 (none) or a positive number of requests/s, not {args.rate}")
    for flag in ("users", "step_users", "step_seconds", "burst_every", "burst_length"):
        if getattr(args, flag) < 1:
            p.error(f"--{flag.replace('_', '-')} must be at least 1, not {getattr(args, flag)}")
    if not 0 <= args.burst_base <= args.users:
        p.error(f"--burst-base must be between 0 and --users ({args.users}), not {args.burst_base}")
    return args


def run(args: argparse.Namespace) -> dict:
    args.out.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "LOAD_KIND": args.kind,
        "LOAD_SHAPE": args.shape,
        "LOAD_USERS": str(args.users),
        "LOAD_DURATION_S": str(args.duration),
        "LOAD_RATE": str(args.rate),
        "LOAD_STEP_USERS": str(args.step_users),
        "LOAD_STEP_S": str(args.step_seconds),
        "LOAD_BURST_BASE": str(args.burst_base),
        "LOAD_BURST_EVERY_S": str(args.burst_every),
        "LOAD_BURST_LENGTH_S": str(args.burst_length),
        "LOAD_PROMPT_WORDS": args.prompt_words,
        "LOAD_MAX_TOKENS": args.max_tokens,
        "LOAD_RECORDS": str(args.out / "records.json"),
        "LOAD_LAG": str(args.out / "client_lag.json"),
        # The locustfile imports loadtest.sse; Locust itself only adds loadtest/ to the path.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    if args.model:
        env["LOAD_MODEL"] = args.model
    if args.api_key:
        env["LOAD_API_KEY"] = args.api_key
    cmd = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", args.url,
        "--csv", str(args.out / "locust"), "--csv-full-history", "--html", str(args.out / "locust.html"),
        "--only-summary", "--stop-timeout", "120",
    ]
    subprocess.run(cmd, env=env, check=False)
    summary = summarise_file(args.out / "records.json", args.out / "summary.json", target_requests_per_s=args.rate or None,
                             lag_path=args.out / "client_lag.json")
    print(json.dumps(summary, indent=2))
    lag_p99 = (summary["client_lag_ms"] or {}).get("p99")
    if lag_p99 is not None and lag_p99 > STARVED_P99_MS:
        print(f"warning: the load generator was starved of CPU (event-loop lag p99 {lag_p99:.0f} ms > {STARVED_P99_MS:.0f} ms): "
              "these figures understate the endpoint; run it where it has a CPU of its own", file=sys.stderr)
    return summary


def main(argv: list[str] | None = None) -> int:
    summary = run(parse_args(argv))
    return 1 if summary["failures"] or not summary["requests"] else 0


if __name__ == "__main__":
    sys.exit(main())
