"""Publishing shares: claim them, respect the budgets, make sure each is not already out, post, record the outcome.

A publish job takes a block of share ids (``publish_block``): one committed claim of the block's shares due by the job's
time, one query for their sharing rule and one for their accounts, each account's token decrypted once; then each share
in turn, its outcome committed on its own (one conditional UPDATE, as for a lone share) before the next one starts. The
rule's answer is asked again for the shares still to go once it is older than ``RECHECK_SECONDS`` (a slow network), so a
withdrawal, an opt-out or a retargeting while a block posts stops the rest of it. A job that runs past its time budget
(``BUDGET_SHARE`` of its timeout: a slow network), or whose worker was asked to stop, gives the shares it has not
attempted back to the queue, so none waits past its lease; a worker killed mid-block leaves the rest "publishing" until
the lease, and the sweeper puts them back in doubt, as it does a lone share.

Exactly once: a share whose last attempt may have reached the network (a timeout, a 5xx, a worker that died while
publishing) is ``in_doubt``. Before posting it again the network is asked: by the idempotency key where the connector
takes one (Mastodon answers a repeat with the post it already made), otherwise by looking for the post, which holds
the share's unique tracked link. A network that refuses a repeat as a duplicate (X 403, LinkedIn 422) is looked at
the same way. Only transient and rate-limited errors are retried; an expired token is refreshed and the post tried
once more; a revoked account pauses the share and tells its owner, once. An X share records its price, and waits for
next month when it would pass the monthly X spend cap (``costs.hold_over_cap``).
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import time
from contextvars import ContextVar
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import select

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.networks import connector_for
from advocacy.content.images import shared_image, shared_media
from advocacy.content.link_previews import shared_link_title
from advocacy.delivery import budgets, costs, rules, services, tokens
from advocacy.delivery.models import Share
from advocacy.extensions import db, redis_client
from advocacy.models_base import utcnow
from connectors.base import (
    AuthExpired,
    AuthRevoked,
    ConfigurationError,
    ConnectorError,
    Duplicate,
    FindsPosts,
    Media,
    PublishedPost,
    RateLimited,
    Rejected,
)
from workers import queues

log = logging.getLogger(__name__)
LOOK_BACK = dt.timedelta(days=2)  # how far back a share's post is looked for on the network
RECHECK_SECONDS = 1.0  # a block's sharing-rule answer older than this is asked again for the shares still to go
BUDGET_SHARE = 1 / 3  # of a publish job's timeout: past it, a block's shares not yet attempted go back to the queue
# a block's decrypted access tokens, by (account id, encrypted token): a refresh stores a new one, which misses
_TOKENS: ContextVar[dict[tuple[int, str | None], str] | None] = ContextVar("publish_tokens", default=None)


def tracked_url(share: Share) -> str:
    return f"{current_app.config['PUBLIC_URL']}/r/{share.code}"


def idempotency_key(share: Share) -> str:
    """The same for every attempt of one share, different for every share."""
    return f"advocacy-share-{share.id}-{share.code}"


@cache
def _takes_idempotency_key(cls: type) -> bool:
    try:
        return "idempotency_key" in inspect.signature(cls.publish).parameters  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        return False


def publish(share_id: int) -> str:
    """Publish share ``share_id`` once. Returns the state it ended in, for the job's result.

    A share that is not due, or not queued (claimed by another worker, published, cancelled), is left alone.

    Args:
        share_id: primary key of the share.
    """
    claimed = services.claim_for_publishing(share_id)  # committed: no other worker can take it now
    if claimed is None:
        status = db.session.scalar(select(Share.status).where(Share.id == share_id)) or "missing"
        log.info("event=skip share_id=%s status=%s", share_id, status)
        return str(status)
    share, image = claimed
    return _publish_claimed(share, image, None)


def publish_block(block: int, key: str | None = None) -> dict[str, int]:
    """Publish once every share of block ``block`` due by ``key``'s time (``services.claim_block``). Returns how many
    ended in each state (``released``: given back to the queue unattempted, the job's time budget spent).

    Args:
        block: the block's number (``queues.block_of``).
        key: the job's key (``services.job_key``); None: every due share of the block.
    """
    started = time.monotonic()
    claim = services.claim_block(block, services.key_time(key))  # committed: no other worker can take these now
    if not claim.shares:
        log.info("event=skip block=%s claimed=0", block)
        return {}
    shares = [share for share, _ in claim.shares]
    accounts = _load_accounts(shares)  # held to the end: the session's identity map keeps only weak references
    ready = [(s.talking_point_id, s.user_id) for s in shares if not s.in_doubt]
    found = rules.facts_many(ready, claim.at, due=True)  # in doubt: looked on the network first (``_attempt``)
    asked = time.monotonic()
    budget = services.publish_timeout() * BUDGET_SHARE
    outcomes: dict[str, int] = {}
    attempted = 0
    tokens_of = _TOKENS.set({})
    try:
        for share, image in claim.shares:
            if attempted and (time.monotonic() - started > budget or queues.STOPPING.is_set()):
                break  # the rest go back to the queue: no share waits past its lease, a stopping worker stops soon
            if time.monotonic() - asked > RECHECK_SECONDS:  # a slow network: a withdrawal or an opt-out meanwhile
                rest = [(s.talking_point_id, s.user_id) for s, _ in claim.shares[attempted:] if not s.in_doubt]
                found, asked = rules.facts_many(rest, utcnow(), due=True), time.monotonic()
            attempted += 1
            facts = None if share.in_doubt else found.get((share.talking_point_id, share.user_id))
            state = _publish_claimed(share, image, facts)
            outcomes[state] = outcomes.get(state, 0) + 1
    except BaseException:  # the share at hand stays publishing (it may have reached the network) until its lease
        db.session.rollback()
        _give_back(block, claim, shares[attempted:])
        raise
    finally:
        _TOKENS.reset(tokens_of)
    released = _give_back(block, claim, shares[attempted:])
    if released:
        outcomes["released"] = released
    del accounts
    return outcomes


def _give_back(block: int, claim: services.Claim, rest: list[Share]) -> int:
    """The claimed shares not attempted, back to the queue (``services.release``); how many moved."""
    if not rest:
        return 0
    try:
        released = services.release(claim, [s.id for s in rest])
    except Exception:  # their lease brings them back
        log.exception("event=block_release_failed block=%s count=%s", block, len(rest))
        return 0
    log.warning("event=block_released block=%s count=%s first_share_id=%s", block, len(released),
                released[0] if released else None)
    return len(released)


def _load_accounts(shares: list[Share]) -> list[ConnectedAccount]:
    """The shares' accounts in one query: ``share.account`` then finds each in the session, with no query of its own
    (the caller holds the list: the session keeps only weak references)."""
    ids = sorted({s.account_id for s in shares if s.account_id is not None})
    return list(db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.id.in_(ids)))) if ids else []


def _publish_claimed(share: Share, image: services.ImageRef | None, found: rules.Facts | None) -> str:
    """Publish one claimed share; ``found``: its sharing rule's answer, asked for its block at the claim."""
    share_id = share.id
    stopped = None if share.in_doubt else _stopped(share, found)  # in doubt: look on the network first (``_attempt``)
    if stopped is not None:
        return stopped
    account = share.account
    if account is None or account.status != AccountStatus.ACTIVE:
        services.mark_paused(share_id, f"the account is not connected: {services.RECONNECT}")
        return "paused"
    held = costs.hold_over_cap(share)  # X's price recorded; over the monthly cap: next month, never failed
    if held is not None:
        return held
    outcome, network = "error", share.network
    try:
        # written before the budget is asked: an attempt logged after a 429 was recorded must be the one it stops
        log.info("event=attempt share_id=%s account_id=%s", share_id, account.id)
        wait = budgets.take(redis_client(), share.network, account.id)
        if wait is not None:
            services.reschedule(share_id, wait + dt.timedelta(milliseconds=50), "waiting for the posting budget to "
                                f"free (until {wait:%Y-%m-%d %H:%M:%S} UTC)", refund=True)
            log.info("event=budget_wait share_id=%s until=%s", share_id, wait.isoformat())
            outcome = "scheduled"
            return outcome
        outcome = _attempt(share, image)
        return outcome
    finally:
        if outcome != "published":  # the cap's room it took goes back (posted after all: found, and kept, later)
            costs.release(share_id, network)


def _attempt(share: Share, image: services.ImageRef | None = None) -> str:
    share_id = share.id
    account = share.account
    assert account is not None
    connector = connector_for(share.network)
    try:
        post = _reconcile(connector, share) if share.in_doubt else None
        if post is not None:
            return _published(share, post, "found on the network after an interrupted attempt")
        stopped = _stopped(share) if share.in_doubt else None  # not out yet: may it still go?
        if stopped is not None:
            return stopped
        post = _post(connector, share, image)
    except Duplicate as exc:
        if exc.existing is not None:  # the refusal names the post it holds (LinkedIn): ours, with its id and URL
            return _published(share, exc.existing, f"the network already held this post ({exc.message})")
        found = _reconcile(connector, share, quiet=True)
        if found is not None:
            return _published(share, found, "the network already held this post")
        if not isinstance(connector, FindsPosts):
            services.mark_published(share_id, None, None, f"the network says this is already posted ({exc.message})",
                                    price_micros=costs.micros(share.network))
            return "published"
        services.mark_failed(share_id, _describe(exc))
        return "failed"
    except RateLimited as exc:
        at = max(exc.reset_at or utcnow() + _backoff(share.attempts), utcnow())
        budgets.wait_until(redis_client(), share.network, None if exc.app_wide else account.id, at)
        services.reschedule(share_id, at + dt.timedelta(milliseconds=500), f"rate limited by the network: {exc}")
        log.info("event=rate_limited share_id=%s until=%s", share_id, at.isoformat())
        return "scheduled"
    except AuthRevoked as exc:
        tokens.revoke(account, str(exc))
        services.mark_paused(share_id, f"{share.network} no longer accepts this app for your account: "
                                       f"{services.RECONNECT}")
        return "paused"
    except (Rejected, ConfigurationError, AuthExpired) as exc:
        services.mark_failed(share_id, _describe(exc))
        return "failed"
    except ConnectorError as exc:  # transient: the post may or may not have been made; retry with backoff
        return _transient(connector, share, exc)
    return _published(share, post, None)


def _stopped(share: Share, found: rules.Facts | None = None) -> str | None:
    """Ask the sharing rule again now that the share came due (one query; none when its block's claim asked it for
    every share at once, ``found``); None: it may go out.

    Withdrawn, no longer aimed at the person, past its window, the person deactivated or opted out: cancelled, with
    the reason on their shares page. A new policy not yet acknowledged: held until they acknowledge it. A window
    moved later: rescheduled for its start.
    """
    now = utcnow()
    if found is None or (found.failed is None and found.available_until is not None and found.available_until <= now):
        found = rules.facts(share.talking_point_id, share.user_id, now, due=True)  # the window closed since: ask now
    failed = found.failed
    if failed is None:
        consent_hold = rules.consent_hold(share, now)  # a LinkedIn auto-share whose owner's yearly consent lapsed
        if consent_hold is not None:
            services.hold(share.id, consent_hold)
            log.info("event=share_held share_id=%s reason=linkedin_consent", share.id)
            return "paused"
        if found.available_from is not None and found.available_from > now + services.EARLY:
            services.reschedule(share.id, found.available_from, "waiting for the talking point to become available",
                                refund=True)
            return "scheduled"
        return None
    if failed.name == "acknowledged":
        services.hold(share.id, failed.reason)
        log.info("event=share_held share_id=%s reason=policy", share.id)
        return "paused"
    services.mark_cancelled(share.id, f"not posted: {failed.reason}")
    log.info("event=share_cancelled_when_due share_id=%s rule=%s", share.id, failed.name)
    return "cancelled"


def _published(share: Share, post: PublishedPost, note: str | None) -> str:
    services.mark_published(share.id, post.id, post.url, note, price_micros=costs.micros(share.network))
    log.info("event=published share_id=%s network=%s post_id=%s attempts=%s", share.id, share.network, post.id,
             share.attempts)
    return "published"


def _transient(connector: Any, share: Share, exc: ConnectorError) -> str:
    if share.attempts < current_app.config["DELIVERY_MAX_ATTEMPTS"]:
        at = max(utcnow() + _backoff(share.attempts), getattr(exc, "retry_at", None) or utcnow())  # Retry-After
        services.reschedule(share.id, at, _describe(exc), in_doubt=True)
        return "scheduled"
    try:  # the last attempt: a false "failed" would invite a duplicate, so look once more
        found = _reconcile(connector, share, quiet=True)
    except ConnectorError:
        found = None
    if found is not None:
        return _published(share, found, "found on the network after the last attempt's answer was lost")
    services.mark_failed(share.id, _describe(exc))
    return "failed"


def _token(share: Share) -> str:
    """The account's access token; in a block, decrypted once per account (and again after a refresh stored one)."""
    account = share.account
    assert account is not None
    cached = _TOKENS.get()
    if cached is None:
        return tokens.access_token(account)
    key = (account.id, account.access_token_encrypted)
    token = cached.get(key)
    if token is None:
        token = cached[key] = tokens.access_token(account)
    return token


def _with_refresh(share: Share, call: Any) -> Any:
    """``call(access_token)``; an expired token is refreshed (once, under the account's lock) and the call repeated."""
    token = _token(share)
    try:
        return call(token)
    except AuthExpired:
        assert share.account is not None
        return call(tokens.refresh_locked(share.account, token))  # AuthRevoked propagates


def _post(connector: Any, share: Share, image: services.ImageRef | None) -> PublishedPost:
    link = tracked_url(share)
    kwargs: dict[str, Any] = {}
    if _takes_idempotency_key(connector.__class__):
        kwargs["idempotency_key"] = idempotency_key(share)
    media = _media(share, image)
    if media is not None:
        kwargs["media"] = [media]
    if getattr(connector, "uses_link_title", False):  # one query, only where a card shows it (LinkedIn)
        kwargs["link_title"] = shared_link_title(share.talking_point_id, share.link)  # the approved card's title
    post: PublishedPost = _with_refresh(share, lambda token: connector.publish(token, share.text, link, **kwargs))
    return post


def _media(share: Share, image: services.ImageRef | None) -> Media | None:
    """The image the share carries, as its claim named it: no query when it has none, and the bytes read once per
    process and image (``shared_media``); the talking point's approved image looked up afresh if that row changed
    since the claim."""
    if image is None:
        return None
    found = shared_media(image.id, image.key)
    if found is not None:
        return Media(*found)
    row = shared_image(share.talking_point_id)
    return Media(row.data, row.content_type, row.alt_text, row.filename) if row is not None else None


def _reconcile(connector: Any, share: Share, quiet: bool = False) -> PublishedPost | None:
    """The share's post if the network already holds it, looked for by its tracked link where the connector can
    search (Mastodon too: its idempotency key is honoured for about an hour only, a retry may come later)."""
    if not isinstance(connector, FindsPosts):
        return None
    since = min(share.created_at, share.scheduled_at) - LOOK_BACK
    found: PublishedPost | None = _with_refresh(share, lambda token: connector.find_post(token, tracked_url(share),
                                                                                          since))
    if not quiet:
        log.info("event=reconciled share_id=%s found=%s", share.id, bool(found))
    return found


def _backoff(attempts: int) -> dt.timedelta:
    base = current_app.config["DELIVERY_RETRY_SECONDS"]
    return dt.timedelta(seconds=min(base * (2 ** max(attempts - 1, 0)), 3600))


def _describe(exc: ConnectorError) -> str:
    status = f" (HTTP {exc.status})" if exc.status else ""
    return f"{type(exc).__name__}{status}: {exc.message}"
