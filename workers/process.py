"""The ``advocacy worker`` process: RQ worker loops (with RQ's scheduler) that outlive a Redis outage of any length,
keep the periodic jobs armed even after Redis lost them, and post several shares at once.

RQ's worker quits its loop when Redis goes away (and RQ's worker cannot even be built while Redis is down); a loop
that was not asked to stop is built and started again here after a pause that doubles up to
``WORKER_RECONNECT_MAX_SECONDS`` (with jitter), so a Redis restart, failover or outage needs no operator, also when
the worker starts while Redis is down. One keeper thread per process, every second: heartbeats every loop and
registers again, queues included, a loop whose registration expired while Redis stalled (see ``liveness``); records
the death of loops that ended while Redis was away; re-arms the periodic jobs every few seconds (arming is
idempotent: one job id per time slot), so a flushed Redis gets its sweeper back within seconds, and the sweeper puts
back every share Redis lost; and revives RQ's scheduler, whose lock lives ``WORKER_SCHEDULER_LOCK_SECONDS`` only, so
a worker takes the scheduler over that long after its holder was killed.

Publishing is mostly waiting for the network, so a process serving the ``publish`` queue runs ``threads`` loops:
the main thread's serves every queue it was given (and runs RQ's scheduler); each other thread's serves ``publish``
only, on the same Redis client (a thread-safe connection pool) and in its own app context (its own database session).
Every loop is an RQ ``SimpleWorker`` of its own, registered in Redis like any worker, so RQ's bookkeeping (started
jobs, heartbeats, clean-up after a dead worker) is unchanged, and a share still moves only by conditional UPDATEs:
two loops can no more both publish a share than two processes can. A SIGTERM stops every loop after its current job.
"""

from __future__ import annotations

import ctypes
import logging
import math
import random
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import redis
from redis import Redis
from rq import SimpleWorker, Worker
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import StopRequested
from rq.serializers import JSONSerializer
from rq.timeouts import BaseDeathPenalty, JobTimeoutException
from rq.utils import now
from rq.worker import BaseWorker

from workers import liveness, queues, schedule

log = logging.getLogger(__name__)
REARM_SECONDS = 5.0
KEEP_SECONDS = 1.0  # the keeper's round: heartbeats, scheduler revival (at most a quarter of the worker TTL)
MAINTENANCE_SECONDS = 30  # RQ's own maintenance (registry clean-up) between jobs
IDLE_POLL_SECONDS = 5  # an idle publishing thread looks this often whether its process is stopping
HEARTBEAT_SECONDS = 1.0  # a worker loop's plain heartbeats go at most this often (RQ's TTL for them is 120 s)
WATCHDOG_SECONDS = 0.25  # how often the publishing threads' job timeouts are checked


@dataclass(frozen=True)
class Tuning:
    """The settings of a worker process's liveness (``WORKER_TTL`` and the others; see ``advocacy.config``)."""

    worker_ttl: int = liveness.WORKER_TTL
    reconnect_max: float = liveness.RECONNECT_MAX_SECONDS
    scheduler_lock: int = liveness.SCHEDULER_LOCK_SECONDS

    @classmethod
    def from_app(cls) -> Tuning:
        """From the current app's settings (the defaults outside an app context)."""
        from flask import current_app, has_app_context

        if not has_app_context():
            return cls()
        config = current_app.config
        return cls(int(config.get("WORKER_TTL", cls.worker_ttl)),
                   float(config.get("WORKER_RECONNECT_MAX_SECONDS", cls.reconnect_max)),
                   int(config.get("WORKER_SCHEDULER_LOCK_SECONDS", cls.scheduler_lock)))


class _Loops:
    """The worker loops of one process, stopped together."""

    def __init__(self, tuning: Tuning | None = None) -> None:
        self.tuning = tuning or Tuning()
        self.stopping = threading.Event()
        self.reviving = threading.Lock()  # held while RQ's scheduler is being revived (see ``stop``)
        self.helpers: list[threading.Thread] = []
        self.last_main: BaseWorker | None = None
        self.early_stop = False  # a SIGTERM or SIGINT came before RQ's handlers were installed
        self._current: dict[int, BaseWorker] = {}
        self._unburied: list[BaseWorker] = []  # loops that ended while Redis was away: their death is still to record
        self._lock = threading.Lock()

    def start_helpers(self) -> None:
        """Start the publishing threads (once). Called after RQ forked its scheduler process, so that the fork copies
        a process with one thread (a later revival of the scheduler forks with them running)."""
        with self._lock:
            waiting = [t for t in self.helpers if t.ident is None]
        for thread in waiting:
            thread.start()

    def serving(self, index: int, worker: BaseWorker | None) -> None:
        with self._lock:
            if worker is None:
                self._current.pop(index, None)
            else:
                self._current[index] = worker
                if index == 0:
                    self.last_main = worker

    def main(self) -> BaseWorker | None:
        return self._current.get(0)

    def live(self) -> list[BaseWorker]:
        with self._lock:
            return list(self._current.values())

    def retire(self, worker: BaseWorker) -> None:
        """Clean up after a loop that ended (its RQ teardown may have failed half-way, Redis being away): its pubsub
        thread, a scheduler process revived meanwhile, and its registration, recorded as dead now or by the keeper
        once Redis is back."""
        thread = getattr(worker, "pubsub_thread", None)
        if thread is not None and thread.is_alive():
            thread.stop()  # it ends within its poll (RQ's teardown would have unsubscribed it)
        with self.reviving:
            _stop_scheduler(worker)
        if getattr(worker, "birth_date", None) is not None and not getattr(worker, "_dead", True):
            with self._lock:
                self._unburied.append(worker)
            self.bury()

    def bury(self) -> None:
        """Record the death of loops that ended while Redis was away (so /healthz no longer counts them)."""
        with self._lock:
            waiting, self._unburied = self._unburied, []
        for n, worker in enumerate(waiting):
            try:
                worker.register_death()
            except (redis.exceptions.RedisError, OSError):
                with self._lock:
                    self._unburied.extend(waiting[n:])
                return

    def stop(self, but: BaseWorker | None = None) -> None:
        """Every loop finishes the job it is running and stops; idle ones within ``IDLE_POLL_SECONDS``. RQ's scheduler
        is not revived after this (the main loop stops it as it ends; a process it forked would keep this one from
        exiting)."""
        queues.STOPPING.set()  # a publish job gives back the shares of its block it has not begun
        if self.reviving.acquire(timeout=5):  # not while a revival is forking: the main loop would miss its process
            self.stopping.set()
            self.reviving.release()
        else:
            self.stopping.set()
        with self._lock:
            others = [w for w in self._current.values() if w is not but]
        for worker in others:
            worker._stop_requested = True  # what RQ's own warm shutdown sets on a busy worker


class _Heartbeats:
    """RQ's worker sends a heartbeat (three commands, three round trips) when it starts waiting for a job, when it got
    one and when it is done with it: nine round trips a job. Here each is one pipelined round trip, and one sent less
    than a second after the last plain one is left out; the one after each job always goes. Every one keeps the
    registration ``worker_ttl`` seconds (RQ's: 60 more, and the job's TTL while it runs), as the process's keeper
    does every second, so a worker that dies leaves the worker list ``WORKER_TTL`` after.

    While Redis is away, RQ's idle loop retries with a pause that doubles (here jittered) up to the process's
    ``WORKER_RECONNECT_MAX_SECONDS`` (RQ's: a minute, so a loop could notice Redis was back a minute late)."""

    _plain_beat_at = 0.0
    _dead = False  # its death is recorded in Redis
    reconnect_max = liveness.RECONNECT_MAX_SECONDS

    @property
    def exponential_backoff_factor(self) -> float:
        return random.uniform(1.5, 2.5)  # noqa: S311 - jitter

    @exponential_backoff_factor.setter
    def exponential_backoff_factor(self, _value: float) -> None:
        pass  # jittered around 2 whatever is set

    @property
    def max_connection_wait_time(self) -> float:
        return self.reconnect_max * random.uniform(0.75, 1.0)  # noqa: S311 - jitter

    @max_connection_wait_time.setter
    def max_connection_wait_time(self, value: float) -> None:
        self.reconnect_max = value

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if timeout is not None or pipeline is not None:  # RQ's own, as a job starts: the job's TTL, as RQ sends it
            self._plain_beat_at = 0.0
            super().heartbeat(timeout, pipeline)  # type: ignore[misc]
            # but the registration itself keeps WORKER_TTL: the keeper beats every loop, busy or not, and a stall
            # longer than that must expire it whatever the loop was doing (then it is registered again in full)
            me: Any = self
            (pipeline if pipeline is not None else me.connection).expire(me.key, me.worker_ttl)
            return
        at = time.monotonic()
        if at - self._plain_beat_at < HEARTBEAT_SECONDS:
            return
        self._plain_beat_at = at
        with self.connection.pipeline(transaction=False) as pipe:  # type: ignore[attr-defined]
            super().heartbeat(self.worker_ttl, pipe)  # type: ignore[attr-defined,misc]
            pipe.execute()

    def register_birth(self) -> None:
        super().register_birth()  # type: ignore[misc]
        me: Any = self
        me.connection.expire(me.key, me.worker_ttl)  # RQ's lives 60 s longer

    def register_death(self) -> None:
        super().register_death()  # type: ignore[misc]
        self._dead = True


class _MainLoop(_Heartbeats):
    """The main thread's loop: the only one that can take signals (Python delivers them to the main thread), so a
    SIGTERM or SIGINT here stops every loop of the process after its current job; a second one stops it at once (the
    shares then being published are recovered by their lease, as after a crash). It runs RQ's scheduler with a lock
    of ``WORKER_SCHEDULER_LOCK_SECONDS`` (``liveness.Scheduler``)."""

    loops: _Loops

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.loops.stop(but=self)  # type: ignore[arg-type]
        super().request_stop(signum, frame)  # type: ignore[misc]

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO",
                         date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
                         log_format: str = DEFAULT_LOGGING_FORMAT) -> None:
        """RQ's own, with our scheduler class; then the publishing threads start (after the fork)."""
        me: Any = self
        scheduler = liveness.Scheduler(me.queues, connection=me.connection,
                                       logging_level=logging_level if logging_level is not None else me.log.level,
                                       date_format=date_format, log_format=log_format, serializer=me.serializer)
        scheduler.lock_seconds = self.loops.tuning.scheduler_lock
        with self.loops.reviving:  # the keeper revives only a scheduler started here (not one being started)
            scheduler.acquire_locks()
            if scheduler.acquired_locks:
                if burst:
                    try:
                        scheduler.register_birth()
                        scheduler.enqueue_scheduled_jobs()
                    finally:
                        scheduler.release_locks()
                        scheduler.register_death()
                else:
                    scheduler.start()
            me.scheduler = scheduler
        self.loops.start_helpers()

    def _install_signal_handlers(self) -> None:
        """RQ installs its handlers only after registering the worker and forking its scheduler; a SIGTERM that came
        in that window (``run``'s own handler caught it) stops this loop as soon as it starts."""
        super()._install_signal_handlers()  # type: ignore[misc]
        if self.loops.early_stop or self.loops.stopping.is_set():
            me: Any = self
            me._stop_requested = True
            me._shutdown_requested_date = now()


class _MainWorker(_MainLoop, SimpleWorker):
    """The main loop running jobs in this process."""


class _ForkingWorker(_MainLoop, Worker):
    """The main (and only) loop forking a work horse per job (``WORKER_FORK``)."""


class _Watchdog:
    """Job timeouts for threads other than the main one: one thread per process raises the job's timeout exception in
    the thread running it (``PyThreadState_SetAsyncExc``, as RQ's ``TimerDeathPenalty`` does, which starts a thread
    for every job). Arming and disarming happen under one lock, and disarming a timeout that already fired withdraws
    the exception if the job's thread has not met it yet, so it never surfaces after its job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[int, tuple[float, type[BaseException]]] = {}
        self._thread: threading.Thread | None = None

    def arm(self, ident: int, seconds: float, exception: type[BaseException]) -> None:
        with self._lock:
            self._due[ident] = (time.monotonic() + seconds, exception)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="job-timeouts", daemon=True)
                self._thread.start()

    def disarm(self, ident: int) -> None:
        with self._lock:
            if self._due.pop(ident, None) is None:  # fired: withdraw the exception if still pending
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)

    def _watch(self) -> None:
        while True:
            time.sleep(WATCHDOG_SECONDS)
            now = time.monotonic()
            with self._lock:
                for ident, (deadline, exception) in list(self._due.items()):
                    if deadline <= now:
                        del self._due[ident]
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exception))


_WATCHDOG = _Watchdog()


class _ThreadTimeout(BaseDeathPenalty):
    """A job's timeout in a publishing thread (see ``_Watchdog``)."""

    def __init__(self, timeout: float, exception: type[BaseException] = JobTimeoutException, **kwargs: Any) -> None:
        super().__init__(timeout, exception, **kwargs)
        self._ident = threading.get_ident()

    def setup_death_penalty(self) -> None:
        if self._timeout > 0:
            _WATCHDOG.arm(self._ident, self._timeout, _timeout_exception(self._exception, self._timeout))

    def cancel_death_penalty(self) -> None:
        if self._timeout > 0:
            _WATCHDOG.disarm(self._ident)


@lru_cache(maxsize=64)
def _timeout_exception(base: type[BaseException], seconds: float) -> type[BaseException]:
    """A subclass of ``base`` whose instances carry RQ's message (an exception raised in another thread is created
    without arguments)."""
    message = f"Task exceeded maximum timeout value ({seconds} seconds)"

    def init(self: BaseException, *args: Any) -> None:
        base.__init__(self, message)

    return type(base.__name__, (base,), {"__init__": init, "__module__": base.__module__})


class _ThreadWorker(_Heartbeats, SimpleWorker):
    """A publishing loop in another thread.

    A job's timeout is raised in the job's thread by the process's watchdog (SIGALRM reaches the main thread only).
    Signal handlers are the main thread's. An idle loop gives up its blocking wait on the queue every
    ``IDLE_POLL_SECONDS`` to see whether the process is stopping.
    """

    death_penalty_class = _ThreadTimeout

    def _install_signal_handlers(self) -> None:
        pass  # Python allows them in the main thread only; _MainWorker stops this loop

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        while not self._stop_requested:
            # with a limit on idle time RQ's own wait returns None once it elapsed, without ending the loop
            result = super().dequeue_job_and_maintain_ttl(
                timeout, IDLE_POLL_SECONDS if timeout is not None else max_idle_time)
            if result is not None or timeout is None:  # a job, or a burst worker with nothing left
                return result
        return None


def _keep(conn: Redis, intervals: Mapping[str, int], stop: threading.Event, loops: _Loops, *,
          with_scheduler: bool) -> None:
    """The keeper thread (see the module's doc): each round heartbeats every loop (registering again one whose
    registration expired), records the death of loops that ended while Redis was away, and with the scheduler
    re-arms the periodic jobs (every ``REARM_SECONDS``, and at once when Redis is back) and revives RQ's scheduler.
    While Redis is away it retries after a pause that doubles up to ``WORKER_RECONNECT_MAX_SECONDS``."""
    tuning = loops.tuning
    every = min(KEEP_SECONDS, tuning.worker_ttl / 4)
    backoff = liveness.Backoff(tuning.reconnect_max)
    armed_at = -math.inf
    down = False
    pause = 0.0
    while not stop.wait(pause):
        try:
            liveness.beat(conn, loops.live(), tuning.worker_ttl)
            loops.bury()
            if with_scheduler:
                if time.monotonic() - armed_at >= REARM_SECONDS:
                    schedule.arm(conn, dict(intervals))
                    armed_at = time.monotonic()
                with loops.reviving:
                    if not loops.stopping.is_set():  # a stopping worker has just stopped its scheduler on purpose
                        _revive_scheduler(loops.main())
        except (redis.exceptions.RedisError, OSError) as exc:
            if not down:
                log.warning("event=redis_unavailable error=%s", type(exc).__name__)
            down = True
            armed_at = -math.inf  # Redis may come back empty: arm again as soon as it answers
            pause = backoff.next()
            continue
        if down:
            log.warning("event=redis_available")
        down = False
        backoff.reset()
        pause = every


def _revive_scheduler(worker: BaseWorker | None) -> None:
    """Start RQ's scheduler again when its process died (a Redis outage ends it), or take it over when the lock's
    holder died (its lock lives ``WORKER_SCHEDULER_LOCK_SECONDS``).

    RQ does the same in its maintenance tasks, but those run between jobs: an idle worker waiting on a queue would
    leave every scheduled job (and periodic job) waiting with it.
    """
    scheduler = getattr(worker, "scheduler", None)
    if scheduler is None:
        return
    process = getattr(scheduler, "_process", None)
    if process is None or not process.is_alive():
        scheduler.acquire_locks(auto_start=True)
        if getattr(scheduler, "_process", None) is not None:
            log.warning("event=scheduler_revived worker=%s", worker.name if worker else "")


def _serve(index: int, conn: Redis, names: Sequence[str], loops: _Loops, worker_class: type[BaseWorker], *,
           burst: bool, with_scheduler: bool, logging_level: str) -> None:
    """One loop: an RQ worker on ``names``, built and started again after Redis went away (however long), until the
    process stops. Building one needs Redis too (RQ names its connection), so that is retried as well."""
    backoff = liveness.Backoff(loops.tuning.reconnect_max)
    while not (loops.stopping.is_set() or loops.early_stop):
        worker: BaseWorker | None = None
        try:
            worker = worker_class([queues.queue(n, conn) for n in names], connection=conn, serializer=JSONSerializer,
                                  maintenance_interval=MAINTENANCE_SECONDS, worker_ttl=loops.tuning.worker_ttl)
            worker.reconnect_max = loops.tuning.reconnect_max  # type: ignore[attr-defined]
            if isinstance(worker, _MainLoop):
                worker.loops = loops
            loops.serving(index, worker)
            if loops.stopping.is_set() or loops.early_stop:
                return
            worker.work(burst=burst, with_scheduler=with_scheduler, logging_level=logging_level)
        except (redis.exceptions.RedisError, OSError) as exc:  # Redis away (or stalled past a timeout)
            log.warning("event=worker_redis_unavailable loop=%s error=%s", index, type(exc).__name__)
        except Exception:  # a loop must not end on what went wrong in it: the process would stop serving its queues
            log.exception("event=worker_loop_failed loop=%s", index)
        finally:
            loops.serving(index, None)
            if worker is not None:
                loops.retire(worker)
        if burst or loops.stopping.is_set() or getattr(worker, "_shutdown_requested_date", None) is not None:
            return
        if getattr(worker, "birth_date", None) is not None:  # it reached Redis: start over from the first pause
            backoff.reset()
        pause = backoff.next()
        log.warning("event=worker_restart reason=loop_ended loop=%s pause=%.2f", index, pause)
        if loops.stopping.wait(pause):
            return


def _threaded(index: int, context: Callable[[], AbstractContextManager[Any]], serve: Callable[[], None]) -> None:
    try:
        with context():
            serve()
    except Exception:  # a loop that died must not go unnoticed; the others carry on
        log.exception("event=worker_loop_died loop=%s", index)


def run(connect: Callable[[], Redis], names: Sequence[str], *, burst: bool, with_scheduler: bool,
        logging_level: str, intervals: Mapping[str, int], fork: bool = False, threads: int = 1,
        context: Callable[[], AbstractContextManager[Any]] | None = None, tuning: Tuning | None = None) -> None:
    """Serve ``names`` until asked to stop (or, with ``burst``, until the queues are empty).

    Redis may be away when this starts, or go away at any time for any time: every loop, the keeper and RQ's
    scheduler wait for it and carry on.

    Args:
        connect: returns the Redis client (called again after a lost connection).
        names: queues in priority order.
        burst: stop when the queues are empty.
        with_scheduler: run RQ's scheduler and keep the periodic jobs armed.
        logging_level: RQ's log level.
        intervals: seconds between runs by periodic id.
        fork: run each job in a forked work horse (RQ's ``Worker``) rather than in this process (``SimpleWorker``);
            a forking worker runs one loop (forking a process with threads is unsafe).
        threads: loops in this process when it serves ``publish``: the main one plus ``threads - 1`` publishing
            ones, each running one job at a time.
        context: enters what a job needs in a new thread (the app context); the main thread's is already entered.
        tuning: worker TTL, reconnect pause and scheduler lock (default: the current app's settings).
    """
    stop = threading.Event()
    loops = _Loops(tuning or Tuning.from_app())
    conn = connect()
    if burst:
        if with_scheduler:
            try:
                schedule.arm(conn, dict(intervals))
            except (redis.exceptions.RedisError, OSError) as exc:
                log.warning("event=arm_failed error=%s", type(exc).__name__)
    else:
        threading.Thread(target=_keep, args=(conn, intervals, stop, loops), kwargs={"with_scheduler": with_scheduler},
                         name="keeper", daemon=True).start()
    extra = threads - 1 if queues.PUBLISH in names and not fork else 0
    for i in range(1, extra + 1):
        serve = partial(_serve, i, conn, [queues.PUBLISH], loops, _ThreadWorker, burst=burst, with_scheduler=False,
                        logging_level=logging_level)
        loops.helpers.append(threading.Thread(target=_threaded, args=(i, context or nullcontext, serve),
                                              name=f"publish-{i}", daemon=True))
    if not with_scheduler:
        loops.start_helpers()
    _stop_on_early_signal(loops)
    try:
        _serve(0, conn, names, loops, _ForkingWorker if fork else _MainWorker, burst=burst,
               with_scheduler=with_scheduler, logging_level=logging_level)
        if not burst:  # a burst ends as each loop finds its queues empty: a busy block must not give its shares back
            loops.stop()
        loops.start_helpers()  # (a loop that never started stops at once, unless it is a burst's)
        _join(loops.helpers)
    finally:
        loops.stop()
        stop.set()
        _stop_scheduler(loops.last_main)


def _stop_on_early_signal(loops: _Loops) -> None:
    """Until RQ installs its own handlers (after it registered the worker and forked its scheduler), a SIGTERM or
    SIGINT asks for the same warm stop instead of killing the process and orphaning the scheduler it forked."""
    if threading.current_thread() is not threading.main_thread():
        return

    def early(_signum: int, _frame: Any) -> None:
        loops.early_stop = True  # a plain flag: a signal handler must not wait on a lock its own thread may hold

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, early)


def _join(helpers: list[threading.Thread]) -> None:
    """Wait for each publishing thread to finish its job. A SIGTERM or SIGINT now (a burst worker ending) is the
    warm stop already under way; another one after it stops the process at once (RQ's cold shutdown)."""
    for helper in helpers:
        while helper.is_alive():
            try:
                helper.join()
            except StopRequested:
                pass


def _stop_scheduler(worker: BaseWorker | None) -> None:
    """Stop the scheduler process the main loop may still have (revived as it was ending): at exit Python waits for
    every process it forked."""
    process = getattr(getattr(worker, "scheduler", None), "_process", None)
    if process is not None and process.is_alive():
        process.terminate()
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join(5)
