"""/healthz: the database, Redis, and which worker serves each queue."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from tests.conftest import ROOT, settings_env
from workers import queues


def test_healthy_without_work_even_with_no_worker(client):
    report = client.get("/healthz").get_json()
    assert report["database"]["ok"] and report["redis"]["ok"]
    assert report["queues"]["publish"]["workers"] == 0 and report["ok"] is True


def test_unhealthy_when_a_queue_has_work_and_no_worker(client, redis):
    queues.queue(queues.DEFAULT, redis).enqueue("workers.publish.publish_share", 0)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.get_json()["queues"]["default"] == {"waiting": 1, "scheduled": 0, "workers": 0, "ok": False}


def test_a_live_worker_is_reported_with_the_queues_it_serves(client, settings):
    worker = subprocess.Popen([sys.executable, "-m", "advocacy.cli", "worker", "--queues", "publish"],
                              env=settings_env(settings), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        report = client.get("/healthz").get_json()
        while not report["workers"] and time.monotonic() < deadline:
            time.sleep(0.2)
            report = client.get("/healthz").get_json()
        assert [w["queues"] for w in report["workers"]] == [["publish"]]
        assert report["queues"]["publish"]["workers"] == 1 and report["queues"]["default"]["workers"] == 0
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert worker.returncode == 0, worker.stderr.read().decode()[-2000:] if worker.stderr else ""


def _redis_away(app) -> None:
    """Point the app at a port where no Redis answers (as when Redis is down)."""
    import socket

    from redis import Redis

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app.extensions["advocacy.redis"] = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    app.extensions.pop("advocacy.redis-probe", None)


def test_healthz_says_clearly_when_redis_is_down(app, client):
    _redis_away(app)
    answer = client.get("/healthz")
    assert answer.status_code == 503
    report = answer.get_json()
    assert report["ok"] is False and report["database"]["ok"] is True
    assert report["redis"]["ok"] is False and report["redis"]["error"] == "ConnectionError"
    assert report["redis"]["message"].startswith("Redis is not answering")


def test_the_operations_page_says_when_redis_is_down(app, make_user, browser_factory):
    make_user("ops@acme.test", "admin")
    admin = browser_factory("ops@acme.test")
    _redis_away(app)
    page = admin.get("/admin/operations")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'id="redis-down"' in text and "Redis is down" in text and "workers keep retrying" in text
    assert "No worker is running" not in text  # not known while Redis is away
