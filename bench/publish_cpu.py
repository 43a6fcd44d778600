"""CPU per share of the publish path beside CPU per RQ no-op job, in one process, so that a shared machine's load
changes the wall time but not the figures.

    python bench/publish_cpu.py [SHARES]

One ``advocacy worker`` loop (no scheduler) publishes SHARES queued shares against the X sandbox at 20 ms latency,
then one RQ ``SimpleWorker`` runs SHARES jobs that sleep 20 ms. Worker CPU is ``time.process_time()``; the sandbox's
(its own process) is read with psutil. Set ROOT to run another checkout of the code with the same script.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.environ.get("ROOT", str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, ROOT)
sys.path.insert(0, ROOT + "/bench")
import psutil  # noqa: E402
import publish_throughput as pt  # noqa: E402

from workers import queues  # noqa: E402

folder = Path(tempfile.mkdtemp(prefix="advcpu"))
redis_url = queues.embedded_redis_url(folder)
base = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
env = base | {"ADVOCACY_INSTANCE_PATH": str(folder), "REDIS_URL": redis_url, "ADVOCACY_LOG_LEVEL": "WARNING",
              "ADVOCACY_PUBLIC_URL": "http://advocacy.bench",
              "ADVOCACY_DELIVERY_BUDGETS": "x:app:86400:1000000,x:user:900:100000"}
sandbox, x_url = pt.start_sandbox(env, folder)
env |= {"ADVOCACY_X_API_BASE_URL": x_url, "ADVOCACY_X_AUTHORIZE_URL": f"{x_url}/i/oauth2/authorize",
        "ADVOCACY_X_TOKEN_URL": f"{x_url}/2/oauth2/token", "ADVOCACY_X_WEB_BASE_URL": x_url,
        "ADVOCACY_X_CLIENT_ID": "advocacy-bench"}
os.environ.update(env)
import requests  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 500
try:
    requests.post(f"{x_url}/_sandbox/config", json={"app_24h_cap": 10**7, "user_24h_cap": 10**7,
                                                    "rate_limits": {"POST /2/tweets": 10**7}}, timeout=5)
    ids, enqueue = pt.queue_shares(N, pt.connect_people("c", max(1, N // 50)))
    enqueue()
    requests.post(f"{x_url}/_sandbox/config", json={"latency_ms": 20}, timeout=5)
    from advocacy import create_app
    from advocacy.extensions import redis_client
    from workers import process
    app = create_app()
    app.app_context().push()
    sb = psutil.Process(sandbox.pid)
    s0, c0, w0 = sum(sb.cpu_times()[:2]), time.process_time(), time.monotonic()
    process.run(redis_client, ["publish"], burst=True, with_scheduler=False, logging_level="WARNING", intervals={})
    s1, c1, w1 = sum(sb.cpu_times()[:2]), time.process_time(), time.monotonic()
    assert pt.published(ids) == N
    print(f"advocacy: worker CPU {(c1-c0)/N*1000:.1f} ms/share, sandbox CPU {(s1-s0)/N*1000:.1f} ms/share, "
          f"wall {(w1-w0)/N*1000:.1f} ms/share (1 worker)")
    from redis import Redis
    from rq import Queue, SimpleWorker
    from rq.serializers import JSONSerializer
    conn = Redis.from_url(redis_url)
    q = Queue("noop", connection=conn, serializer=JSONSerializer)
    q.enqueue_many([Queue.prepare_data("publish_throughput.sleep_job", (20,), result_ttl=600) for _ in range(N)])
    c0, w0 = time.process_time(), time.monotonic()
    SimpleWorker([q], connection=conn, serializer=JSONSerializer).work(burst=True, logging_level="WARNING")
    c1, w1 = time.process_time(), time.monotonic()
    print(f"RQ no-op: worker CPU {(c1-c0)/N*1000:.1f} ms/job, wall {(w1-w0)/N*1000:.1f} ms/job (1 worker)")
    print("load average", os.getloadavg())
finally:
    sandbox.terminate()
    queues.stop_embedded(folder)
