"""The Slack pages' actions over JSON: the workspace's installation (read, disconnect) and my match in Slack (read,
look me up again). Installing stays in a browser: it is an admin's consent on Slack's own page."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields

from advocacy.auth import roles_required
from advocacy.extensions import db
from advocacy.notifications.channels import RetryLater
from advocacy.notifications.slack import install
from advocacy.notifications.slack.models import SlackPerson
from advocacy.people.models import Role

blp = Blueprint("api_slack", __name__, url_prefix="/api", description="The Slack app: its workspace, my match in it")


class SlackInstallationOut(Schema):
    installed = fields.Boolean()
    team_id = fields.String(allow_none=True)
    team_name = fields.String(allow_none=True)
    scope = fields.String(allow_none=True)
    installed_at = fields.DateTime(allow_none=True)


class SlackMeOut(Schema):
    installed = fields.Boolean()
    matched = fields.Boolean(metadata={"description": "found in the workspace by my e-mail address"})
    email = fields.String()


def _installation() -> dict[str, Any]:
    row = install.current_installation()
    if row is None:
        return {"installed": False}
    return {"installed": True, "team_id": row.team_id, "team_name": row.team_name, "scope": row.scope,
            "installed_at": row.installed_at}


def _me() -> dict[str, Any]:
    row = install.current_installation()
    known = db.session.get(SlackPerson, current_user.id) if row is not None else None
    return {"installed": row is not None, "matched": bool(known and known.slack_user_id and row
                                                          and known.team_id == row.team_id),
            "email": current_user.email}


@blp.route("/admin/slack", methods=["GET"])
@roles_required(Role.ADMIN)
@blp.response(200, SlackInstallationOut)
def installation() -> Any:
    """The workspace the Slack app is installed in (as the Slack admin page shows)."""
    return _installation()


@blp.route("/admin/slack", methods=["DELETE"])
@roles_required(Role.ADMIN)
@blp.response(204)
def disconnect() -> Any:
    """Stop using the workspace (as the Slack admin page's Disconnect does)."""
    install.uninstall(current_user)


@blp.route("/me/slack", methods=["GET"])
@roles_required()
@blp.response(200, SlackMeOut)
def me() -> Any:
    """Whether Slack messages can reach me: the app installed and my e-mail address found in the workspace."""
    return _me()


@blp.route("/me/slack/lookup", methods=["POST"])
@roles_required()
@blp.response(200, SlackMeOut)
def look_me_up() -> Any:
    """Look me up in the workspace again (as the preferences page's button does)."""
    if install.current_installation() is None:
        abort(409, message="the Slack app is not installed")
    try:
        install.look_up_again(current_user)
    except RetryLater as exc:
        abort(503, message=f"Slack is busy: try again in {exc.seconds:g} seconds")
    return _me()
