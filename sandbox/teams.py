"""Teams sandbox: Workflows webhooks ("When a Teams webhook request is received" → "Post card in a chat or channel").

A webhook is made through the control API (``POST /_sandbox/webhooks {"name": "Sales channel"}`` → its URL, shaped
like a flow's: ``/workflows/<id>/triggers/manual/paths/invoke?api-version=1&sig=<secret>``). A POST to it is
answered as the trigger does: **202 Accepted**, empty body, once the card passes the checks of ``teams_cards`` (400
``{"error": {"code": "InvalidTemplate", "message": …}}`` naming the field otherwise); a body over
``max_bytes`` (28 KB) is **413** "Request Entity too large"; more than 4 requests a second to one webhook is **429**
with ``Retry-After``; an unknown id or a wrong ``sig`` is **404** (a deleted flow, as after
``DELETE /_sandbox/webhooks/<id>``). Faults (``/_sandbox/faults``) as every sandbox (``sandbox.common``).

Pages: ``/`` lists the webhooks with their cards, ``/webhooks/<id>`` one channel's cards rendered simply, with
working buttons, so the demo shows where each card went. JSON: ``GET /_sandbox/cards`` (``?webhook=<id>``).
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request

from sandbox.common import (
    ControlError,
    Fault,
    SandboxState,
    control_body,
    e,
    install_control,
    install_faults,
    json_response,
)
from sandbox.teams_cards import CardError, check_message
from sandbox.teams_pages import card_html, page

DEFAULT_RATE_LIMITS = {"posts": (4, 1)}  # per webhook: 4 requests a second


@dataclass
class Config:
    max_bytes: int = 28 * 1024  # "Request Entity too large" above about 28 KB
    rate_limits: dict[str, int] = field(default_factory=lambda: {k: v[0] for k, v in DEFAULT_RATE_LIMITS.items()})
    latency_ms: int = 0
    seed: int = 0


@dataclass
class Webhook:
    id: str
    name: str
    sig: str
    created_at: float
    deleted: bool = False


@dataclass
class Card:
    id: int
    webhook_id: str
    received_at: float
    card: dict[str, Any]
    size: int


class TeamsState(SandboxState):
    config_class = Config
    rate_defaults = DEFAULT_RATE_LIMITS

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.webhooks: dict[str, Webhook] = {}
            self.cards: list[Card] = []

    def create_webhook(self, name: str) -> Webhook:
        with self.lock:
            hook = Webhook(id=secrets.token_hex(16), name=name, sig=secrets.token_urlsafe(32), created_at=time.time())
            self.webhooks[hook.id] = hook
            return hook

    def receive(self, hook_id: str, sig: str, raw: bytes) -> Response:
        with self.lock:
            hook = self.webhooks.get(hook_id)
            if hook is None or hook.deleted or not secrets.compare_digest(sig, hook.sig):
                return _error(404, "WorkflowNotFound", "The workflow could not be found (it may have been deleted).")
            allowed, window = self.take(hook_id, "posts")
            if not allowed:
                wait = max(1, window["reset"] - int(time.time()))
                return _error(429, "TooManyRequests", "Rate limit is exceeded. Try again later.",
                              {"Retry-After": str(wait)})
            if len(raw) > self.config.max_bytes:
                return _error(413, "MessageSizeExceeded", "Request Entity too large")
            try:
                card = check_message(json.loads(raw))
            except (ValueError, CardError) as exc:
                return _error(400, "InvalidTemplate", f"The card cannot be posted: {exc}")
            self.cards.append(Card(len(self.cards) + 1, hook_id, time.time(), card, len(raw)))
            return Response(status=202)

    def view(self, c: Card) -> dict[str, Any]:
        return dataclasses.asdict(c) | {"webhook": self.webhooks[c.webhook_id].name}

    def post_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.view(c) for c in self.cards]


def _error(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    state = TeamsState(config)
    app.extensions["teams_sandbox"] = state

    def fault_response(fault: Fault) -> Response:
        if fault.body is not None:
            return Response(fault.body, fault.status, headers=fault.headers,
                            content_type=fault.content_type or "application/json")
        headers = dict(fault.headers)
        if fault.status == 429:
            headers.setdefault("Retry-After", "1")
        return _error(fault.status or 500, "InjectedFault", "injected fault", headers)

    install_faults(app, state, is_api=lambda p: p.startswith("/workflows/"), fault_response=fault_response)
    install_control(app, state)

    def url_of(hook: Webhook) -> str:
        return (f"{request.host_url.rstrip('/')}/workflows/{hook.id}/triggers/manual/paths/invoke"
                f"?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={hook.sig}")

    @app.post("/workflows/<hook_id>/triggers/manual/paths/invoke")
    def invoke(hook_id: str) -> Response:
        if (request.mimetype or "") != "application/json":
            return _error(415, "UnsupportedMediaType", "The content type must be application/json")
        return state.receive(hook_id, request.args.get("sig", ""), request.get_data())

    install_pages(app, state, url_of)
    return app


def install_pages(app: Flask, state: TeamsState, url_of: Any) -> None:
    """The control API's webhooks and cards, and the pages listing each channel's cards."""

    @app.post("/_sandbox/webhooks")
    def new_webhook() -> Response:
        name = control_body().get("name", "Channel")
        if not isinstance(name, str) or not 0 < len(name) <= 100:
            raise ControlError("name: the channel's name, 1 to 100 characters")
        hook = state.create_webhook(name)
        return json_response({"webhook": {"id": hook.id, "name": hook.name, "url": url_of(hook)}}, 201)

    @app.get("/_sandbox/webhooks")
    def list_webhooks() -> Response:
        with state.lock:
            return json_response({"webhooks": [{"id": h.id, "name": h.name, "url": url_of(h), "deleted": h.deleted}
                                               for h in state.webhooks.values()]})

    @app.delete("/_sandbox/webhooks/<hook_id>")
    def delete_webhook(hook_id: str) -> Response:
        with state.lock:
            hook = state.webhooks.get(hook_id)
            if hook is None:
                raise ControlError("no such webhook")
            hook.deleted = True
        return json_response({"deleted": hook_id})

    @app.get("/_sandbox/cards")
    def list_cards() -> Response:
        wanted = request.args.get("webhook")
        with state.lock:
            return json_response({"cards": [state.view(c) for c in state.cards
                                            if wanted is None or c.webhook_id == wanted]})

    @app.get("/")
    def index() -> Response:
        with state.lock:
            rows = "".join(
                f'<li><a href="/webhooks/{e(h.id)}">{e(h.name)}</a> · '
                f'{sum(c.webhook_id == h.id for c in state.cards)} cards{" · deleted" if h.deleted else ""}</li>'
                for h in state.webhooks.values())
        return page("Channels", f"<h1>Workflows webhooks</h1><ul>{rows or '<li>none yet</li>'}</ul>")

    @app.get("/webhooks/<hook_id>")
    def channel(hook_id: str) -> Response:
        with state.lock:
            hook = state.webhooks.get(hook_id)
            if hook is None:
                return page("Not found", "<h1>No such webhook</h1>", 404)
            cards = [c for c in state.cards if c.webhook_id == hook_id]
        shown = "".join(card_html(c.card, c.received_at) for c in reversed(cards))
        return page(hook.name, f'<p><a href="/">All channels</a></p><h1>{e(hook.name)}</h1>'
                               f'{shown or "<p>No cards yet.</p>"}')
