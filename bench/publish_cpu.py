"""CPU per share of publishing beside CPU per RQ no-op job, at equal concurrency, in interleaved samples; and the
resident memory of every long-running advocacy process after each round.

    python bench/publish_cpu.py [--shares 2000] [--samples 3] [--loops 4] [--threads 2] [--latency-ms 20]
                                [--database-url URL] [--redis-url URL] [--x-monthly-spend-cap USD]
                                [--noop-result-ttl SECONDS] [--warmup 200]

Two fleets run side by side for the whole bench, on one Redis, and stay up from the first sample to the last:

- advocacy: ``--loops / --threads`` processes of ``advocacy worker --queues publish --threads T`` (``--loops``
  publishing loops in all) and one ``advocacy worker --queues default`` (the scheduler and the periodic jobs, as an
  operator deploys them; RQ's scheduler is a process it forks);
- RQ: ``--loops`` processes of ``rq worker -w rq.SimpleWorker`` whose job sleeps ``--latency-ms`` (the same number
  of loops as advocacy's publishing ones).

Each sample queues ``--shares`` queued shares (advocacy: posted to a fresh set of people on the X sandbox at
``--latency-ms``, the whole path: claim, sharing rule, price, budget, token, image, POST /2/tweets, record) or as many
no-op jobs, and counts the CPU seconds spent from queueing to the last one done by **every process of that fleet**
(the default-queue worker and its scheduler included) **plus the Redis server** (``INFO cpu``; with a shared
``--redis-url`` other clients' commands count too). The sandbox stands in for X; its CPU is reported apart. Samples
alternate ABBA so that a change in the machine's load falls on both sides alike, and CPU time (not wall time) is
compared, so a loaded machine moves the ratio little. After each advocacy sample the RSS of every advocacy process is
printed: with ``--shares 10000 --samples 3`` that is three consecutive 10,000-share rounds on the same processes.

Before the first sample each fleet runs ``--warmup`` shares / jobs, not counted: every loop has then imported its job's
code and opened its connections, as in a worker that has been serving for a while.

A publish job posts the due shares of a block of share ids (``workers.queues.BLOCK``), so RQ's bookkeeping is paid
per block, not per share; the no-op side is one RQ job per job, as RQ is used.

RQ's no-op job keeps its result for RQ's default 500 s; ``--noop-result-ttl 0`` makes it keep none (as advocacy's
publish jobs do).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import publish_throughput as pt  # noqa: E402


def _cpu(procs: list[psutil.Process]) -> float:
    """User and system CPU seconds of ``procs`` and of their children (RQ's scheduler), live or finished."""
    total = 0.0
    for proc in procs:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
            for child in proc.children(recursive=True):
                c = child.cpu_times()
                total += c.user + c.system
        except psutil.NoSuchProcess:
            pass
    return total


def _redis_cpu(conn: Any) -> float:
    info = conn.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _rss(procs: list[psutil.Process]) -> list[tuple[str, float]]:
    """(label, RSS MiB) of each process and of each child (RQ's scheduler)."""
    out = []
    for proc in procs:
        label = " ".join(a for a in proc.cmdline()[3:] if not a.startswith("-") or a == "--queues")
        out.append((label.replace("--queues ", ""), proc.memory_info().rss / 2**20))
        out += [(f"  scheduler of {proc.pid}", c.memory_info().rss / 2**20) for c in proc.children(recursive=True)]
    return out


class Fleet:
    """Processes started once and kept for the whole bench."""

    def __init__(self, name: str, cmds: list[list[str]], env: dict[str, str], ready: Callable[[], bool]) -> None:
        self.name = name
        self.popen = [subprocess.Popen(c, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for c in cmds]
        self.procs = [psutil.Process(p.pid) for p in self.popen]
        deadline = time.monotonic() + 300  # a loaded machine takes minutes to start them
        while not ready():
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.popen):
                self.stop()
                raise SystemExit(f"the {name} workers did not start")
            time.sleep(0.1)
        time.sleep(2)  # RQ's scheduler forked, the first heartbeats sent

    def check(self) -> None:
        if any(p.poll() is not None for p in self.popen):
            raise SystemExit(f"a {self.name} worker stopped")

    def stop(self) -> None:
        for p in self.popen:
            p.send_signal(signal.SIGTERM)
        for p in self.popen:
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()


@dataclass
class Sample:
    """CPU seconds of the fleet and of Redis from queueing to the last job done, the wall time, and the fleet's and
    Redis's CPU per second while idle just before (heartbeats, schedulers, periodic jobs)."""

    cpu: float
    redis: float
    wall: float
    idle: float

    def total(self, n: int) -> float:
        return (self.cpu + self.redis) / n * 1000

    def busy(self, n: int) -> float:
        """Per job, less what the fleet and Redis would have spent idle over the same wall time."""
        return (self.cpu + self.redis - self.idle * self.wall) / n * 1000

    def show(self, n: int, what: str) -> str:
        return (f"workers {self.cpu / n * 1000:.2f} ms/{what} + Redis {self.redis / n * 1000:.2f} = "
                f"{self.total(n):.2f} ms/{what} (less idle {self.idle * 1000:.0f} ms/s: {self.busy(n):.2f}), "
                f"wall {self.wall:.1f} s ({n / self.wall:.0f}/s)")


def measure(fleet: Fleet, conn: Any, start: Callable[[], None], done: Callable[[], bool], idle: float) -> Sample:
    """The fleet's and Redis's CPU while idle for ``idle`` seconds, then from queueing the jobs (``start``) until
    ``done``."""
    c0, r0, w0 = _cpu(fleet.procs), _redis_cpu(conn), time.monotonic()
    time.sleep(idle)
    idle_rate = (_cpu(fleet.procs) + _redis_cpu(conn) - c0 - r0) / (time.monotonic() - w0)
    c0, r0, w0 = _cpu(fleet.procs), _redis_cpu(conn), time.monotonic()
    start()
    while not done():
        fleet.check()
        time.sleep(0.2)
    return Sample(_cpu(fleet.procs) - c0, _redis_cpu(conn) - r0, time.monotonic() - w0, idle_rate)


def sample_ours(args: argparse.Namespace, fleet: Fleet, conn: Any, publish_q: Any, x_url: str,
                sandbox_ps: psutil.Process, n: int, count: int | None = None) -> tuple[Sample, float]:
    """One advocacy sample: ``--shares`` (or ``count``) shares for a fresh set of people; returns it and the
    sandbox's CPU (ms) per share."""
    from rq.registry import StartedJobRegistry

    count = count or args.shares
    requests.post(f"{x_url}/_sandbox/config", json={"latency_ms": 0}, timeout=5)
    ids, enqueue = pt.prepare(f"s{n}" if count == args.shares else f"w{n}", count, x_url)
    requests.post(f"{x_url}/_sandbox/config", json={"latency_ms": args.latency_ms}, timeout=5)
    from workers import queues

    default_q = queues.queue(queues.DEFAULT, conn)
    deadline = time.monotonic() + 120
    while (default_q.count or StartedJobRegistry(queue=default_q).count) and time.monotonic() < deadline:
        time.sleep(0.5)  # what preparing queued (announcements of the new talking points) is done before measuring
    started = StartedJobRegistry(queue=publish_q)
    s0, d0 = pt._cpu(sandbox_ps, children=True), _postgres_cpu()
    sample = measure(fleet, conn, enqueue, lambda: publish_q.count == 0 and started.count == 0
                     and pt.published(ids) == len(ids), args.idle_seconds)
    if count == args.shares:  # not the warm-up
        DATABASE_CPU.append((_postgres_cpu() - d0) / count * 1000)
    return sample, (pt._cpu(sandbox_ps, children=True) - s0) / count * 1000


DATABASE_CPU: list[float] = []  # PostgreSQL's server processes, ms per share of each advocacy sample


def _postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL server process on this machine (backends included): on PostgreSQL the claim
    and the outcome's UPDATEs run there, not in the worker, so it is shown beside the ratio (RQ's no-op has no
    database; on SQLite that work is in the worker's own CPU). Other clients of the server count too."""
    total = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "postmaster"):
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


def sample_noop(args: argparse.Namespace, fleet: Fleet, conn: Any, noop_q: Any, count: int | None = None) -> Sample:
    """One RQ sample: ``--shares`` (or ``count``) jobs that sleep ``--latency-ms``."""
    from rq import Queue
    from rq.registry import StartedJobRegistry

    kwargs = {} if args.noop_result_ttl is None else {"result_ttl": args.noop_result_ttl}
    total = count or args.shares

    def enqueue() -> None:
        for i in range(0, total, 1000):
            noop_q.enqueue_many([Queue.prepare_data("bench.publish_throughput.sleep_job", (args.latency_ms,),
                                                    **kwargs) for _ in range(min(1000, total - i))])

    started = StartedJobRegistry(queue=noop_q)
    return measure(fleet, conn, enqueue, lambda: noop_q.count == 0 and started.count == 0
                   and conn.llen(noop_q.intermediate_queue_key) == 0, args.idle_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shares", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--loops", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--x-monthly-spend-cap", default="")
    parser.add_argument("--noop-result-ttl", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=200,
                        help="shares / jobs each fleet runs, not counted, before the first sample")
    parser.add_argument("--idle-seconds", type=float, default=5.0,
                        help="before each sample, how long each fleet's idle CPU is measured")
    args = parser.parse_args()
    if args.loops % args.threads:
        raise SystemExit("--loops must be a multiple of --threads")

    from redis import Redis
    from rq import Queue, Worker
    from rq.serializers import JSONSerializer

    from workers import queues

    folder = Path(tempfile.mkdtemp(prefix="advcpu"))
    redis_url = args.redis_url or queues.embedded_redis_url(folder)
    base = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
    env = base | {"ADVOCACY_INSTANCE_PATH": str(folder), "REDIS_URL": redis_url, "ADVOCACY_LOG_LEVEL": "WARNING",
                  "ADVOCACY_PUBLIC_URL": "http://advocacy.bench",
                  "ADVOCACY_DELIVERY_BUDGETS": "x:app:86400:100000000,x:user:900:10000000"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    if args.x_monthly_spend_cap:
        env["ADVOCACY_X_MONTHLY_SPEND_CAP"] = args.x_monthly_spend_cap
    conn = Redis.from_url(redis_url)
    if args.redis_url:
        conn.flushdb()
    sandbox, x_url = pt.start_sandbox(env, folder, "gunicorn")
    env |= pt.sandbox_settings(x_url)
    os.environ.update(env)
    sandbox_ps = psutil.Process(sandbox.pid)
    publish_q, noop_q = queues.queue(queues.PUBLISH, conn), Queue("noop", connection=conn, serializer=JSONSerializer)
    fleets: list[Fleet] = []
    try:
        pt.connect_people("warm", 1)  # migrates the database before any worker starts
        import flask_migrate

        flask_migrate.upgrade = lambda **_: None  # once is enough (and the tree may gain a migration meanwhile)
        cli = [sys.executable, "-m", "advocacy.cli", "worker"]
        per = args.loops // args.threads
        fleets.append(Fleet("advocacy", [[*cli, "--queues", "publish", "--threads", str(args.threads)]] * per
                            + [[*cli, "--queues", "default"]], env,
                            lambda: Worker.count(connection=conn, queue=publish_q) >= args.loops
                            and Worker.count(connection=conn, queue=queues.queue(queues.DEFAULT, conn)) >= 1))
        rq_cmd = [str(Path(sys.executable).parent / "rq"), "worker", "--url", redis_url, "-w", "rq.SimpleWorker",
                  "--serializer", "rq.serializers.JSONSerializer", "--quiet", "noop"]
        fleets.append(Fleet("RQ no-op", [rq_cmd] * args.loops, env | {"PYTHONPATH": str(ROOT)},
                            lambda: Worker.count(connection=conn, queue=noop_q) >= args.loops))
        if args.warmup:
            sample_ours(args, fleets[0], conn, publish_q, x_url, sandbox_ps, 0, args.warmup)
            sample_noop(args, fleets[1], conn, noop_q, args.warmup)
            print(f"warm-up: {args.warmup} shares and {args.warmup} no-op jobs (not counted); load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
        ours: list[Sample] = []
        noop: list[Sample] = []
        sandbox_cpu: list[float] = []
        memory: list[list[tuple[str, float]]] = [_rss(fleets[0].procs)]
        print("advocacy RSS MiB at start (idle): " + ", ".join(f"{n} {m:.1f}" for n, m in memory[0]), flush=True)
        order = [s for n in range(args.samples) for s in (("A", "B") if n % 2 == 0 else ("B", "A"))]
        for side in order:
            if side == "A":
                sample, sandbox_ms = sample_ours(args, fleets[0], conn, publish_q, x_url, sandbox_ps, len(ours))
                ours.append(sample)
                sandbox_cpu.append(sandbox_ms)
                memory.append(_rss(fleets[0].procs))
                print(f"advocacy sample {len(ours)}: {sample.show(args.shares, 'share')}, sandbox {sandbox_ms:.2f} "
                      f"ms/share; RSS MiB " + ", ".join(f"{n} {m:.1f}" for n, m in memory[-1])
                      + f"; load average {os.getloadavg()[0]:.1f}", flush=True)
            else:
                sample = sample_noop(args, fleets[1], conn, noop_q)
                noop.append(sample)
                print(f"RQ no-op sample {len(noop)}: {sample.show(args.shares, 'job')}; load average "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
        report(args, ours, noop, sandbox_cpu, memory)
    finally:
        for fleet in fleets:
            fleet.stop()
        sandbox.terminate()
        sandbox.wait(10)
        if not args.redis_url:
            queues.stop_embedded(folder)


def report(args: argparse.Namespace, ours: list[Sample], noop: list[Sample], sandbox_cpu: list[float],
           memory: list[list[tuple[str, float]]]) -> None:
    n = args.shares
    ratios = [a.total(n) / b.total(n) for a, b in zip(ours, noop, strict=True)]
    busy = [a.busy(n) / b.busy(n) for a, b in zip(ours, noop, strict=True)]
    db = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
    print(f"\n{db}; {n} shares / jobs a sample, {args.samples} samples a side (ABBA), {args.loops} loops a side "
          f"(advocacy: {args.loops // args.threads} processes × {args.threads} threads + the default-queue worker; "
          f"RQ: {args.loops} SimpleWorker processes), latency {args.latency_ms} ms; load average "
          f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"median CPU per share (publishing workers + default worker + schedulers + Redis): advocacy "
          f"{statistics.median(s.total(n) for s in ours):.2f} ms, RQ no-op "
          f"{statistics.median(s.total(n) for s in noop):.2f} ms per job; ratio per sample pair "
          f"{', '.join(f'{r:.2f}' for r in ratios)}, median **{statistics.median(ratios):.2f}**")
    print(f"less each fleet's idle CPU over the sample's wall time: advocacy "
          f"{statistics.median(s.busy(n) for s in ours):.2f} ms, RQ {statistics.median(s.busy(n) for s in noop):.2f}"
          f" ms; ratios {', '.join(f'{r:.2f}' for r in busy)}, median {statistics.median(busy):.2f}; idle CPU "
          f"advocacy {statistics.median(s.idle for s in ours) * 1000:.0f} ms/s, RQ "
          f"{statistics.median(s.idle for s in noop) * 1000:.0f} ms/s")
    print(f"workers only: advocacy {statistics.median(s.cpu / n * 1000 for s in ours):.2f} ms, RQ "
          f"{statistics.median(s.cpu / n * 1000 for s in noop):.2f} ms; Redis only: advocacy "
          f"{statistics.median(s.redis / n * 1000 for s in ours):.2f} ms, RQ "
          f"{statistics.median(s.redis / n * 1000 for s in noop):.2f} ms; sandbox "
          f"{statistics.median(sandbox_cpu):.2f} ms/share (not counted); wall: advocacy "
          f"{statistics.median(n / s.wall for s in ours):.0f}/s, RQ "
          f"{statistics.median(n / s.wall for s in noop):.0f}/s")
    if args.database_url.startswith("postgresql") and DATABASE_CPU:
        server = statistics.median(DATABASE_CPU)
        with_server = [(a.total(n) + d) / b.total(n) for a, b, d in zip(ours, noop, DATABASE_CPU, strict=False)]
        print(f"PostgreSQL server processes: {', '.join(f'{d:.2f}' for d in DATABASE_CPU)} ms/share (median "
              f"{server:.2f}; not in the ratio above: RQ's no-op has no database); counted in: ratios "
              f"{', '.join(f'{r:.2f}' for r in with_server)}, median {statistics.median(with_server):.2f}")
    if len(memory) > 2:
        print("RSS after each round (MiB), and the spread over the rounds ((max - min) / min, start-up excluded):")
        for i, (label, _) in enumerate(memory[1]):
            after = [m[i][1] for m in memory[1:] if i < len(m)]
            print(f"  {label}: start {memory[0][i][1] if i < len(memory[0]) else float('nan'):.1f} → "
                  f"{' → '.join(f'{x:.1f}' for x in after)}: {(max(after) - min(after)) / min(after):+.1%}")


if __name__ == "__main__":
    main()
