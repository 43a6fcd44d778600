"""``python -m sandbox --network x [--host H] [--port P] [--ready-file PATH] [--state-dir DIR]``: serve until
SIGINT/SIGTERM. With ``--state-dir``, each network's accounts, tokens and posts are saved there on stop and loaded
on start, and each network keeps its port.

When every server listens, prints one JSON line ``{"x": "http://127.0.0.1:PORT"}`` and writes the same to the
ready file (atomically), so a demo or test harness in another process can find the URLs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from sandbox.runner import NETWORKS, start_all, stop_all


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandboxes in the foreground.

    Args:
        argv: command-line arguments (defaults to ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument(
        "--network", action="append", choices=[*sorted(NETWORKS), "all"], help="repeatable; default: all"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="fixed port (one network only); 0 picks a free one")
    parser.add_argument("--ready-file", type=Path, help="write the JSON of network URLs here once listening")
    parser.add_argument("--state-dir", type=Path,
                        help="keep each network's state and port here across restarts (saved on stop)")
    args = parser.parse_args(argv)
    networks = sorted(NETWORKS) if not args.network or "all" in args.network else list(dict.fromkeys(args.network))
    if args.port and len(networks) > 1:
        parser.error("--port needs exactly one --network")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    servers = start_all(networks, args.host, {networks[0]: args.port} if args.port else None, args.state_dir)
    try:
        ready = json.dumps({name: url for server in servers.values() for name, url in server.urls.items()})
        if args.ready_file:
            tmp = args.ready_file.with_name(args.ready_file.name + ".tmp")
            tmp.write_text(ready + "\n")
            os.replace(tmp, args.ready_file)
        print(ready, flush=True)
        while not stopping.wait(3600):
            pass
    finally:
        stop_all(servers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
