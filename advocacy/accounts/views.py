"""Connecting an employee's network accounts through each network's own consent page."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import select

from advocacy import outbound
from advocacy.accounts import services
from advocacy.accounts.models import ConnectedAccount
from advocacy.accounts.networks import LABELS, available_networks, bluesky_client, connector_for
from advocacy.auth import public, roles_required
from advocacy.errors import DomainError
from advocacy.extensions import db
from connectors.base import ConnectorError

bp = Blueprint("accounts", __name__, url_prefix="/accounts")
log = logging.getLogger(__name__)


@bp.get("/")
@roles_required()
def index() -> Any:
    """The person's connected accounts and the networks they can connect."""
    accounts = db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.user_id == current_user.id)).all()
    expiry = {a.network: services.days_until_reconnect(a) for a in accounts}
    return render_template("accounts/index.html", accounts={a.network: a for a in accounts}, expiry=expiry,
                           warn_days=services.RECONNECT_WARNING_DAYS,
                           networks=available_networks(), labels=LABELS)


FORMS = {"mastodon": "accounts/mastodon.html", "bluesky": "accounts/bluesky.html"}


@bp.get("/connect/<network>")
@roles_required()
def connect_form(network: str) -> Any:
    """What a network needs before connecting: Mastodon the person's server, Bluesky a handle and an app password."""
    if network not in available_networks() or network not in FORMS:
        abort(404)
    form = {"instance": current_app.config["MASTODON_DEFAULT_INSTANCE"]} if network == "mastodon" else {}
    return render_template(FORMS[network], form=form, errors={}, oauth=current_app.config["BLUESKY_OAUTH"],
                           fallback=request.args.get("with") == "app-password")


@bp.post("/connect/<network>")
@roles_required()
def connect(network: str) -> Any:
    """Start connecting: the network's consent page (OAuth, state and PKCE verifier kept in the session), or for
    Bluesky the session opened with an app password."""
    if network not in available_networks():
        abort(404)
    if not current_user.opted_in:
        flash("Opt in to the programme before connecting accounts.", "error")
        return redirect(url_for("people.policy"))
    if network in FORMS and not set(request.form) - {"csrf_token"}:  # the accounts page's button: ask first
        return redirect(url_for("accounts.connect_form", network=network))
    if network == "mastodon":
        return _connect_mastodon()
    if network == "bluesky":
        return _connect_bluesky()
    auth = connector_for(network).authorization_url(url_for("accounts.callback", network=network, _external=True))
    session[f"oauth.{network}"] = {"state": auth.state, "verifier": auth.code_verifier}
    return redirect(auth.url)


def _connect_mastodon() -> Any:
    typed = request.form.get("instance", "")
    redirect_uri = url_for("accounts.callback", network="mastodon", _external=True)
    try:
        server, auth = services.mastodon_authorization(typed, redirect_uri)
    except DomainError as exc:
        errors = {exc.field or "_form": exc.message}
        return render_template(FORMS["mastodon"], form={"instance": typed}, errors=errors), exc.status
    session["oauth.mastodon"] = {"state": auth.state, "verifier": auth.code_verifier, "server": server}
    return redirect(auth.url)


def _connect_bluesky() -> Any:
    handle = request.form.get("handle", "")
    if "app_password" not in request.form and current_app.config["BLUESKY_OAUTH"]:  # the default: atproto OAuth
        try:
            return redirect(services.start_bluesky_oauth(current_user, handle))
        except DomainError as exc:
            log.warning("event=connect_failed user_id=%s network=bluesky field=%s", current_user.id, exc.field)
            errors = {exc.field or "_form": exc.message}
            return render_template(FORMS["bluesky"], form={"handle": handle}, errors=errors, oauth=True), exc.status
    try:  # the app password is used once here and never stored, logged or shown again
        account = services.connect_bluesky(current_user, handle, request.form.get("app_password", ""))
    except DomainError as exc:
        log.warning("event=connect_failed user_id=%s network=bluesky field=%s", current_user.id, exc.field)
        errors = {exc.field or "_form": exc.message}
        return (render_template(FORMS["bluesky"], form={"handle": handle}, errors=errors,
                                oauth=current_app.config["BLUESKY_OAUTH"], fallback=True), exc.status)
    flash(f"Connected Bluesky as @{account.handle}.", "success")
    return redirect(url_for("delivery.feed"))


@bp.get("/bluesky/client-metadata.json")
@public
def bluesky_client_metadata() -> Any:
    """The atproto OAuth client metadata document; its URL is this app's ``client_id`` (on an https public URL)."""
    if not current_app.config["BLUESKY_OAUTH"]:
        abort(404)
    document = bluesky_client().metadata(current_app.config.get("MASTODON_CLIENT_NAME") or "Advocacy",
                                         current_app.config["PUBLIC_URL"])
    return jsonify(document)


@bp.get("/bluesky/callback")
@public
def bluesky_callback() -> Any:
    """Where Bluesky's authorization server sends the person back (``state``, ``iss``, ``code``). Open to anyone: a
    loopback client comes back on 127.0.0.1, where the sign-in cookie of another host name is not sent; the sign-in
    is found by its one-use ``state`` and belongs to who started it."""
    home = current_app.config["PUBLIC_URL"].rstrip("/")
    user = current_user if current_user.is_authenticated else None
    args = request.args
    if args.get("error"):
        services.abandon_bluesky_oauth(args.get("state", ""))
        flash(f"Bluesky did not connect: {args.get('error_description') or args['error']}.", "error")
        return redirect(home + url_for("accounts.index"))
    try:
        account = services.finish_bluesky_oauth(user, args.get("state", ""), args.get("iss", ""), args.get("code", ""))
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(home + url_for("accounts.index"))
    flash(f"Connected Bluesky as @{account.handle}.", "success")
    return redirect(home + url_for("delivery.feed"))


@bp.get("/callback/<network>")
@roles_required()
def callback(network: str) -> Any:
    """Where the network sends the person back: check state, exchange the code with the PKCE verifier."""
    if network not in available_networks():
        abort(404)
    pending = session.pop(f"oauth.{network}", None)
    state = request.args.get("state", "")
    if not pending or not hmac.compare_digest(str(pending.get("state", "")), state):
        flash("That sign-in link was not started here or has already been used; please connect again.", "error")
        return redirect(url_for("accounts.index"))
    if request.args.get("error"):
        flash(f"{LABELS[network]} did not connect: {request.args.get('error_description') or request.args['error']}.",
              "error")
        return redirect(url_for("accounts.index"))
    code = request.args.get("code", "")
    if not code:
        flash("The network sent no authorization code back; please connect again.", "error")
        return redirect(url_for("accounts.index"))
    redirect_uri = url_for("accounts.callback", network=network, _external=True)
    try:
        if network == "mastodon":
            account = services.finish_connect_mastodon(current_user, str(pending.get("server", "")), code,
                                                       redirect_uri, pending.get("verifier"))
        else:
            account = services.finish_connect(current_user, network, code, redirect_uri, pending.get("verifier"))
    except ConnectorError as exc:
        log.warning("event=connect_failed user_id=%s network=%s error=%s", current_user.id, network,
                    type(exc).__name__)
        if network == "mastodon":  # a server the person named: one message whatever failed (no network probing)
            flash(f"Mastodon did not connect: {outbound.UNREACHABLE}.", "error")
        else:
            flash(f"{LABELS[network]} refused the connection: {exc.message}", "error")
        return redirect(url_for("accounts.index"))
    flash(f"Connected {LABELS[network]} as @{account.handle}.", "success")
    return redirect(url_for("delivery.feed"))


@bp.get("/threads/image/<token>")
@public
def threads_image(token: str) -> Any:
    """A share's approved image, for Threads to fetch (it takes images by URL only): the token is the share signed
    with the app's secret, good for 24 hours (``advocacy.accounts.threads``)."""
    from advocacy.accounts.threads import image_for

    image = image_for(token)
    if image is None:
        abort(404)
    return current_app.response_class(image.data, mimetype=image.content_type,
                                      headers={"Cache-Control": "private, max-age=3600"})


@bp.post("/<int:account_id>/disconnect")
@roles_required()
def disconnect(account_id: int) -> Any:
    """Forget an account's tokens."""
    account = db.session.get(ConnectedAccount, account_id)
    if account is None or account.user_id != current_user.id:
        abort(404)
    services.disconnect(account)
    flash(f"Disconnected {LABELS.get(account.network, account.network)}.", "success")
    return redirect(url_for("accounts.index"))
