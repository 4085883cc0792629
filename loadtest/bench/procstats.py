"""Where the CPU went during a run, read from /proc (Linux only; empty elsewhere).

On a 2-core machine the serving stack, the load generator and everyone else's jobs
share the same cores, so every measured level also records:

- the CPU seconds each process of the system under test used, grouped by role
  (``ray::ProxyActor``, ``ray::ServeReplica:...``, ``VLLM::EngineCore``, ...): the
  process-level profile of where a request's time goes;
- the load generator's CPU seconds;
- the machine's total busy CPU, so the rest (other people's jobs) shows as noise.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    sid: int
    label: str
    cpu_s: float
    state: str = "R"
    started: int = 0


def _label(cmdline: list[str], comm: str) -> str:
    if not cmdline:
        return comm
    first = cmdline[0]
    if first.startswith(("ray::", "VLLM::")):
        # Ray and vLLM set process titles: keep the role, drop per-replica suffixes.
        title = " ".join(cmdline).split()[0]
        title = re.sub(r"#[A-Za-z0-9]+$", "", title)
        # Ray appends the running method (".listen_for_change"): the role is the actor.
        return re.sub(r"\.[a-z_][a-z0-9_]*$", "", title)
    exe = os.path.basename(first)
    if exe.startswith("python") and "-m" in cmdline:
        return f"python -m {cmdline[cmdline.index('-m') + 1]}"
    if exe.startswith("python") and len(cmdline) > 1:
        return f"python {os.path.basename(cmdline[1])}"
    return exe or comm


def snapshot() -> dict[int, Proc]:
    procs: dict[int, Proc] = {}
    if not PROC.is_dir():
        return procs
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        cmdline = [a for a in raw.decode(errors="replace").split("\0") if a]
        procs[int(entry.name)] = Proc(
            pid=int(entry.name),
            ppid=int(fields[1]),
            sid=int(fields[3]),
            label=_label(cmdline, comm),
            cpu_s=(int(fields[11]) + int(fields[12])) / TICK,
            state=fields[0],
            started=int(fields[19]),
        )
    return procs


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores)."""
    try:
        parts = [int(x) for x in (PROC / "stat").read_text().splitlines()[0].split()[1:]]
    except OSError:
        return 0.0
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return (sum(parts[:8]) - idle) / TICK


def descendants(procs: dict[int, Proc], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p.pid)
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        for c in children.get(pid, []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return out


def _own_cpu_s() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CpuMeter:
    """CPU used between start() and stop() by a server's session, the client and the rest."""

    def __init__(self, server_sid: int | None) -> None:
        self.server_sid = server_sid

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.busy0 = machine_busy_s()
        self.procs0 = snapshot()
        self.self0 = _own_cpu_s()

    def stop(self) -> dict:
        wall = time.monotonic() - self.t0
        busy = machine_busy_s() - self.busy0
        procs1 = snapshot()
        me = os.getpid()
        mine = descendants(procs1, me) | descendants(self.procs0, me)

        def used(pid: int) -> float:
            end = procs1.get(pid)
            begin = self.procs0.get(pid)
            if end is None:
                return 0.0  # exited during the window: its time is lost to us
            return end.cpu_s - (begin.cpu_s if begin and begin.started == end.started else 0.0)

        by_role: dict[str, float] = {}
        server = 0.0
        # This process plus its waited-for children (the load generator runs as one).
        client = _own_cpu_s() - self.self0
        for pid, p in procs1.items():
            if self.server_sid is not None and p.sid == self.server_sid:
                u = used(pid)
                server += u
                by_role[p.label] = by_role.get(p.label, 0.0) + u
            elif pid in mine:
                client += used(pid)
        cores = os.cpu_count() or 1
        return {
            "wall_s": round(wall, 3),
            "cores": cores,
            "machine_busy_cpu_s": round(busy, 2),
            "server_cpu_s": round(server, 2),
            "client_cpu_s": round(client, 2),
            # Everything else on the machine: other people's jobs, the kernel.
            "other_cpu_s": round(max(0.0, busy - server - client), 2),
            "other_cpu_share": round(max(0.0, busy - server - client) / (wall * cores), 3) if wall else 0.0,
            "server_by_role_cpu_s": {k: round(v, 2) for k, v in sorted(by_role.items(), key=lambda kv: -kv[1]) if v >= 0.01},
        }


def engine_processes(sid: int) -> list[dict]:
    """Threads, OpenMP settings and CPU affinity of a session's engine and replica processes.

    vLLM's CPU backend sizes its OpenMP pool from the environment and affinity it
    inherits, and Ray sets OMP_NUM_THREADS for its workers, so the same engine can run
    with a different thread count under each system.
    """
    out = []
    for p in snapshot().values():
        if p.sid != sid or p.state == "Z" or not p.label.startswith(("VLLM::", "ray::ServeReplica", "python -m vllm")):
            continue
        try:
            status = (PROC / str(p.pid) / "status").read_text()
            environ = (PROC / str(p.pid) / "environ").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        env = dict(e.split("=", 1) for e in environ if "=" in e)
        out.append({
            "role": p.label,
            "threads": int(fields.get("Threads", "0").strip() or 0),
            "cpus_allowed": fields.get("Cpus_allowed_list", "").strip(),
            "omp_num_threads": env.get("OMP_NUM_THREADS"),
        })
    return sorted(out, key=lambda d: d["role"])
