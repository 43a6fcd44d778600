"""Admins connect the Slack workspace (``/admin/slack``): OAuth v2 through Slack's own consent page, the ``state``
parameter checked on the way back, the bot token stored encrypted."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from advocacy.auth import roles_required
from advocacy.errors import DomainError
from advocacy.notifications.slack import install
from advocacy.notifications.slack.client import SCOPES
from advocacy.people.models import Role

bp = Blueprint("slack_admin", __name__)
STATE_KEY = "slack_install_state"


def _redirect_uri() -> str:
    return url_for("slack_admin.callback", _external=True)


@bp.get("/admin/slack")
@roles_required(Role.ADMIN)
def page() -> Any:
    """The Slack app: which workspace it is installed in, and the button to connect (or reconnect) one."""
    return render_template("notifications/slack_admin.html", installation=install.current_installation(),
                           configured=install.configured(), scopes=SCOPES, redirect_uri=_redirect_uri(),
                           request_url=url_for("slack_interactivity.interactivity", _external=True))


@bp.post("/admin/slack/install")
@roles_required(Role.ADMIN)
def start() -> Any:
    """Send the admin to Slack's consent page, remembering the ``state`` that must come back."""
    try:
        url, state = install.authorize_url(_redirect_uri())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("slack_admin.page"))
    session[STATE_KEY] = state
    return redirect(url)


@bp.get("/admin/slack/callback")
@roles_required(Role.ADMIN)
def callback() -> Any:
    """Where Slack sends the admin back: the ``state`` must be the one this session sent, the code is exchanged."""
    expected = session.pop(STATE_KEY, None)
    state = request.args.get("state", "")
    if not expected or not hmac.compare_digest(expected, state):
        flash("That Slack answer was not for this installation (state does not match): start again.", "error")
        return redirect(url_for("slack_admin.page"))
    if request.args.get("error"):
        flash(f"Slack was not connected: {request.args['error']}.", "error")
        return redirect(url_for("slack_admin.page"))
    try:
        installation = install.finish_install(current_user, request.args.get("code", ""), _redirect_uri())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("slack_admin.page"))
    flash(f"Slack workspace {installation.team_name} connected.", "success")
    return redirect(url_for("slack_admin.page"))


def setup() -> dict[str, Any]:
    """What the preferences page says about Slack for the signed-in person (no call to Slack: what is known)."""
    from advocacy.extensions import db
    from advocacy.notifications.slack.models import SlackPerson

    installation = install.current_installation()
    known = db.session.get(SlackPerson, current_user.id) if installation is not None else None
    return {"installed": installation is not None, "team": installation.team_name if installation else "",
            "checked": known is not None and known.team_id == (installation.team_id if installation else None),
            "matched": bool(known and known.slack_user_id), "email": current_user.email}


@bp.post("/slack/me/check")
@roles_required()
def check_me() -> Any:
    """Look the signed-in person up in the workspace again (after they joined Slack or confirmed their e-mail)."""
    from advocacy.notifications.channels import RetryLater

    try:
        found = install.look_up_again(current_user)
    except RetryLater:
        flash("Slack is busy: try again in a minute.", "error")
        return redirect(url_for("delivery.preferences") + "#slack")
    if found:
        flash("Found you in Slack: new talking points can reach you there.", "success")
    else:
        flash(f"No Slack member has the e-mail {current_user.email} (or it is not confirmed in Slack).", "error")
    return redirect(url_for("delivery.preferences") + "#slack")


@bp.post("/admin/slack/disconnect")
@roles_required(Role.ADMIN)
def disconnect() -> Any:
    """Stop using the workspace (its token is kept revoked here; remove the app in Slack too)."""
    install.uninstall(current_user)
    flash("Slack disconnected: nobody gets Slack messages until a workspace is connected again.", "success")
    return redirect(url_for("slack_admin.page"))
