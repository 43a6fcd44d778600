"""Phone or browser notifications: Web Push (RFC 8030) with VAPID (RFC 8292) and encrypted payloads (RFC 8291).

A person turns notifications on in each browser or phone they use (the preferences page's "Enable notifications":
``PushManager.subscribe()`` with this server's VAPID public key; the subscription is kept encrypted,
``destinations.PushSubscription``). Each message is JSON ``{"title", "body", "url"}``: for a new talking point the
url is the one-tap share link (``oneclick.share_link(..., channel="push")``), which the service worker opens when
the notification is tapped. Messages go out for new talking points (``announce``), for a share that failed for good
and for notices that need action (a token about to expire, a revoked account: ``events.notification_recorded``).

Encryption and signing are ``pywebpush`` (``http_ece``, ``py_vapid``); the VAPID key is
``NOTIFY_PUSH_VAPID_PRIVATE_KEY`` or a key generated once into the instance folder. Per device: 201 is delivered;
404/410 means the browser dropped the subscription: it is deleted (``Unreachable`` when none is left); 429/5xx raise
``RetryLater`` with the longest ``Retry-After``. A device that got a message is marked in Redis for a week, so a
retry for another device does not notify it twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import delete

from advocacy import outbound
from advocacy.config import instance_secret
from advocacy.extensions import db, redis_client
from advocacy.notifications import channels, oneclick
from advocacy.notifications.destinations import PushSubscription, subscriptions

if TYPE_CHECKING:
    import requests
    from py_vapid import Vapid02

log = logging.getLogger(__name__)
KEY_FILE = "vapid_private_key.pem"
PUBLIC_KEY_FILE = "vapid_public_key.json"  # the public key worked out from it (see public_key)
TTL = 4 * 86400  # a phone that is off for a long weekend still gets it
VAPID_LIFETIME = 12 * 3600
SENT_MARK_SECONDS = 7 * 86400
DEFAULT_RETRY_SECONDS = 60.0


class PushRefused(RuntimeError):
    """The push service refused the message for a reason a retry cannot fix (400, 401, 403, 413)."""


# ------------------------------------------------------------------------------------------------- VAPID key
def _pem() -> bytes:
    """The VAPID private key's PEM: the setting's, else the instance folder's (generated once, readable by this user
    only)."""
    pem = current_app.config.get("NOTIFY_PUSH_VAPID_PRIVATE_KEY") or ""
    if pem:
        return pem.encode()
    return instance_secret(Path(current_app.instance_path) / KEY_FILE, _new_private_pem).encode()


def _new_private_pem() -> str:
    from py_vapid import Vapid02

    key = Vapid02()
    key.generate_keys()
    return key.private_pem().decode()


def vapid() -> Vapid02:
    """The server's VAPID key (``_pem``), loaded once per process."""
    cached = current_app.extensions.get("advocacy.vapid")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from py_vapid import Vapid02  # with cryptography (~8 MiB): loaded by a web worker only to sign, never at start

    key = Vapid02.from_pem(_pem())
    current_app.extensions["advocacy.vapid"] = key
    return key


def public_key() -> str:
    """The VAPID public key as the browser's ``applicationServerKey`` wants it (base64url, uncompressed point).

    Worked out from the private key once and kept in the instance folder (``PUBLIC_KEY_FILE``) beside the SHA-256 of
    the PEM it came from, so a web worker showing the preferences page does not load the key into OpenSSL (~1.3-1.8
    MiB it would keep); a changed key (another setting, a new file) has another digest and is worked out again.
    """
    cached = current_app.extensions.get("advocacy.vapid_public")
    if cached is not None:
        return cached
    digest = hashlib.sha256(_pem()).hexdigest()
    path = Path(current_app.instance_path) / PUBLIC_KEY_FILE
    try:
        kept = json.loads(path.read_text())
        value = kept["public_key"] if kept["pem_sha256"] == digest else None
    except (OSError, ValueError, KeyError, TypeError):
        value = None
    if not isinstance(value, str):
        from cryptography.hazmat.primitives import serialization

        raw = vapid().public_key.public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
        value = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        temporary = path.with_name(f"{path.name}.{os.getpid()}")
        try:
            temporary.write_text(json.dumps({"pem_sha256": digest, "public_key": value}))
            os.replace(temporary, path)
        except OSError:  # a read-only instance folder: worked out again by the next process
            log.warning("event=vapid_public_key_not_kept path=%s", path)
    current_app.extensions["advocacy.vapid_public"] = value
    return value


def _contact() -> str:
    public = current_app.config["PUBLIC_URL"]
    return public if public.startswith("https:") else f"mailto:{current_app.config['NOTIFY_MAIL_FROM']}"


# ----------------------------------------------------------------------------------------------------- sending
def _session() -> requests.Session:
    return outbound.session(float(current_app.config["HTTP_TIMEOUT"]), max_redirects=0)


def _mark(sub_id: int, key: str) -> str:
    return f"advocacy:push:sent:{sub_id}:{key}"


def _sent_before(sub_id: int, key: str) -> bool:
    try:
        return bool(redis_client().exists(_mark(sub_id, key)))
    except RedisError:
        return False


def _remember(sub_id: int, key: str) -> None:
    try:
        redis_client().set(_mark(sub_id, key), 1, ex=SENT_MARK_SECONDS)
    except RedisError:
        log.warning("event=push_mark_lost subscription_id=%s", sub_id)


def _send_one(sub: PushSubscription, data: bytes) -> requests.Response:
    info = sub.info()
    endpoint = urlsplit(info["endpoint"])
    claims: dict[str, str | int] = {"aud": f"{endpoint.scheme}://{endpoint.netloc}", "sub": _contact(),
                                    "exp": int(time.time()) + VAPID_LIFETIME}
    headers = vapid().sign(claims)
    timeout = float(current_app.config["HTTP_TIMEOUT"])
    import requests
    from pywebpush import WebPusher  # with aiohttp: ~9 MiB a web worker needs only when it sends a push

    answer = WebPusher(info, requests_session=_session()).send(data, headers, ttl=TTL, timeout=timeout)
    assert isinstance(answer, requests.Response)
    return answer


def send(user_id: int, message: dict[str, str], key: str) -> int:
    """Send ``message`` (title, body, url) to every device of the person; returns how many got it (now or before).

    Args:
        user_id: whom to notify.
        message: the payload the service worker shows.
        key: what makes it the same message (a retry skips the devices that had it).

    Raises ``RetryLater`` when a device's push service answered 429/5xx (the others are marked done),
    ``Unreachable`` when the person has no device left, ``PushRefused`` on another refusal.
    """
    devices = subscriptions(user_id)
    if not devices:
        raise channels.Unreachable("no browser or phone has notifications turned on")
    import requests

    data = json.dumps(message, ensure_ascii=False).encode()
    delivered, retry, refused = 0, 0.0, ""
    for sub in devices:
        if _sent_before(sub.id, key):
            delivered += 1
            continue
        try:
            answer = _send_one(sub, data)
        except requests.RequestException as exc:
            retry = max(retry, DEFAULT_RETRY_SECONDS)
            log.warning("event=push_unreachable subscription_id=%s error=%s", sub.id, type(exc).__name__)
            continue
        status = answer.status_code
        if status in (200, 201, 202):
            _remember(sub.id, key)
            delivered += 1
        elif status in (404, 410):
            db.session.execute(delete(PushSubscription).where(PushSubscription.id == sub.id))
            db.session.commit()
            log.info("event=push_subscription_gone user_id=%s subscription_id=%s status=%s", user_id, sub.id, status)
        elif status == 429 or status >= 500:
            wait = answer.headers.get("Retry-After", "")
            retry = max(retry, float(wait) if wait.isdigit() else DEFAULT_RETRY_SECONDS)
        else:
            refused = f"the push service refused the message (HTTP {status}): {answer.text[:200]}"
    if retry:
        raise channels.RetryLater(retry, "a push service asked us to wait")
    if refused and not delivered:
        raise PushRefused(refused)
    if not delivered:
        raise channels.Unreachable("every browser and phone dropped its subscription")
    log.info("event=push_sent user_id=%s devices=%s key=%s", user_id, delivered, key)
    return delivered


def _first_network(user_id: int) -> str | None:
    from advocacy.notifications.teams import connected_networks

    networks = connected_networks(user_id)
    return networks[0] if networks else None


def announcement(user: Any, talking_points: list[Any]) -> dict[str, str]:
    """The message announcing ``talking_points`` to ``user``: one talking point opens its one-tap share page."""
    feed = f"{current_app.config['PUBLIC_URL'].rstrip('/')}/feed"
    if len(talking_points) == 1:
        tp = talking_points[0]
        network = _first_network(user.id)
        url = oneclick.share_link(user, tp, network, "push") if network else feed
        return {"title": f"New to share: {tp.title}"[:120], "body": "Tap to share it in one step." if network else
                "Connect an account to share it.", "url": url, "tag": f"tp-{tp.id}"}
    titles = "; ".join(tp.title for tp in talking_points[:5])
    return {"title": f"{len(talking_points)} new talking points to share", "body": titles[:300], "url": feed,
            "tag": "talking-points"}


class PushChannel:
    name = "push"
    label = "Phone or browser notification"

    def available_for(self, user: Any) -> bool:
        return bool(subscriptions(user.id))

    def announce(self, user: Any, talking_points: list[Any]) -> channels.Delivered:
        key = "tp:" + ",".join(str(tp.id) for tp in talking_points)
        count = send(user.id, announcement(user, talking_points), key)
        return channels.Delivered(f"push:{count}")


channels.register(PushChannel())
