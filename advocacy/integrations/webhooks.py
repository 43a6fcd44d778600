"""Events out: webhook endpoints admins register, told of what happens, signed per Standard Webhooks.

Admins register an endpoint (its URL and the events it wants, from ``EVENTS``); it gets a ``whsec_`` secret, kept
encrypted with the token keys. When one of those events happens (``advocacy.events``), a delivery row is written for
each enabled endpoint that subscribes (the outbox, committed right after the change it tells of; nothing at all is
written, and no query is made, while no endpoint subscribes: the subscription set is cached), and a job is queued
to send it. Sending never happens inside the change's own request or job.

Each attempt POSTs the JSON body with the ``webhook-id`` (the same on every attempt and replay), ``webhook-timestamp``
and ``webhook-signature`` headers made by the ``standardwebhooks`` reference library, under the outbound guard (the
SSRF rules), without following redirects. A 2xx answer delivers it; anything else (a timeout, a refused address, a
3xx, 4xx or 5xx) is recorded with its status and the start of its body, and the delivery is tried again after a
delay that doubles from ``WEBHOOKS_RETRY_SECONDS``, until ``WEBHOOKS_MAX_ATTEMPTS`` attempts have failed: then it is
marked failed. A periodic job (``workers.webhooks``) sends what is due, so a lost job or a restart loses nothing. An
admin may replay any delivery; a disabled endpoint is sent nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from advocacy import events, outbound
from advocacy.accounts import crypto
from advocacy.audit.services import record
from advocacy.content.checks import check_link
from advocacy.errors import DomainError, NotAllowed, NotFound
from advocacy.extensions import db
from advocacy.integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from advocacy.models_base import utcnow
from advocacy.people.models import Role, User

log = logging.getLogger(__name__)

EVENTS = {
    "talking_point.approved": "a talking point was approved (four eyes)",
    "talking_point.withdrawn": "a talking point was withdrawn",
    "share.published": "a share was posted on its network",
    "share.failed": "a share could not be posted",
    "result.recorded": "an employee recorded a result (a lead, a hire, a press contact)",
    "person.deactivated": "an admin or the identity provider deactivated a person",
}
DELIVER_JOB = "workers.webhooks.deliver_webhook"
BODY_EXCERPT = 500


# --------------------------------------------------------------------------------------------------- endpoints
def _admin(user: User) -> None:
    if not user.has_role(Role.ADMIN):
        raise NotAllowed("only admins manage webhook endpoints")


def _check_url(value: Any) -> str:
    if not isinstance(value, str):
        raise DomainError("must be an http:// or https:// address", "url")
    try:
        url = check_link(value)
    except DomainError as exc:
        raise DomainError(exc.message, "url") from None
    from connectors.netguard import Refused

    parts = urlsplit(url)
    try:  # the guard runs again on every attempt (an address may change); this refuses the obvious at once
        outbound.guard().address(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
    except Refused as exc:
        log.info("event=webhook_url_refused reason=%r", exc.reason)
        raise DomainError(outbound.UNREACHABLE, "url") from None
    return url


def _check_events(value: Any) -> str:
    names = value.split() if isinstance(value, str) else value
    if not isinstance(names, list | tuple) or not names or not all(isinstance(n, str) for n in names):
        raise DomainError(f"choose at least one of {', '.join(EVENTS)}", "events")
    unknown = [n for n in names if n not in EVENTS]
    if unknown:
        raise DomainError(f"{unknown[0]!r} is not an event; choose from {', '.join(EVENTS)}", "events")
    return " ".join(n for n in EVENTS if n in names)


def _clean(values: dict[str, Any], creating: bool) -> dict[str, Any]:
    unknown = set(values) - {"url", "events", "description", "enabled"}
    if unknown:
        raise DomainError("unknown field", sorted(unknown)[0])
    out: dict[str, Any] = {}
    if creating or "url" in values:
        out["url"] = _check_url(values.get("url"))
    if creating or "events" in values:
        out["events"] = _check_events(values.get("events"))
    if "description" in values:
        raw = values["description"] or ""
        if not isinstance(raw, str) or len(raw.strip()) > 200:
            raise DomainError("must be text of at most 200 characters", "description")
        out["description"] = raw.strip()
    if "enabled" in values:
        raw = values["enabled"]
        out["enabled"] = raw if isinstance(raw, bool) else str(raw).strip().lower() in {"1", "true", "on", "yes"}
    return out


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def create_endpoint(user: User, **values: Any) -> WebhookEndpoint:
    """Register an endpoint; raises ``DomainError`` naming the field (an address the guard refuses: ``url``).

    Args:
        user: an admin.
        values: ``url``, ``events`` (names from ``EVENTS``, a list or space-separated), ``description``, ``enabled``.
    """
    _admin(user)
    endpoint = WebhookEndpoint(**_clean(values, True), created_by_id=user.id,
                               secret_encrypted=crypto.encrypt(new_secret()))
    db.session.add(endpoint)
    db.session.flush()
    record(user, "create", "webhook_endpoint", endpoint.id, url=endpoint.url, events=endpoint.events)
    db.session.commit()
    forget_subscriptions()
    return endpoint


def update_endpoint(endpoint: WebhookEndpoint, user: User, **values: Any) -> WebhookEndpoint:
    """Change an endpoint's address, events or description, or turn it on or off."""
    _admin(user)
    cleaned = _clean(values, False)
    for name, value in cleaned.items():
        setattr(endpoint, name, value)
    record(user, "edit", "webhook_endpoint", endpoint.id, **{k: str(v) for k, v in cleaned.items()})
    db.session.commit()
    forget_subscriptions()
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint, user: User) -> str:
    """A new secret for the endpoint (the old one stops verifying at once); returns it."""
    _admin(user)
    secret = new_secret()
    endpoint.secret_encrypted = crypto.encrypt(secret) or ""
    record(user, "edit", "webhook_endpoint", endpoint.id, secret="rotated")
    db.session.commit()
    return secret


def delete_endpoint(endpoint: WebhookEndpoint, user: User) -> None:
    _admin(user)
    record(user, "edit", "webhook_endpoint", endpoint.id, url=endpoint.url, deleted=True)
    db.session.delete(endpoint)
    db.session.commit()
    forget_subscriptions()


def secret_of(endpoint: WebhookEndpoint) -> str:
    return crypto.decrypt(endpoint.secret_encrypted) or ""


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("no such webhook endpoint")
    return endpoint


def endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def deliveries(endpoint_id: int | None = None, limit: int = 50) -> list[WebhookDelivery]:
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    return list(db.session.scalars(query))


def get_delivery(delivery_id: int) -> WebhookDelivery:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound("no such webhook delivery")
    return delivery


# ------------------------------------------------------------------------------------------- the subscription set
CACHE = "advocacy.webhook_subscriptions"


def _cache() -> dict[str, Any]:
    return current_app.extensions.setdefault(CACHE, {"at": 0.0, "by_event": None})


def forget_subscriptions() -> None:
    """Drop this process's cached subscription set (an endpoint changed here; other processes see it within
    ``WEBHOOKS_CACHE_SECONDS``)."""
    _cache()["by_event"] = None


def subscribers(event: str) -> list[int]:
    """Ids of the enabled endpoints subscribed to ``event``: from a cache kept ``WEBHOOKS_CACHE_SECONDS``, so an
    event nobody subscribes to costs no query on the publishing path."""
    now, cache = time.monotonic(), _cache()
    by_event = cache["by_event"]
    if by_event is None or now - cache["at"] > float(current_app.config["WEBHOOKS_CACHE_SECONDS"]):
        by_event = {}
        for endpoint_id, names in db.session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.enabled.is_(True))):
            for name in names.split():
                by_event.setdefault(name, []).append(endpoint_id)
        cache["by_event"], cache["at"] = by_event, now
    return list(by_event.get(event, ()))


# ------------------------------------------------------------------------------------------------------ the outbox
def emit(event: str, data: dict[str, Any]) -> int:
    """Write a delivery of ``event`` for each endpoint subscribed to it, commit, and queue the sending. Returns how
    many were written (none, and no query, when nobody subscribes).

    Args:
        event: a name from ``EVENTS``.
        data: what happened (ids, names, links: never a token).
    """
    targets = subscribers(event)
    if not targets:
        return 0
    now = utcnow()
    rows = []
    for endpoint_id in targets:
        message_id = f"msg_{uuid.uuid4().hex}"
        body = json.dumps({"type": event, "timestamp": now.isoformat().replace("+00:00", "Z"), "data": data},
                          separators=(",", ":"), default=str)
        rows.append(WebhookDelivery(endpoint_id=endpoint_id, message_id=message_id, event=event, payload=body,
                                    next_attempt_at=now))
    db.session.add_all(rows)
    db.session.commit()
    for row in rows:
        _enqueue(row.id)
    log.info("event=webhook_emitted type=%s deliveries=%s", event, len(rows))
    return len(rows)


def _enqueue(delivery_id: int) -> None:
    """Queue the sending (Redis down: the periodic job sends it when it is due)."""
    from redis.exceptions import RedisError

    from advocacy.extensions import redis_client
    from workers import queues

    try:
        queues.queue(queues.DEFAULT, redis_client()).enqueue(DELIVER_JOB, delivery_id, job_timeout=120,
                                                             result_ttl=600, failure_ttl=7 * 86400)
    except RedisError as exc:
        log.warning("event=webhook_not_queued delivery_id=%s error=%s", delivery_id, type(exc).__name__)


def replay(delivery: WebhookDelivery, user: User) -> WebhookDelivery:
    """Send a delivery again (same ``webhook-id``, a fresh timestamp and signature), whatever became of it."""
    _admin(user)
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, utcnow()
    delivery.delivered_at = None
    record(user, "edit", "webhook_delivery", delivery.id, replay=True)
    db.session.commit()
    _enqueue(delivery.id)
    return delivery


# ---------------------------------------------------------------------------------------------------- sending
def _claim(delivery_id: int, now: dt.datetime) -> bool:
    """Take a due delivery for one attempt (its next attempt moved past the attempt's lease)."""
    lease = now + dt.timedelta(seconds=float(current_app.config["WEBHOOKS_TIMEOUT"]) * 2 + 60)
    result = db.session.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                      WebhookDelivery.status == DeliveryStatus.PENDING,
                                      WebhookDelivery.next_attempt_at <= now)
        .values(next_attempt_at=lease).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1  # type: ignore[attr-defined]


def headers_for(delivery: WebhookDelivery, secret: str, when: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed by the reference library."""
    return {"webhook-id": delivery.message_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(delivery.message_id, when, delivery.payload),
            "Content-Type": "application/json"}


def deliver(delivery_id: int, now: dt.datetime | None = None) -> bool | None:
    """Attempt one due delivery; returns True when delivered, False when it failed this time, None when it was not
    due, not pending, or its endpoint is disabled (nothing is sent).

    Args:
        delivery_id: the delivery.
        now: the time (tests).
    """
    import requests

    now = now or utcnow()
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or not delivery.endpoint.enabled or not _claim(delivery_id, now):
        return None
    db.session.refresh(delivery)
    endpoint = delivery.endpoint
    timeout = float(current_app.config["WEBHOOKS_TIMEOUT"])
    status, body, error = None, None, None
    session = outbound.session(timeout, max_redirects=0)
    try:
        with session, session.post(endpoint.url, data=delivery.payload.encode(), allow_redirects=False,
                                   headers=headers_for(delivery, secret_of(endpoint), now), stream=True) as answer:
            status = answer.status_code
            body = answer.raw.read(BODY_EXCERPT, decode_content=True).decode("utf-8", "replace")
    except requests.Timeout:
        error = f"no answer within {timeout:g} s"
    except requests.RequestException as exc:
        error = outbound.UNREACHABLE
        log.info("event=webhook_unreachable delivery_id=%s detail=%r", delivery_id, f"{type(exc).__name__}: {exc}")
    ok = status is not None and 200 <= status < 300
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.last_status, delivery.last_body = now, status, body
    delivery.last_error = error or (None if ok else f"the endpoint answered HTTP {status}")
    if ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.DELIVERED, now, None
    elif delivery.attempts >= int(current_app.config["WEBHOOKS_MAX_ATTEMPTS"]):
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        delay = float(current_app.config["WEBHOOKS_RETRY_SECONDS"]) * 2 ** (delivery.attempts - 1)
        delivery.next_attempt_at = now + dt.timedelta(seconds=delay)
    db.session.commit()
    log.info("event=webhook_attempt delivery_id=%s endpoint_id=%s type=%s attempt=%s status=%s outcome=%s",
             delivery_id, endpoint.id, delivery.event, delivery.attempts, status, delivery.status)
    return ok


def deliver_due(now: dt.datetime | None = None, limit: int = 200) -> int:
    """Attempt every pending delivery that is due, to enabled endpoints (the periodic job's work); returns how many
    were delivered."""
    now = now or utcnow()
    ids = list(db.session.scalars(
        select(WebhookDelivery.id).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
               WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)))
    return sum(bool(deliver(i, now)) for i in ids)


# ------------------------------------------------------------------------------------------- what happened
def _on_approved(tp: Any, **_: Any) -> int:
    if not subscribers("talking_point.approved"):
        return 0
    emit("talking_point.approved", {"talking_point_id": tp.id, "title": tp.title, "link": tp.link,
                                    "version": tp.version, "approved_by_id": tp.approved_by_id})
    return 0


def _on_withdrawn(tp: Any, reason: str = "", **_: Any) -> int:
    if not subscribers("talking_point.withdrawn"):
        return 0
    emit("talking_point.withdrawn", {"talking_point_id": tp.id, "title": tp.title, "reason": reason})
    return 0  # the sum withdraw reports counts cancelled shares only


def _share_data(share_id: int) -> dict[str, Any]:
    from advocacy.delivery.models import Share

    # the transition was a Core UPDATE: the session may hold the share as it was before it
    share = db.session.get(Share, share_id, populate_existing=True)
    if share is None:
        return {"share_id": share_id}
    return {"share_id": share.id, "talking_point_id": share.talking_point_id, "user_id": share.user_id,
            "network": share.network, "status": share.status, "post_url": share.post_url,
            "error": share.last_error if share.status == "failed" else None}


def _on_share(event: str) -> Any:
    def receive(share_id: Any, **_: Any) -> int:
        if not subscribers(event):  # the hot path: no endpoint wants it, no query
            return 0
        emit(event, _share_data(int(share_id)))
        return 0

    return receive


def _on_result(result: Any, **_: Any) -> int:
    if not subscribers("result.recorded"):
        return 0
    emit("result.recorded", {"result_id": result.id, "share_id": result.share_id, "user_id": result.user_id,
                             "kind": result.kind, "occurred_on": result.occurred_on, "note": result.note})
    return 0


def _on_deactivated(user: Any, **_: Any) -> int:
    if not subscribers("person.deactivated"):
        return 0
    emit("person.deactivated", {"user_id": user.id, "email": user.email})
    return 0


_receivers = {"published": _on_share("share.published"), "failed": _on_share("share.failed")}


def subscribe() -> None:
    """Connect the outbox to the domain events (once per process; connecting again changes nothing)."""
    events.talking_point_approved.connect(_on_approved, weak=False)
    events.talking_point_withdrawn.connect(_on_withdrawn, weak=False)
    events.share_published.connect(_receivers["published"], weak=False)
    events.share_failed.connect(_receivers["failed"], weak=False)
    events.result_recorded.connect(_on_result, weak=False)
    events.person_deactivated.connect(_on_deactivated, weak=False)
