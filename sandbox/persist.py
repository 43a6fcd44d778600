"""Keep a sandbox's state across restarts: ``python -m sandbox --state-dir DIR`` saves each network's state to
``DIR/<network>.state`` when it stops and loads it when it starts, and keeps each network on the same port
(``DIR/ports.json``), because connected accounts store the sandbox URLs.

The states are plain Python objects (dataclasses, dicts, a seeded random) held in memory by threads; they are saved
with :mod:`pickle` into a file only this user can read. A sandbox is a local test double: the state directory is
written and read by the same person's processes, never fed from elsewhere (unpickling an untrusted file would run
code). Locks and events are not state: the live ones stay.
"""

from __future__ import annotations

import io
import json
import logging
import os
import pickle
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

FORMAT = 1
_LOCKS = (type(threading.Lock()), type(threading.RLock()), threading.Event, threading.Condition, threading.Thread)


def _state_objects(app: Flask) -> dict[str, Any]:
    """The app's sandbox state objects (``x_sandbox``, ``bluesky_oauth``...): what its routes close over."""
    return {key: value for key, value in app.extensions.items()
            if type(value).__module__.startswith("sandbox.") and hasattr(value, "__dict__")}


class _Pickler(pickle.Pickler):
    def __init__(self, file: Any, live: Mapping[int, str], own: int) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.live = live
        self.own = own

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _LOCKS):
            return ("none",)
        key = self.live.get(id(obj))
        if key is not None and id(obj) != self.own:
            return ("live", key)  # another state object of this app (Bluesky's OAuth server holds the PDS)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, live: Mapping[str, Any]) -> None:
        super().__init__(file)
        self.live = live

    def persistent_load(self, pid: Any) -> Any:
        if pid[0] == "live":
            return self.live[pid[1]]
        return None


def _dump(value: Any, live: Mapping[int, str], own: int) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, live, own).dump(value)
    return buffer.getvalue()


def save(app: Flask, path: Path) -> None:
    """Write the app's sandbox state to ``path`` (atomically, mode 0600)."""
    objects = _state_objects(app)
    live = {id(obj): key for key, obj in objects.items()}
    saved: dict[str, bytes] = {}
    for key, obj in objects.items():
        lock = getattr(obj, "lock", None)
        with lock if lock is not None else _NoLock():
            attrs = {name: value for name, value in vars(obj).items() if not isinstance(value, _LOCKS)}
            try:
                saved[key] = _dump(attrs, live, id(obj))
            except (TypeError, pickle.PicklingError, AttributeError):
                # something not picklable (the OIDC provider's signing key): keep what can be kept, attribute by
                # attribute; the rest is made afresh on the next start
                kept = {}
                for name, value in attrs.items():
                    try:
                        _dump(value, live, id(obj))
                    except (TypeError, pickle.PicklingError, AttributeError):
                        log.info("sandbox state %s.%s is not kept across restarts", key, name)
                        continue
                    kept[name] = value
                saved[key] = _dump(kept, live, id(obj))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        pickle.dump({"format": FORMAT, "objects": saved}, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def load(app: Flask, path: Path) -> bool:
    """Put the state saved at ``path`` back into the app's live state objects; False when there is none."""
    if not path.exists():
        return False
    with path.open("rb") as f:
        data = pickle.load(f)  # noqa: S301 - our own file, see the module's docstring
    if data.get("format") != FORMAT:
        log.warning("sandbox state %s has another format; starting empty", path)
        return False
    objects = _state_objects(app)
    for key, blob in data["objects"].items():
        obj = objects.get(key)
        if obj is None:
            continue
        attrs = _Unpickler(io.BytesIO(blob), objects).load()
        lock = getattr(obj, "lock", None)
        with lock if lock is not None else _NoLock():
            vars(obj).update(attrs)
    return True


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def read_ports(state_dir: Path) -> dict[str, int]:
    """The port each network had last time (empty the first time)."""
    try:
        return {str(k): int(v) for k, v in json.loads((state_dir / "ports.json").read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def write_ports(state_dir: Path, ports: Mapping[str, int]) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    merged = read_ports(state_dir) | dict(ports)
    tmp = state_dir / "ports.json.tmp"
    tmp.write_text(json.dumps(merged, sort_keys=True) + "\n")
    os.replace(tmp, state_dir / "ports.json")
