"""``python -m loadtest.bench``: run the side-by-side benchmark and write the report.

    python -m loadtest.bench                        # full run: ~30 s per level, 4 systems
    python -m loadtest.bench --quick                # smoke run: a few seconds per level
    python -m loadtest.bench --systems vllm --merge # re-measure one system into results.json
    python -m loadtest.bench --render-only          # rewrite README.md and plots from results.json
    python -m loadtest.bench --variant batch0=serve_app,RAYLLM_MODEL_RESPONSE_BATCH_TIMEOUT_MS=0 \\
        --systems serve_app,batch0 --concurrency 32 --out reports/bench/investigation

Systems run one at a time (start, warm up, every concurrency level, stop), each level
driven by the project's Locust harness (loadtest.run) with the same fixed-length
requests. Against vLLM's server, the harness is cross-checked with vLLM's own
benchmark client at concurrency 8.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import Any

from . import machine, procstats, render, systems
from .crosscheck import crosscheck, separate_cores
from .levels import log, measure_level, run_load
from .settings import CONCURRENCY, CROSSCHECK_CONCURRENCY, ENGINE, MODEL_ID, PLOT_CONCURRENCY, SYSTEMS, VARIANT_BASES, LoadProfile

DEFAULT_OUT = systems.REPO / "reports" / "bench"
SCHEMA = 1


def parse_variant(spec: str) -> tuple[str, dict[str, Any]]:
    """NAME=BASE[,ENV=VALUE...]: a system started like BASE with extra environment."""
    name, _, rest = spec.partition("=")
    base, *pairs = rest.split(",")
    if base not in VARIANT_BASES:
        raise argparse.ArgumentTypeError(f"variant base must be one of {VARIANT_BASES}, not {base!r}")
    env = dict(p.split("=", 1) for p in pairs)
    return name, {"base": base, "env": env}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m loadtest.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short smoke run (a few seconds per level)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="report directory (default: %(default)s)")
    p.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated systems to run (default: %(default)s)")
    p.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)), help="closed-loop users per level (default: %(default)s)")
    p.add_argument("--level-seconds", type=int, help="seconds per level (default: 30, --quick: 8)")
    p.add_argument("--variant", action="append", default=[], type=parse_variant, help="NAME=BASE[,ENV=VALUE...]: an extra system, BASE started with extra environment")
    p.add_argument("--max-other-load", type=float, default=0.35, help="re-measure a level when other processes used more than this share of the CPU (default: %(default)s; 1 disables)")
    p.add_argument("--retries", type=int, default=1, help="re-measurements per noisy level (default: %(default)s)")
    p.add_argument("--profile", default="", help=f"comma-separated process roles to sample with py-spy during the {PLOT_CONCURRENCY}-stream level (e.g. OpenAiIngress,ProxyActor,LLMServer)")
    p.add_argument("--server-nice", type=int, default=0, help="run every server at this nice level (e.g. 5) so the load generator is not starved of CPU (default: %(default)s)")
    p.add_argument("--split-cores", action="store_true", help="run the load generator on a core of its own and the servers on the rest (the cross-check always does)")
    p.add_argument("--no-crosscheck", action="store_true", help="skip the harness-vs-vLLM-client cross-check")
    p.add_argument("--merge", action="store_true", help="update the systems run into the existing results.json instead of replacing it")
    p.add_argument("--render-only", action="store_true", help="only rewrite README.md and plots from results.json")
    return p.parse_args(argv)


def _promote(src: Path, dst: Path) -> None:
    """Make a retry's raw files the level's (the plots read raw/<system>/c<N>/)."""
    shutil.rmtree(dst.with_name(dst.name + "-noisier"), ignore_errors=True)
    dst.rename(dst.with_name(dst.name + "-noisier"))
    src.rename(dst)


def run_system(name: str, spec: dict, model_dir: str, levels: list[int], profile: LoadProfile, raw: Path, do_crosscheck: bool,
               max_other_load: float = 1.0, retries: int = 0, profile_roles: list[str] | None = None, server_nice: int = 0,
               split_cores: bool = False) -> dict:
    base, env = spec["base"], spec.get("env", {})
    result: dict[str, Any] = {"base": base, "env": env, "description": systems.DESCRIPTIONS.get(base, base), "levels": {}}
    sysdir = raw / name
    log(f"{name}: starting ({base}{' ' + str(env) if env else ''})")
    running = None
    for attempt in (1, 2):
        try:
            running = systems.start(base, model_dir, sysdir, extra_env=env, nice=server_nice)
            break
        except Exception as e:  # recorded, and the next system still runs
            # A free port can be taken between choosing it and the server binding it
            # (Ray's own processes pick random ports too): one more try on fresh ports.
            log(f"{name}: failed to start (attempt {attempt}): {type(e).__name__}; log: {sysdir / 'server.log'}")
            if attempt == 2:
                result["error"] = f"start failed: {e}"[:4000]
                return result
            (sysdir / "server.log").replace(sysdir / "server-failed-start.log")
    result["command"] = " ".join(Path(running.command[0]).name if i == 0 else a for i, a in enumerate(running.command)).replace(str(systems.REPO) + "/", "").replace(model_dir, "$MODEL_DIR")
    result["startup_s"] = running.startup_s
    result["processes"] = procstats.engine_processes(running.sid)
    log(f"{name}: ready in {running.startup_s}s at {running.base_url}")
    try:
        # --split-cores: the load generator on a core of its own, the server on the rest.
        with separate_cores(running) if split_cores else contextlib.nullcontext():
            run_load(running.base_url, profile.warmup_users, profile.warmup_s, sysdir / "warmup", profile)
            time.sleep(profile.settle_s)
            for users in levels:
                roles = profile_roles if users == PLOT_CONCURRENCY else None
                level = measure_level(running, users, profile.level_s, sysdir / f"c{users}", profile, roles)
                for attempt in range(1, retries + 1):
                    if (level["cpu"].get("other_cpu_share") or 0) <= max_other_load:
                        break
                    # Someone else's job took a large share of the cores: measure again, keep the quieter run.
                    log(f"{name} c={users}: other load {level['cpu']['other_cpu_share']} > {max_other_load}, measuring again ({attempt}/{retries})")
                    time.sleep(profile.settle_s * 5)
                    again = measure_level(running, users, profile.level_s, sysdir / f"c{users}-retry{attempt}", profile)
                    if (again["cpu"].get("other_cpu_share") or 0) < (level["cpu"].get("other_cpu_share") or 0):
                        again["replaced_noisier_run"] = {"other_cpu_share": level["cpu"]["other_cpu_share"], "output_tok_s": level["output_tok_s"]}
                        level = again
                        _promote(sysdir / f"c{users}-retry{attempt}", sysdir / f"c{users}")
                result["levels"][str(users)] = level
                log(
                    f"{name} c={users}: {level['output_tok_s']} tok/s, {level['req_s']} req/s, TTFT p50 {level['ttft_ms']['p50']} ms, "
                    f"ITL p50 {level['itl_ms']['p50']} ms, errors {level['errors']}, other load {level['cpu'].get('other_cpu_share')}"
                )
                time.sleep(profile.settle_s)
        if do_crosscheck and base == "vllm" and not env and str(CROSSCHECK_CONCURRENCY) in result["levels"]:
            log(f"{name}: cross-checking the harness against vLLM's benchmark client at c={CROSSCHECK_CONCURRENCY}")
            result["crosscheck"] = crosscheck(running, model_dir, result["levels"][str(CROSSCHECK_CONCURRENCY)], profile.level_s, sysdir, profile, profile.crosscheck_rounds)
            log(f"{name}: cross-check, quietest pair: {(result['crosscheck'].get('quietest_pair') or {}).get('diff_pct')}")
    except Exception as e:
        log(f"{name}: failed during load: {type(e).__name__}: {e}")
        result["error"] = f"load failed: {type(e).__name__}: {e}"[:4000]
    finally:
        log(f"{name}: stopping")
        systems.stop(running)
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out.resolve()  # servers run with their own working directories
    results_path = out / "results.json"
    if args.render_only:
        render.write_all(json.loads(results_path.read_text()), out)
        return 0

    from serve_app.tiny_model import ensure_model

    profile = LoadProfile.quick() if args.quick else LoadProfile.full()
    if args.level_seconds:
        profile = LoadProfile(**{**profile.__dict__, "level_s": args.level_seconds})
    levels = [int(c) for c in args.concurrency.split(",") if c]
    variants = dict(args.variant)
    specs = {n: variants.get(n, {"base": n}) for n in args.systems.split(",") if n}
    unknown = [n for n, s in specs.items() if s["base"] not in VARIANT_BASES]
    if unknown:
        raise SystemExit(f"unknown systems {unknown}: choose from {SYSTEMS} or define them with --variant")

    out.mkdir(parents=True, exist_ok=True)
    raw = out / "raw"
    model_dir = str(ensure_model())
    results: dict[str, Any] = {}
    if args.merge and results_path.is_file():
        results = json.loads(results_path.read_text())
    results.update(
        schema=SCHEMA,
        generated_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        mode="quick" if args.quick else "full",
        machine=machine.info(),
        versions=machine.versions(),
        settings={
            "model": MODEL_ID,
            "engine": ENGINE,
            "load": {"kind": profile.kind, "prompt_words": profile.prompt_words, "max_tokens": profile.max_tokens, "ignore_eos": True,
                     "level_s": profile.level_s, "warmup_s": profile.warmup_s, "warmup_users": profile.warmup_users, "closed_loop": True},
            "concurrency": levels,
            "noise_policy": {"max_other_load": args.max_other_load, "retries": args.retries},
            "server_nice": args.server_nice,
            "split_cores": args.split_cores,
        },
    )
    results.setdefault("systems", {})
    started = time.monotonic()
    for name, spec in specs.items():
        results["systems"][name] = run_system(name, spec, model_dir, levels, profile, raw, not args.no_crosscheck, args.max_other_load, args.retries, [r for r in args.profile.split(",") if r], args.server_nice,
                                               args.split_cores)
        results_path.write_text(json.dumps(results, indent=2) + "\n")  # keep partial results
    results["wall_s"] = round(time.monotonic() - started, 1)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    render.write_all(results, out)
    log(f"wrote {results_path} and {out / 'README.md'} in {results['wall_s']}s")
    failed = [n for n, s in results["systems"].items() if s.get("error") or any(l["errors"] for l in s.get("levels", {}).values())]
    if failed:
        log(f"systems with errors: {failed}")
    return 1 if failed else 0
