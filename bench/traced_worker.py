"""``advocacy worker`` under tracemalloc, for the memory bench (``publish_throughput.py --trace``).

    BENCH_TRACE_DIR=/tmp/x python bench/traced_worker.py --queues default

Runs ``advocacy worker`` with its arguments in this process. A thread looks every 0.2 s for
``$BENCH_TRACE_DIR/request``: it holds a name; the thread writes ``<name>.json`` (the RSS, then the RSS after a full
garbage collection and after glibc's ``malloc_trim``: what was garbage waiting for the collector, or free memory the
allocator kept), dumps a tracemalloc snapshot to ``$BENCH_TRACE_DIR/<name>`` and removes the request (the bench
waits for that). tracemalloc starts
(``BENCH_TRACE_FRAMES`` frames a trace, 8 by default) at the first request, once the worker runs: importing the app
under tracemalloc takes minutes; ``BENCH_TRACE_FRAMES=0``: the probe only, no tracemalloc.
Nothing here is part of the product.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _rss() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _trim() -> float:
    """glibc's ``malloc_trim(0)``: free memory the allocator keeps goes back to the system; the RSS after it."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    return _rss()


def _watch(folder: Path, pid: int) -> None:
    request = folder / "request"
    while True:
        time.sleep(0.2)
        if os.getpid() != pid:  # a forked child (RQ's scheduler) has no thread: never reached
            return
        try:
            name = request.read_text().strip()
        except OSError:
            continue
        if not name:
            continue
        probe = {"rss": _rss(), "gc_counts": gc.get_count(), "blocks": sys.getallocatedblocks()}
        probe["collected"] = gc.collect()
        probe["rss_after_gc"] = _rss()
        probe["rss_after_trim"] = _trim()
        (folder / f"{name}.json").write_text(json.dumps(probe))
        frames = int(os.environ.get("BENCH_TRACE_FRAMES", "8"))
        if not frames:  # the probe only
            request.unlink(missing_ok=True)
            continue
        if not tracemalloc.is_tracing():
            tracemalloc.start(frames)
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__),
             tracemalloc.Filter(False, "<frozen importlib._bootstrap>")])
        snapshot.dump(str(folder / f"{name}.tmp"))
        (folder / f"{name}.tmp").rename(folder / name)
        request.unlink(missing_ok=True)


def main() -> None:
    folder = Path(os.environ["BENCH_TRACE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    threading.Thread(target=_watch, args=(folder, os.getpid()), name="bench-trace", daemon=True).start()
    from advocacy.cli import main as advocacy

    sys.argv = ["advocacy", "worker", *sys.argv[1:]]
    advocacy()


if __name__ == "__main__":
    main()
