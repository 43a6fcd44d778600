"""Connecting, refreshing and disconnecting employees' network accounts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from advocacy import outbound
from advocacy.accounts import crypto
from advocacy.accounts.models import AccountStatus, ConnectedAccount, MastodonApp
from advocacy.accounts.networks import (
    LABELS,
    bluesky_client,
    bluesky_oauth,
    connector_for,
    mastodon_connector,
    mastodon_credential,
)
from advocacy.errors import DomainError
from advocacy.extensions import db, redis_client
from advocacy.models_base import utcnow
from advocacy.people.models import User
from connectors.base import (
    AppCredentials,
    AuthRequest,
    ConfigurationError,
    ConnectorError,
    Profile,
    Rejected,
    RevokesTokens,
    SignsInWithPassword,
    Token,
)

log = logging.getLogger(__name__)
REFRESH_MARGIN = dt.timedelta(minutes=5)


def account_for(user: User, network: str) -> ConnectedAccount | None:
    return db.session.scalar(
        select(ConnectedAccount).where(ConnectedAccount.user_id == user.id, ConnectedAccount.network == network)
    )


def finish_connect(
    user: User, network: str, code: str, redirect_uri: str, code_verifier: str | None
) -> ConnectedAccount:
    """Exchange the consent code, read the profile and store the account with encrypted tokens."""
    connector = connector_for(network)
    token = connector.exchange_code(code, redirect_uri, code_verifier)
    return _save(user, network, connector.profile(token.access_token), token)


def _save(user: User, network: str, profile: Profile, token: Token, server_url: str | None = None) -> ConnectedAccount:
    account = account_for(user, network) or ConnectedAccount(user_id=user.id, network=network)
    account.network_user_id = profile.id
    account.handle = profile.handle
    account.followers = profile.followers
    account.status = AccountStatus.ACTIVE
    account.last_error = None
    account.connected_at = utcnow()
    account.server_url = server_url
    store_token(account, token)
    db.session.add(account)
    db.session.commit()
    log.info("event=account_connected user_id=%s network=%s account_id=%s", user.id, network, account.id)
    return account


# ------------------------------------------------------------------------------------------------------ Mastodon
def mastodon_app(server_url: str, redirect_uri: str) -> AppCredentials:
    """This app's registration on a Mastodon server: the stored one, else registered now and stored (committed).

    A registration made for another callback URL (the app moved), or without a scope the app now asks for
    (``write:media`` came with images), is replaced by a new one.

    Args:
        server_url: the server as the person named it (normalized here; junk raises ConfigurationError).
        redirect_uri: our OAuth callback.
    """
    from connectors.mastodon import normalize_instance_url  # the client loads on first use (connectors/__init__.py)

    server_url = normalize_instance_url(server_url)
    stored = db.session.scalar(select(MastodonApp).where(MastodonApp.instance_url == server_url))
    wanted = set(mastodon_connector(server_url).scopes)
    if stored is not None and stored.redirect_uri == redirect_uri and wanted <= set(stored.scopes.split()):
        return AppCredentials(server_url, stored.client_id, crypto.decrypt(stored.client_secret_encrypted) or "",
                              stored.redirect_uri, stored.scopes)
    app = mastodon_connector(server_url).register_app(redirect_uri)
    row = stored or MastodonApp(instance_url=server_url)
    row.client_id, row.client_secret_encrypted = app.client_id, crypto.encrypt(app.client_secret) or ""
    row.redirect_uri, row.scopes, row.registered_at = app.redirect_uri, app.scopes, utcnow()
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # another request registered this server at the same moment: use theirs
        db.session.rollback()
        return mastodon_app(server_url, redirect_uri)
    log.info("event=mastodon_app_registered server=%s client_id=%s", server_url, app.client_id)
    return app


def mastodon_authorization(server_url: str, redirect_uri: str) -> tuple[str, AuthRequest]:
    """The normalized server and where to send the person to consent on it (registering the app there if new).

    Whatever goes wrong once the server is contacted (a refused address, no such host, a refused connection, a bad
    certificate, an answer that is not Mastodon's) reads the same to the person, ``outbound.UNREACHABLE``, so the
    form cannot probe the network; the log keeps the reason.

    Args:
        server_url: the server as the person typed it.
        redirect_uri: our OAuth callback.
    """
    from connectors.mastodon import normalize_instance_url

    if not server_url.strip():
        raise DomainError("is required: the address of your server, such as mastodon.social", "instance")
    try:
        normalize_instance_url(server_url)
    except ConfigurationError:
        raise DomainError("is not the address of a server, such as mastodon.social", "instance") from None
    try:
        app = mastodon_app(server_url, redirect_uri)
        return app.server_url, mastodon_connector(app.server_url, app).authorization_url(redirect_uri)
    except ConnectorError as exc:
        log.warning("event=mastodon_unreachable error=%s status=%s reason=%r", type(exc).__name__, exc.status,
                    exc.message)
        raise DomainError(outbound.UNREACHABLE, "instance") from None


def finish_connect_mastodon(user: User, server_url: str, code: str, redirect_uri: str,
                            code_verifier: str | None) -> ConnectedAccount:
    """Exchange the code on the person's server; store the account with its server and token encrypted together.

    Args:
        user: who connects.
        server_url: the server the consent started on (from the session, never from the callback).
        code: the callback's code.
        redirect_uri: our OAuth callback, as in the authorization request.
        code_verifier: the PKCE verifier of the authorization request.
    """
    connector = mastodon_connector(server_url, mastodon_app(server_url, redirect_uri))
    token = connector.exchange_code(code, redirect_uri, code_verifier)
    profile = connector.profile(token.access_token)
    stored = Token(mastodon_credential(connector.instance_url, token.access_token), None, None, token.scope)
    return _save(user, "mastodon", profile, stored, connector.instance_url)


# ------------------------------------------------------------------------------------------------------- Bluesky
def connect_bluesky(user: User, handle: str, app_password: str) -> ConnectedAccount:
    """Open a Bluesky session with the person's handle and app password; keep the session, never the password.

    A wrong handle or password raises ``Rejected`` with Bluesky's message.

    Args:
        user: who connects.
        handle: ``alice.bsky.social`` (a leading ``@`` is fine).
        app_password: an app password the person made in Bluesky's settings.
    """
    if not handle.strip().lstrip("@"):
        raise DomainError("is required, such as alice.bsky.social", "handle")
    if not app_password.strip():
        raise DomainError("is required: make one in Bluesky's settings", "app_password")
    connector = connector_for("bluesky")
    assert isinstance(connector, SignsInWithPassword)
    try:
        token = connector.create_session(handle, app_password.strip())
        profile = connector.profile(token.access_token)
    except Rejected as exc:  # wrong handle or password: say so on the password, keep what was typed elsewhere
        raise DomainError(f"was not accepted by Bluesky ({exc.message})", "app_password") from None
    except ConnectorError as exc:
        log.warning("event=bluesky_unreachable error=%s status=%s", type(exc).__name__, exc.status)
        raise DomainError(f"Bluesky could not be reached ({exc.message}); try again in a moment") from None
    return _save(user, "bluesky", profile, token)


PENDING_SECONDS = 600  # how long a Bluesky sign-in may take, consent page included


def _pending_key(state: str) -> str:
    return f"advocacy:bluesky-oauth:{hashlib.sha256(state.encode()).hexdigest()}"


def start_bluesky_oauth(user: User, handle: str) -> str:
    """Start connecting Bluesky by OAuth: discover the person's servers, push the request; where to send them.

    What the callback needs (PKCE verifier, the session's DPoP private key, the DID and issuer discovered) is kept
    in Redis under the request's ``state``, encrypted, for ten minutes and for one use.

    Args:
        user: who connects.
        handle: ``alice.bsky.social`` (a leading ``@`` is fine).
    """
    handle = handle.strip().lstrip("@")
    if not handle:
        raise DomainError("is required, such as alice.bsky.social", "handle")
    if "." not in handle and not handle.startswith("did:"):
        raise DomainError("is not a Bluesky handle: it looks like alice.bsky.social", "handle")
    try:
        pending = bluesky_oauth().start(handle, bluesky_client())
    except Rejected as exc:  # no such handle, a DID document that does not claim it, a server without OAuth
        raise DomainError(f"could not be signed in with OAuth ({exc.message})", "handle") from None
    except ConnectorError as exc:
        log.warning("event=bluesky_unreachable error=%s status=%s", type(exc).__name__, exc.status)
        raise DomainError(f"Bluesky could not be reached ({exc.message}); try again in a moment") from None
    record = json.dumps({"user_id": user.id, "pending": pending.dumps()})
    redis_client().set(_pending_key(pending.state), crypto.encrypt(record) or "", ex=PENDING_SECONDS)
    log.info("event=bluesky_oauth_started user_id=%s did=%s", user.id, pending.did)
    return pending.url


def abandon_bluesky_oauth(state: str) -> None:
    """Forget a pending sign-in the person declined (its DPoP key and verifier with it)."""
    if state:
        redis_client().delete(_pending_key(state))


def finish_bluesky_oauth(user: User | None, state: str, iss: str, code: str) -> ConnectedAccount:
    """The OAuth callback: the pending sign-in of this ``state`` (used once), its ``iss`` checked, the code traded
    (``sub`` and scope checked), the profile read, the account stored. Anything that does not check out raises
    ``DomainError`` and stores nothing.

    Args:
        user: who is signed in here (None: the loopback redirect may reach the app under another host name); the
            sign-in must have been started by them.
        state, iss, code: the callback's parameters.
    """
    from connectors.bluesky_oauth import OAuthRefused, Pending

    raw = redis_client().getdel(_pending_key(state)) if state else None
    if not raw:
        raise DomainError("This Bluesky sign-in answer was not started here or was already used (state mismatch); "
                          "please connect again.")
    record = json.loads(crypto.decrypt(raw.decode() if isinstance(raw, bytes) else raw) or "{}")
    owner = db.session.get(User, record.get("user_id"))
    if owner is None or (user is not None and user.id != owner.id):
        raise DomainError("This Bluesky sign-in was started by someone else; please connect again.")
    pending = Pending.loads(record["pending"])
    try:
        access, _ = bluesky_oauth().finish(pending, state=state, iss=iss, code=code)
        profile = connector_for("bluesky").profile(access.access_token)
    except OAuthRefused as exc:
        log.warning("event=bluesky_oauth_refused user_id=%s reason=%r", owner.id, exc.message)
        raise DomainError(f"Bluesky did not connect: {exc.message}. Nothing was stored; please connect again.") \
            from None
    except ConnectorError as exc:
        log.warning("event=bluesky_unreachable error=%s status=%s", type(exc).__name__, exc.status)
        raise DomainError(f"Bluesky could not be reached ({exc.message}); please connect again.") from None
    if profile.id != pending.did:
        raise DomainError("Bluesky did not connect: the profile is not the account that signed in. Nothing was "
                          "stored; please connect again.")
    return _save(owner, "bluesky", profile, access, pending.pds)


def store_token(account: ConnectedAccount, token: Token) -> None:
    account.access_token_encrypted = crypto.encrypt(token.access_token)
    if token.refresh_token:
        account.refresh_token_encrypted = crypto.encrypt(token.refresh_token)
    account.expires_at = token.expires_at
    account.scope = token.scope or account.scope or ""


def token_of(account: ConnectedAccount) -> Token:
    access = crypto.decrypt(account.access_token_encrypted)
    if not access:
        raise ValueError(f"account {account.id} holds no token")
    return Token(access, crypto.decrypt(account.refresh_token_encrypted), account.expires_at, account.scope)


def refresh(account: ConnectedAccount) -> Token:
    """Refresh the account's token and store the new one (committed: a rotated refresh token must not be lost)."""
    token = connector_for(account.network).refresh(token_of(account))
    store_token(account, token)
    db.session.commit()
    log.info("event=token_refreshed account_id=%s network=%s", account.id, account.network)
    return token


def fresh_access_token(account: ConnectedAccount) -> str:
    """The access token, refreshed first when it expires within a few minutes."""
    token = token_of(account)
    if token.expires_at and token.refresh_token and token.expires_at - utcnow() < REFRESH_MARGIN:
        token = refresh(account)
    return token.access_token


RECONNECT_WARNING_DAYS = 7


def days_until_reconnect(account: ConnectedAccount, now: dt.datetime | None = None) -> int | None:
    """Whole days before the person must reconnect: the token expires and cannot be refreshed (LinkedIn issues
    60-day tokens without a refresh token to most apps). None when the token refreshes itself or never expires.

    Args:
        account: the connected account.
        now: the current time (aware); defaults to now.
    """
    if account.expires_at is None or account.refresh_token_encrypted:
        return None
    return max(math.ceil((account.expires_at - (now or utcnow())).total_seconds() / 86400), 0)


def mark_revoked(account: ConnectedAccount, message: str) -> None:
    account.status = AccountStatus.REVOKED
    account.last_error = message
    db.session.commit()


def disconnect(account: ConnectedAccount) -> str | None:
    """Revoke the account's tokens at the network where it offers revocation, then forget them here; past shares
    keep their record. Revoking is best effort: a network that is down or refuses never stops the disconnect, the
    account keeps "could not revoke at X; revoke it in X's settings" for the accounts page instead.

    Args:
        account: the account to disconnect (opt-out disconnects every account of the person).

    Returns:
        That message when the network did not revoke the tokens, else None.
    """
    note = _revoke_at_network(account) if account.access_token_encrypted else account.last_error
    account.status = AccountStatus.DISCONNECTED
    account.access_token_encrypted = None
    account.refresh_token_encrypted = None
    account.last_error = note
    db.session.commit()
    log.info("event=account_disconnected account_id=%s network=%s revoked=%s", account.id, account.network,
             note is None)
    return note


def _revoke_at_network(account: ConnectedAccount) -> str | None:
    """Ask the network to revoke the account's tokens (``RevokesTokens``); the message to keep when it did not."""
    label = LABELS.get(account.network, account.network)
    token = token_of(account)
    try:
        if account.network == "mastodon":
            server, _, access = token.access_token.partition(" ")
            app = db.session.scalar(select(MastodonApp).where(MastodonApp.instance_url == server))
            if app is None:
                raise ConfigurationError(f"this app holds no registration on {server}")
            credentials = AppCredentials(server, app.client_id, crypto.decrypt(app.client_secret_encrypted) or "",
                                         app.redirect_uri, app.scopes)
            mastodon_connector(server, credentials).revoke(Token(access, None, None, token.scope))
        else:
            connector = connector_for(account.network)
            if not isinstance(connector, RevokesTokens):
                return None  # nothing to ask: the accounts page says what disconnecting does there
            connector.revoke(token)
    except ConnectorError as exc:
        log.warning("event=revoke_failed account_id=%s network=%s error=%s status=%s", account.id, account.network,
                    type(exc).__name__, exc.status)
        return f"could not revoke at {label}; revoke it in {label}'s settings"
    log.info("event=token_revoked account_id=%s network=%s", account.id, account.network)
    return None
