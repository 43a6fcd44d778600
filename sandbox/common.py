"""Plumbing the Mastodon and Bluesky sandboxes share: faults, fixed rate windows, settings checks, the control API.

Each sandbox keeps its own wire format (error bodies, rate-limit headers, pages); what is here is the part tests
drive the same way on every network: ``/_sandbox/`` endpoints with the JSON shapes the X sandbox set, injected
faults (``after`` and ``commit_late`` for answers lost after the write), and one lock around all state.
"""

from __future__ import annotations

import dataclasses
import html
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, g, request


class ControlError(Exception):
    """A bad request to the control API (or a bad consent form): answered 400 with ``{"error": …}``."""


@dataclass
class Fault:
    """One injected failure.

    By default the request is answered with the fault (after ``delay``) and does no work. Two faults lose the answer
    of a write that the network did make, in either order against a client that gives up after its timeout:

    - ``after``: commit, then stall: the request does its work at once, then waits ``delay`` and answers (with
      ``status`` when given, else its own answer). A retry finds the write already there.
    - ``commit_late``: stall, then commit: the request is held ``delay`` seconds and only then does its work (the
      write lands at the END of the delay) and answers (with ``status`` when given). A client that timed out and
      retried at once finds nothing; the late write then lands after its retry, and meets whatever the retry made.
    """

    id: int
    status: int | None = None
    probability: float = 1.0
    count: int | None = None
    delay: float = 0.0
    path_prefix: str = "/"
    method: str | None = None
    body: str | None = None
    content_type: str | None = None
    after: bool = False
    commit_late: bool = False
    reset_in: int = 300
    headers: dict[str, str] = field(default_factory=dict)


def is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def check_fault(fault: Fault) -> None:
    """Refuse a fault that could not be served; raises ControlError naming the key."""
    if fault.status is not None and (not isinstance(fault.status, int) or not 200 <= fault.status <= 599):
        raise ControlError("status must be an HTTP status between 200 and 599")
    if not isinstance(fault.probability, int | float) or not 0 < fault.probability <= 1:
        raise ControlError("probability must be in (0, 1]")
    if fault.count is not None and (not is_count(fault.count) or fault.count == 0):
        raise ControlError("count must be a positive integer (or null: until removed)")
    if not isinstance(fault.delay, int | float) or fault.delay < 0:
        raise ControlError("delay must be seconds >= 0")
    if fault.status is None and (fault.body is not None or not fault.delay):
        raise ControlError("a fault needs a status (body, content_type), or a delay alone for a slow answer")
    if not isinstance(fault.headers, dict) or not all(isinstance(v, str) for v in fault.headers.values()):
        raise ControlError("headers maps names to string values")
    if not isinstance(fault.after, bool) or not isinstance(fault.commit_late, bool):
        raise ControlError("after and commit_late are true or false")
    if fault.commit_late and (fault.after or not fault.delay):
        raise ControlError("commit_late holds the request for delay seconds before its work: give a delay, not after")
    if not is_count(fault.reset_in):
        raise ControlError("reset_in must be seconds >= 0")


class SandboxState:
    """State every sandbox has: a lock, a settings dataclass, faults, fixed rate windows and a seeded random.

    Subclasses set ``config_class`` and ``rate_defaults`` (name -> (limit, window seconds)) and extend ``reset``.
    """

    config_class: type = object
    rate_defaults: Mapping[str, tuple[int, int]] = {}

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.lock = threading.RLock()
        self._stopping = threading.Event()
        self._next_fault = 1
        self.reset()
        if config:
            self.configure(config)

    def reset(self) -> None:
        with self.lock:
            self.config: Any = self.config_class()
            self.random = random.Random(getattr(self.config, "seed", 0))
            self.faults: list[Fault] = []
            self.windows: dict[tuple[str, str], tuple[float, int]] = {}

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when the server stops (so no handler thread outlives it)."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def stop(self) -> None:
        self._stopping.set()

    # ------------------------------------------------------------------------------------------------- config
    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply settings (all or none); rate windows restart when limits change. Returns the whole config."""
        with self.lock:
            known = {f.name for f in dataclasses.fields(self.config)}
            unknown = sorted(set(changes) - known)
            if unknown:
                raise ControlError(f"unknown config keys {unknown}; known: {sorted(known)}")
            new = dataclasses.replace(self.config)
            for key, value in changes.items():
                setattr(new, key, self._checked_setting(key, value, getattr(self.config, key)))
            if "rate_limits" in changes:
                new.rate_limits = {**self.config.rate_limits, **changes["rate_limits"]}
            self.config = new
            if "seed" in changes:
                self.random = random.Random(new.seed)
            if "rate_limits" in changes:
                self.windows.clear()
            return dataclasses.asdict(self.config)

    def _checked_setting(self, key: str, value: Any, current: Any) -> Any:
        if key == "rate_limits":
            if not isinstance(value, dict) or not all(
                k in self.rate_defaults and is_count(v) for k, v in value.items()
            ):
                raise ControlError(f"rate_limits maps {sorted(self.rate_defaults)} to counts >= 0")
            return value
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise ControlError(f"{key} must be true or false")
            return value
        if isinstance(current, str):
            if not isinstance(value, str):
                raise ControlError(f"{key} must be a string")
            return value
        if not is_count(value):
            raise ControlError(f"{key} must be an integer >= 0")
        return value

    # ------------------------------------------------------------------------------------------- rate limits
    def take(self, key: str, name: str, cost: int = 1, *, spend: bool = True) -> tuple[bool, dict[str, int]]:
        """Spend ``cost`` of the fixed window ``name`` for ``key`` unless it would overflow.

        Returns (allowed, {"limit", "remaining", "reset" (epoch seconds)}) as they stand after this request.
        """
        with self.lock:
            limit = self.config.rate_limits[name]
            window = self.rate_defaults[name][1]
            now = time.time()
            start, used = self.windows.get((key, name), (now, 0))
            if now >= start + window:
                start, used = now, 0
            allowed = used + cost <= limit
            if spend and allowed:
                used += cost
            self.windows[(key, name)] = (start, used)
            return allowed, {"limit": limit, "remaining": max(limit - used, 0), "reset": int(start + window)}

    # ------------------------------------------------------------------------------------------------ faults
    def add_fault(self, spec: Mapping[str, Any]) -> Fault:
        with self.lock:
            names = {f.name for f in dataclasses.fields(Fault)} - {"id"}
            unknown = sorted(set(spec) - names)
            if unknown:
                raise ControlError(f"unknown fault keys {unknown}; known: {sorted(names)}")
            try:
                fault = Fault(id=self._next_fault, **spec)
            except TypeError as exc:
                raise ControlError(str(exc)) from None
            check_fault(fault)
            self._next_fault += 1
            self.faults.append(fault)
            return fault

    def pick_fault(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request (spending one of its count), if its dice say so."""
        with self.lock:
            for fault in self.faults:
                if not path.startswith(fault.path_prefix) or (fault.method and fault.method.upper() != method):
                    continue
                if fault.probability < 1.0 and self.random.random() >= fault.probability:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                return fault
            return None

    # ------------------------------------------------------------- what each sandbox answers the control API
    def post_views(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def set_metrics(self, post_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def user_views(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def upsert_user(self, data: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def expire_tokens(self, handle: str | None) -> int:
        raise NotImplementedError

    def revoke_tokens(self, handle: str) -> int:
        raise NotImplementedError


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers=dict(headers or {}), mimetype="application/json")


def control_body() -> dict[str, Any]:
    data = request.get_json(silent=True) if request.data else {}
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def e(value: Any) -> str:
    """HTML-escape for attributes and text."""
    return html.escape(str(value), quote=True)


def install_faults(
    app: Flask,
    state: SandboxState,
    *,
    is_api: Callable[[str], bool],
    fault_response: Callable[[Fault], Response],
) -> None:
    """Latency, injected faults (instead of the work, ``after`` it, or holding it: ``commit_late``) and rate headers
    kept in ``g.rate_headers``."""

    @app.before_request
    def delay_and_faults() -> Response | None:
        if request.path.startswith("/_sandbox/"):
            return None
        if is_api(request.path):
            state.sleep(state.config.latency_ms / 1000)
        fault = state.pick_fault(request.method, request.path)
        if fault is None:
            return None
        if fault.after:
            g.after_fault = fault
            return None
        state.sleep(fault.delay)
        if fault.commit_late:  # held until now: the handler does the work, then the answer is replaced (or not)
            g.after_fault = dataclasses.replace(fault, delay=0)
            return None
        return None if fault.status is None else fault_response(fault)

    @app.after_request
    def lost_answer(response: Response) -> Response:
        fault = g.pop("after_fault", None)
        if fault is None:
            return response
        state.sleep(fault.delay)
        return response if fault.status is None else fault_response(fault)

    @app.after_request
    def rate_limit_headers(response: Response) -> Response:  # runs before lost_answer: a fault's answer is its own
        for name, value in g.get("rate_headers", {}).items():
            response.headers.setdefault(name, value)
        return response

    @app.errorhandler(ControlError)
    def render_control_error(exc: ControlError) -> Response:
        return json_response({"error": str(exc)}, 400)


def install_control(app: Flask, state: SandboxState) -> None:
    """``/_sandbox/``: posts, metrics, reset, faults, users, tokens/expire, tokens/revoke, config (as X's)."""
    app.url_map.merge_slashes = False  # Bluesky post ids are at:// URIs

    @app.get("/_sandbox/posts")
    def list_posts() -> Response:
        return json_response({"posts": state.post_views()})

    @app.post("/_sandbox/posts/<path:post_id>/metrics")
    def set_metrics(post_id: str) -> Response:
        return json_response({"post": state.set_metrics(post_id, control_body())})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        state.reset()
        return json_response({"reset": True})

    @app.get("/_sandbox/faults")
    def list_faults() -> Response:
        with state.lock:
            return json_response({"faults": [dataclasses.asdict(f) for f in state.faults]})

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        return json_response({"fault": dataclasses.asdict(state.add_fault(control_body()))}, 201)

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        with state.lock:
            state.faults.clear()
        return json_response({"faults": []})

    @app.get("/_sandbox/users")
    def list_users() -> Response:
        return json_response({"users": state.user_views()})

    @app.post("/_sandbox/users")
    def upsert_user() -> Response:
        return json_response({"user": state.upsert_user(control_body())})

    @app.post("/_sandbox/tokens/expire")
    def expire_tokens() -> Response:
        handle = control_body().get("handle")
        if handle is not None and not isinstance(handle, str):
            raise ControlError("handle must be a string")
        return json_response({"expired": state.expire_tokens(handle)})

    @app.post("/_sandbox/tokens/revoke")
    def revoke_tokens() -> Response:
        handle = control_body().get("handle")
        if not isinstance(handle, str):
            raise ControlError("handle is required: whose tokens to revoke")
        return json_response({"revoked": state.revoke_tokens(handle)})

    @app.get("/_sandbox/config")
    def get_config() -> Response:
        with state.lock:
            return json_response({"config": dataclasses.asdict(state.config)})

    @app.post("/_sandbox/config")
    def set_config() -> Response:
        return json_response({"config": state.configure(control_body())})


def checked_counts(data: Mapping[str, Any], names: tuple[str, ...]) -> None:
    """Refuse follower-style counts that are not integers >= 0."""
    for key in names:
        if data.get(key) is not None and not is_count(data[key]):
            raise ControlError(f"{key} must be an integer >= 0")


def checked_metrics(values: Mapping[str, Any], names: tuple[str, ...]) -> None:
    unknown = sorted(set(values) - set(names) - {"growth"})
    if unknown:
        raise ControlError(f"unknown metrics {unknown}; known: {list(names)} and growth")
    for name, value in values.items():
        if name == "growth":
            if not isinstance(value, bool):
                raise ControlError("growth must be true or false")
        elif value is not None and not is_count(value):
            raise ControlError(f"{name} must be an integer >= 0, or null to leave it out of answers")


def utc_iso(epoch: float, digits: int = 3) -> str:
    """``2026-01-02T03:04:05.678Z`` (``digits`` of fraction)."""
    fraction = f".{int(epoch * 10**digits) % 10**digits:0{digits}d}" if digits else ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(epoch))) + fraction + "Z"


def sniff_image(data: bytes) -> str | None:
    """The image type the bytes are, by their magic numbers (as servers check uploads); None when not an image.

    Args:
        data: the uploaded file.
    """
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:2] == b"BM" and len(data) > 14:
        return "image/bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "image/avif"
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
    return None
