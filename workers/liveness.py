"""What keeps an ``advocacy worker`` process visible and useful through Redis outages, stalls and dead peers.

- :class:`Backoff`: the pause between attempts to reach Redis again, doubling from half a second up to a cap, with
  jitter so that many workers coming back do not knock on a restarted Redis in step.
- :func:`beat`: one process-wide heartbeat of every live worker loop. A loop's registration (its hash and its place
  in RQ's worker sets) expires when Redis stalls longer than the worker TTL (``DEBUG SLEEP``, a frozen VM, a long
  failover); RQ's own heartbeat then only recreates a hash holding ``last_heartbeat``, without the queues, so
  ``/healthz`` said no worker served the queues while the worker kept publishing. The beat registers such a loop
  again in full, atomically (a Lua script), and never revives a loop that registered its death.
- :class:`Scheduler`: RQ's scheduler with a lock lifetime of our own. RQ's lock lives ``interval + 60`` seconds (61 s):
  a SIGKILLed holder kept every other worker from moving scheduled jobs (the sweeper among them) for a minute. Here
  it lives ``WORKER_SCHEDULER_LOCK_SECONDS`` (10 s by default) and is renewed every second by its holder, so another
  worker takes over about that long after the holder died.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from redis import Redis
from rq.scheduler import RQScheduler
from rq.scripts import ACQUIRE_OR_REFRESH_LOCK_SCRIPT, acquire_or_refresh_lock
from rq.utils import now, utcformat
from rq.worker_registration import REDIS_WORKER_KEYS, WORKERS_BY_QUEUE_KEY

log = logging.getLogger(__name__)

FIRST_PAUSE = 0.5
RECONNECT_MAX_SECONDS = 5.0  # default of WORKER_RECONNECT_MAX_SECONDS
WORKER_TTL = 60  # default of WORKER_TTL
SCHEDULER_LOCK_SECONDS = 10  # default of WORKER_SCHEDULER_LOCK_SECONDS


class Backoff:
    """Capped exponential backoff with jitter: each pause is drawn between half and all of ``first * 2**n``, capped.

    Args:
        cap: the longest pause, in seconds.
        first: the first pause.
    """

    def __init__(self, cap: float = RECONNECT_MAX_SECONDS, first: float = FIRST_PAUSE) -> None:
        self.cap = max(cap, 0.01)
        self.first = min(first, self.cap)
        self._failures = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.first * 2 ** min(self._failures, 30))
        self._failures += 1
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy

    def reset(self) -> None:
        self._failures = 0


# KEYS[1] the worker's hash, KEYS[2] RQ's set of all workers, KEYS[3..] RQ's set of each queue's workers.
# ARGV[1] TTL, ARGV[2] last heartbeat, ARGV[3..] the worker's fields and values (as RQ's register_birth writes them).
# Returns -1 for a worker that registered its death, 1 when it had to be registered again, 0 otherwise.
_BEAT = """
if redis.call('HEXISTS', KEYS[1], 'death') == 1 then return -1 end
local again = 0
if redis.call('HEXISTS', KEYS[1], 'queues') == 0 then
  for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
  again = 1
end
redis.call('HSET', KEYS[1], 'last_heartbeat', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
for i = 2, #KEYS do redis.call('SADD', KEYS[i], KEYS[1]) end
return again
"""


def beat(connection: Redis, workers: Iterable[Any], ttl: int) -> int:
    """Heartbeat each registered worker loop in one round trip; a loop whose registration expired is registered
    again with its queues. Returns how many were registered again.

    Args:
        connection: Redis client.
        workers: RQ worker objects of this process (those not yet registered are skipped).
        ttl: seconds the registration lives without another beat.
    """
    script = connection.register_script(_BEAT)
    beating = [w for w in workers if getattr(w, "birth_date", None) is not None]
    if not beating:
        return 0
    stamp = now()
    with connection.pipeline(transaction=False) as pipe:
        for w in beating:
            state = w.get_state()
            fields = {**w.serialize(), "last_heartbeat": utcformat(stamp), "state": getattr(state, "value", state)}
            keys = [w.key, REDIS_WORKER_KEYS, *(WORKERS_BY_QUEUE_KEY % q for q in w.queue_names())]
            args: list[Any] = [ttl, utcformat(stamp)]
            for field, value in fields.items():
                args += [field, value if value is not None else ""]
            script(keys=keys, args=args, client=pipe)
        replies = pipe.execute()
    again = 0
    for w, reply in zip(beating, replies, strict=True):
        if reply == 1:
            again += 1
            log.warning("event=worker_registered_again worker=%s queues=%s", w.name, ",".join(w.queue_names()))
        if reply != -1:
            w.last_heartbeat = stamp
    return again


class Scheduler(RQScheduler):
    """RQ's scheduler whose lock lives ``lock_seconds`` (RQ's: ``interval + 60``), renewed by its heartbeat every
    ``interval`` (1 s)."""

    lock_seconds: int = SCHEDULER_LOCK_SECONDS

    def acquire_locks(self, auto_start: bool = False) -> set[str]:
        owned = set()
        for name in self._queue_names:
            outcome = acquire_or_refresh_lock(self.connection, self.get_locking_key(name), self.name,
                                              self.lock_seconds)
            if outcome == "acquired":
                self.log.info("Acquired scheduler lock for %s", name)
            if outcome in ("acquired", "refreshed"):
                owned.add(name)
        self._scheduled_job_registries = []
        self._acquired_locks = owned
        self.lock_acquisition_time = datetime.now()  # type: ignore[assignment]
        if owned and auto_start and (not self._process or not self._process.is_alive()):
            self.start()
        return owned

    def heartbeat(self) -> None:
        self.last_heartbeat = now()
        names = sorted(self._acquired_locks)
        lock = self.connection.register_script(ACQUIRE_OR_REFRESH_LOCK_SCRIPT)
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, "last_heartbeat", utcformat(self.last_heartbeat))
            pipe.expire(self.key, self.interval + 60)
            for name in names:
                lock(keys=[self.get_locking_key(name)], args=[self.name, self.lock_seconds], client=pipe)
            outcomes = pipe.execute()[2:]
        lost = {name for name, outcome in zip(names, outcomes, strict=True) if outcome == 0}
        if lost:
            self.log.warning("Scheduler locks for %s were taken over by another scheduler", ", ".join(sorted(lost)))
            self._acquired_locks -= lost
            self._scheduled_job_registries = []
