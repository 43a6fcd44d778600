"""Web Push sandbox: a push service (RFC 8030) and the browsers subscribed to it, which decrypt what they get.

A "browser" subscribes through the control API, ``POST /_sandbox/subscriptions {"name": "Emma's phone",
"application_server_key": "<the app's VAPID public key, base64url>"}``, and gets what ``PushManager.subscribe()``
gives a page: ``{"endpoint", "keys": {"p256dh", "auth"}}``. The sandbox keeps the subscription's private key and auth
secret, as the browser does, so it can read each message. A push (``POST /push/<id>``) is checked as a push service
does:

- ``TTL`` is required (400 without it, RFC 8030 §5.2); ``Content-Encoding: aes128gcm`` (RFC 8188) for a body;
  at most 4,096 bytes (413);
- ``Authorization: vapid t=<JWT>, k=<public key>`` (RFC 8292): the JWT's ES256 signature verified against ``k`` by
  ``py_vapid`` (``cryptography`` underneath), ``aud`` the origin of the endpoint, ``exp`` in the future and at most
  24 hours away, ``sub`` a ``mailto:`` or ``https:`` contact; ``k`` must be the key the subscription was made with
  (403 otherwise, as push services bind a subscription to its application server key); a missing or bad token: 401;
- the body is decrypted (RFC 8291) with ``http_ece`` by the subscription's private key; a body it cannot decrypt is
  refused (400), which a real service would pass on and the browser would drop.

Answers: **201 Created** with ``Location`` of the message; **404** for an unknown endpoint, **410 Gone** for a
subscription the browser dropped (``DELETE /_sandbox/subscriptions/<id>``); faults (429 with ``Retry-After``, 5xx)
injected as in every sandbox. ``GET /`` lists each subscription's decrypted messages with their URLs clickable;
``GET /_sandbox/messages`` (``?subscription=<id>``) as JSON.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, Response, request
from py_vapid import Vapid02

from sandbox.common import (
    ControlError,
    Fault,
    SandboxState,
    control_body,
    install_control,
    install_faults,
    json_response,
)
from sandbox.webpush_pages import index_page

DEFAULT_RATE_LIMITS = {"pushes": (1000, 60)}
MAX_BODY = 4096
MAX_EXP = 86400


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Config:
    rate_limits: dict[str, int] = field(default_factory=lambda: {k: v[0] for k, v in DEFAULT_RATE_LIMITS.items()})
    latency_ms: int = 0
    seed: int = 0


@dataclass
class Subscription:
    id: str
    name: str
    private_pem: bytes  # the browser's ECDH key (kept as PEM: the state is saved across demo restarts)
    p256dh: str
    auth: str
    server_key: str | None  # the applicationServerKey it was made with (None: any VAPID key)
    created_at: float
    deleted: bool = False


@dataclass
class Message:
    id: int
    subscription_id: str
    received_at: float
    ttl: int
    urgency: str
    topic: str
    vapid_sub: str
    text: str
    data: dict[str, Any] | None


class PushError(Exception):
    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, dict(headers or {})


class PushState(SandboxState):
    config_class = Config
    rate_defaults = DEFAULT_RATE_LIMITS

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.subscriptions: dict[str, Subscription] = {}
            self.messages: list[Message] = []

    def subscribe(self, name: str, server_key: str | None) -> Subscription:
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        sub = Subscription(secrets.token_urlsafe(24), name, pem, b64url(public), b64url(secrets.token_bytes(16)),
                           server_key, time.time())
        with self.lock:
            self.subscriptions[sub.id] = sub
        return sub

    def receive(self, sub_id: str, origin: str) -> Message:
        with self.lock:
            sub = self.subscriptions.get(sub_id)
        if sub is None:
            raise PushError(404, "No such subscription")
        if sub.deleted:
            raise PushError(410, "The subscription has expired or was unsubscribed")
        ttl = request.headers.get("TTL", "")
        if not ttl.isdigit():
            raise PushError(400, "The TTL header is required (seconds, RFC 8030 §5.2)")
        claims = check_vapid(request.headers.get("Authorization", ""), origin, sub.server_key)
        body = request.get_data()
        if len(body) > MAX_BODY:
            raise PushError(413, f"The push message is over {MAX_BODY} bytes")
        text = ""
        if body:
            if request.headers.get("Content-Encoding", "").lower() != "aes128gcm":
                raise PushError(400, "Content-Encoding must be aes128gcm (RFC 8188, RFC 8291)")
            key = serialization.load_pem_private_key(sub.private_pem, password=None)
            try:
                text = http_ece.decrypt(body, private_key=key, auth_secret=unb64url(sub.auth),
                                        version="aes128gcm").decode()
            except Exception as exc:  # noqa: BLE001 - any failure: the browser could not read it
                raise PushError(400, f"The message cannot be decrypted with this subscription's keys "
                                     f"({type(exc).__name__})") from None
        try:
            data = json.loads(text) if text else None
        except ValueError:
            data = None
        with self.lock:
            message = Message(len(self.messages) + 1, sub_id, time.time(), int(ttl),
                              request.headers.get("Urgency", "normal"), request.headers.get("Topic", ""),
                              str(claims.get("sub", "")), text, data if isinstance(data, dict) else None)
            self.messages.append(message)
            return message

    def view(self, m: Message) -> dict[str, Any]:
        return dataclasses.asdict(m) | {"subscription": self.subscriptions[m.subscription_id].name}

    def post_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.view(m) for m in self.messages]


def check_vapid(header: str, origin: str, server_key: str | None) -> dict[str, Any]:
    """The JWT's claims once its signature, audience, expiry and contact hold; ``PushError`` 401/403 otherwise."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise PushError(401, "Authorization: vapid t=<JWT>, k=<public key> is required (RFC 8292)")
    parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
    token, key = parts.get("t", ""), parts.get("k", "")
    if token.count(".") != 2 or not key:
        raise PushError(401, "The vapid authorization needs t (a JWT) and k (the public key)")
    signed, _, signature = token.rpartition(".")
    try:
        valid = Vapid02.from_raw_public(key.encode()).verify_token(signed.encode(), signature)
        header_part, payload = (json.loads(unb64url(p)) for p in signed.split("."))
    except Exception:  # noqa: BLE001 - a malformed key or token is a bad token
        valid, header_part, payload = False, {}, {}
    if not valid or header_part.get("alg") != "ES256" or not isinstance(payload, dict):
        raise PushError(401, "The VAPID token's signature does not verify with k (ES256)")
    if server_key is not None and unb64url(key) != unb64url(server_key):
        raise PushError(403, "k is not the application server key this subscription was made with")
    if payload.get("aud") != origin:
        raise PushError(401, f"aud must be the push service's origin {origin}, got {payload.get('aud')!r}")
    exp, now = payload.get("exp"), time.time()
    if not isinstance(exp, int) or exp <= now or exp > now + MAX_EXP:
        raise PushError(401, "exp must be in the future and at most 24 hours away")
    sub = payload.get("sub")
    if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
        raise PushError(401, "sub must be a mailto: or https: contact")
    return payload


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    state = PushState(config)
    app.extensions["webpush_sandbox"] = state

    def fault_response(fault: Fault) -> Response:
        headers = dict(fault.headers)
        if fault.status == 429:
            headers.setdefault("Retry-After", "1")
        return json_response({"code": fault.status, "error": "injected fault"}, fault.status or 500, headers)

    install_faults(app, state, is_api=lambda p: p.startswith("/push/"), fault_response=fault_response)
    install_control(app, state)

    def origin() -> str:
        return request.host_url.rstrip("/")

    @app.errorhandler(PushError)
    def refused(exc: PushError) -> Response:
        return json_response({"code": exc.status, "errno": 109 if exc.status >= 401 else 100, "error": exc.reason,
                              "message": exc.reason}, exc.status, exc.headers)

    @app.post("/push/<sub_id>")
    def push(sub_id: str) -> Response:
        allowed, window = state.take(sub_id, "pushes")
        if not allowed:
            raise PushError(429, "Too many messages", {"Retry-After": str(max(1, window["reset"] - int(time.time())))})
        message = state.receive(sub_id, origin())
        return Response(status=201, headers={"Location": f"{origin()}/messages/{message.id}", "TTL": str(message.ttl)})

    install_control_routes(app, state, origin)
    return app


def install_control_routes(app: Flask, state: PushState, origin: Any) -> None:
    """Subscribing a browser, dropping it, the messages received (JSON and the page)."""

    @app.post("/_sandbox/subscriptions")
    def subscribe() -> Response:
        data = control_body()
        name, key = data.get("name", "Browser"), data.get("application_server_key")
        if not isinstance(name, str) or not 0 < len(name) <= 100:
            raise ControlError("name: whose browser, 1 to 100 characters")
        if key is not None:
            try:
                if not isinstance(key, str) or len(unb64url(key)) != 65:
                    raise ValueError
            except ValueError:
                raise ControlError("application_server_key: the VAPID public key, 65 bytes base64url") from None
        sub = state.subscribe(name, key)
        return json_response({"id": sub.id, "subscription": {
            "endpoint": f"{origin()}/push/{sub.id}", "expirationTime": None,
            "keys": {"p256dh": sub.p256dh, "auth": sub.auth}}}, 201)

    @app.get("/_sandbox/subscriptions")
    def list_subscriptions() -> Response:
        with state.lock:
            return json_response({"subscriptions": [
                {"id": s.id, "name": s.name, "endpoint": f"{origin()}/push/{s.id}", "deleted": s.deleted}
                for s in state.subscriptions.values()]})

    @app.delete("/_sandbox/subscriptions/<sub_id>")
    def unsubscribe(sub_id: str) -> Response:
        with state.lock:
            sub = state.subscriptions.get(sub_id)
            if sub is None:
                raise ControlError("no such subscription")
            sub.deleted = True
        return json_response({"deleted": sub_id})

    @app.get("/_sandbox/messages")
    def list_messages() -> Response:
        wanted = request.args.get("subscription")
        with state.lock:
            return json_response({"messages": [state.view(m) for m in state.messages
                                               if wanted is None or m.subscription_id == wanted]})

    @app.get("/")
    def index() -> Response:
        with state.lock:
            subs = list(state.subscriptions.values())
            messages = list(state.messages)
        return index_page(subs, messages)
