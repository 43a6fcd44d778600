"""Token lifecycle: refresh under a lock shared by all workers, ahead of expiry, and tell people once when an
account is revoked or is about to run out.

X rotates refresh tokens: two workers refreshing one account at once would have the second one spend a dead refresh
token and take the account for revoked. A Redis lock per account serialises refreshes, and a worker that waited
uses the token the other one stored instead of refreshing again.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app
from sqlalchemy import select

from advocacy.accounts import services as accounts
from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.extensions import db, redis_client
from advocacy.models_base import utcnow
from advocacy.notifications.services import notify_once
from connectors.base import AuthRevoked, ConnectorError

log = logging.getLogger(__name__)
LOCK_SECONDS = 60


def refresh_locked(account: ConnectedAccount, stale_access_token: str | None = None) -> str:
    """A fresh access token for ``account``: refreshed once under the account's lock.

    Args:
        account: the connected account.
        stale_access_token: the token the network just refused; if the stored one differs, another worker has
            refreshed already and its token is used as it is.

    Raises:
        AuthRevoked: the refresh token is dead (the account is marked revoked and its owner notified once).
    """
    lock = redis_client().lock(f"advocacy:lock:refresh:{account.id}", timeout=LOCK_SECONDS,
                               blocking_timeout=LOCK_SECONDS)
    with lock:
        db.session.refresh(account)
        if account.status != AccountStatus.ACTIVE:
            raise AuthRevoked(account.last_error or "the account is not connected")
        current = accounts.token_of(account)
        if stale_access_token is not None and current.access_token != stale_access_token:
            return current.access_token
        try:
            return accounts.refresh(account).access_token
        except AuthRevoked as exc:
            db.session.rollback()
            revoke(account, str(exc))
            raise


def access_token(account: ConnectedAccount) -> str:
    """The account's access token, refreshed first (under the lock) when it expires within a few minutes."""
    token = accounts.token_of(account)
    if token.expires_at and token.refresh_token and token.expires_at - utcnow() < accounts.REFRESH_MARGIN:
        return refresh_locked(account, token.access_token)
    return token.access_token


def revoke(account: ConnectedAccount, message: str) -> None:
    """Mark the account revoked and tell its owner, once per connection (not once per share)."""
    if account.status == AccountStatus.ACTIVE:
        accounts.mark_revoked(account, message)
    stamp = int(account.connected_at.timestamp()) if account.connected_at else 0
    notify_once(account.user_id, "account_revoked", f"account-revoked:{account.id}:{stamp}",
                f"Reconnect your {account.network} account",
                f"{account.network} no longer accepts advocacy for @{account.handle}. Your shares on it are paused "
                f"until you reconnect the account (Accounts page); they go out then.")
    log.warning("event=account_revoked account_id=%s user_id=%s network=%s", account.id, account.user_id,
                account.network)


def refresh_expiring(now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic job: refresh tokens expiring soon; remind people whose token cannot be refreshed.

    Returns counts: refreshed, revoked, failed (transient, tried again next run), reminded.
    """
    now = now or utcnow()
    ahead = now + dt.timedelta(seconds=current_app.config["DELIVERY_TOKEN_REFRESH_AHEAD_SECONDS"])
    report = {"refreshed": 0, "revoked": 0, "failed": 0, "reminded": 0}
    due = db.session.scalars(select(ConnectedAccount).where(
        ConnectedAccount.status == AccountStatus.ACTIVE, ConnectedAccount.expires_at.is_not(None),
        ConnectedAccount.expires_at < ahead, ConnectedAccount.refresh_token_encrypted.is_not(None))).all()
    for account in due:
        try:
            refresh_locked(account, accounts.token_of(account).access_token)
            report["refreshed"] += 1
        except AuthRevoked:
            report["revoked"] += 1
        except ConnectorError as exc:
            db.session.rollback()
            report["failed"] += 1
            log.warning("event=token_refresh_failed account_id=%s error=%s", account.id, type(exc).__name__)
    report["reminded"] = remind_expiring(now)
    from advocacy.delivery import consent  # the yearly LinkedIn consent's reminders ride on the same job

    report["reminded"] += consent.remind_lapsing(now)
    return report


def remind_expiring(now: dt.datetime | None = None) -> int:
    """Tell people, once per token, to reconnect an account whose token will run out and cannot be refreshed."""
    now = now or utcnow()
    soon = now + dt.timedelta(days=current_app.config["DELIVERY_RECONNECT_REMIND_DAYS"])
    rows = db.session.scalars(select(ConnectedAccount).where(
        ConnectedAccount.status == AccountStatus.ACTIVE, ConnectedAccount.expires_at.is_not(None),
        ConnectedAccount.expires_at < soon, ConnectedAccount.refresh_token_encrypted.is_(None))).all()
    sent = 0
    for account in rows:
        assert account.expires_at is not None
        day = account.expires_at.date().isoformat()
        sent += notify_once(account.user_id, "reconnect_soon", f"reconnect-soon:{account.id}:{day}",
                            f"Reconnect your {account.network} account before {day}",
                            f"{account.network} lets advocacy post for @{account.handle} until {day}. Reconnect it "
                            f"on the Accounts page before then so your shares keep going out.")
    return sent
