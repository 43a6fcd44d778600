"""One `advocacy worker` process posting several shares at once (publishing threads, each an RQ worker loop): every
share still posts once, /healthz counts one process, SIGTERM lets every thread finish its share; a job's timeout
reaches the thread running it."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from typing import Any

from rq.timeouts import JobTimeoutException
from sqlalchemy import func, select

from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.ops import health
from tests.conftest import ROOT, settings_env
from tests.delivery.support import approved, employee, posts_by_code
from workers.process import _ThreadTimeout


def count(status: str, ids: list[int]) -> int:
    db.session.rollback()
    return int(db.session.scalar(select(func.count(Share.id)).where(Share.id.in_(ids), Share.status == status)) or 0)


def wait_for(what: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def test_one_worker_process_posts_several_shares_at_once_and_stops_after_them(app, settings, x):
    users = [employee(f"p{i}@acme.test", f"p{i}_acme") for i in range(3)]
    tps = [approved(title=f"News {i}") for i in range(3)]  # one live share of each per person
    worker = subprocess.Popen([sys.executable, "-m", "advocacy.cli", "worker", "--queues", "publish", "--threads", "3"],
                              env=settings_env(settings | {"HTTP_TIMEOUT": 30.0}), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        # generous deadlines: on a loaded machine starting the process alone can take tens of seconds
        wait_for(lambda: [w["loops"] for w in health.check()[1]["workers"]] == [3], 120,
                 "the worker did not register its three loops")
        x.configure(latency_ms=400)
        first = [services.create_share(users[n % 3], tps[n // 3], "x").id for n in range(6)]
        wait_for(lambda: count("published", first) == 6, 120, "the shares were not published")
        x.configure(latency_ms=6000)  # all three under way at once however slow the loops (the worker waits up to 30 s)
        second = [services.create_share(users[n], tps[2], "x").id for n in range(3)]
        wait_for(lambda: count("publishing", second) == 3, 60, "the three loops did not each take a share")
        worker.send_signal(signal.SIGTERM)  # each loop finishes the share it is posting, then the process ends
        output, _ = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, output.decode(errors="replace")[-3000:]
    assert count("published", first + second) == 9
    posted = posts_by_code(x.posts())
    assert len(posted) == 9 and set(posted.values()) == {1}
    # one loop waits 400 ms for each answer, so the next post can only arrive sooner if another loop sent it
    arrivals = sorted(r["at"] for r in x.requests() if r["method"] == "POST" and r["path"] == "/2/tweets")
    assert min(b - a for a, b in zip(arrivals[:5], arrivals[1:6], strict=True)) < 0.4, arrivals
    assert health.check()[1]["workers"] == []  # every loop left the worker list


def test_a_job_timeout_reaches_the_thread_running_it_and_never_outlives_its_job():
    outcome: dict[str, str] = {}

    def jobs() -> None:
        try:
            with _ThreadTimeout(1, JobTimeoutException):
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    time.sleep(0.01)
            outcome["slow"] = "ran to the end"
        except JobTimeoutException as exc:
            outcome["slow"] = str(exc)
        with _ThreadTimeout(1, JobTimeoutException):
            time.sleep(0.9)  # done just before its timeout
        time.sleep(1.5)  # long after it: nothing may be raised here
        outcome["quick"] = "no timeout after the job"

    thread = threading.Thread(target=jobs)
    thread.start()
    thread.join(20)
    assert outcome == {"slow": "Task exceeded maximum timeout value (1 seconds)", "quick": "no timeout after the job"}
