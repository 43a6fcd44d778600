"""The rest of the feed and the operations page over JSON: share everywhere, the network's share dialog, my
preferences (time zone, auto-share topics, sharing hours, daily cap, digest), and retrying a failed share. Each
calls the domain function the page calls."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.networks import INTENT_LABELS
from advocacy.auth import roles_required
from advocacy.content.models import TalkingPoint
from advocacy.delivery import preferences as prefs
from advocacy.delivery import rules, services
from advocacy.delivery.api import ShareOut
from advocacy.delivery.models import Share
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.people.models import Role

shares_blp = Blueprint("api_share_actions", __name__, url_prefix="/api/shares",
                       description="Share everywhere, share dialogs")
me_blp = Blueprint("api_me", __name__, url_prefix="/api/me", description="My preferences")
ops_blp = Blueprint("api_operations", __name__, url_prefix="/api/operations", description="Operations (admin, comms)")

ID = validate.Range(min=1, max=2**63 - 1)


def _talking_point(tp_id: int) -> TalkingPoint:
    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        abort(422, errors={"json": {"talking_point_id": [f"no talking point {tp_id}"]}})
    return tp


class TalkingPointRef(Schema):
    talking_point_id = fields.Integer(required=True, strict=True, validate=ID)


class NetworkOutcome(Schema):
    network = fields.String()
    outcome = fields.String(metadata={"description": "shared, already_shared or refused"})
    message = fields.String(allow_none=True)
    share = fields.Nested(ShareOut, allow_none=True)


@shares_blp.route("/all", methods=["POST"])
@roles_required()
@shares_blp.arguments(TalkingPointRef)
@shares_blp.response(200, NetworkOutcome(many=True))
def share_all(data: dict[str, Any]) -> Any:
    """Share a talking point now, as written, on every network I have connected; networks where it is out already
    are left alone (the feed's "share everywhere")."""
    tp = _talking_point(data["talking_point_id"])
    networks = db.session.scalars(select(ConnectedAccount.network).where(
        ConnectedAccount.user_id == current_user.id, ConnectedAccount.status == AccountStatus.ACTIVE)).all()
    if not networks:
        abort(422, errors={"json": {"network": ["connect an account first"]}})
    outcomes: list[dict[str, Any]] = []
    for network in networks:
        try:
            share = services.create_share(current_user, tp, network, channel="api")
        except rules.AlreadyShared as exc:
            db.session.rollback()
            outcomes.append({"network": network, "outcome": "already_shared", "message": exc.message,
                             "share": exc.share})
        except DomainError as exc:
            db.session.rollback()
            outcomes.append({"network": network, "outcome": "refused",
                             "message": f"{exc.field + ' ' if exc.field else ''}{exc.message}", "share": None})
        else:
            outcomes.append({"network": network, "outcome": "shared", "message": None, "share": share})
    return outcomes


class DialogIn(TalkingPointRef):
    network = fields.String(required=True, validate=validate.OneOf(sorted(INTENT_LABELS)))


class DialogOut(Schema):
    share = fields.Nested(ShareOut)
    url = fields.String(metadata={"description": "the network's own share dialog, with my tracked link"})


@shares_blp.route("/dialog", methods=["POST"])
@roles_required()
@shares_blp.arguments(DialogIn)
@shares_blp.response(201, DialogOut)
def share_dialog(data: dict[str, Any]) -> Any:
    """Record a share through the network's own share dialog and return the dialog's URL (the share is
    ``opened``, never known to be posted)."""
    share, url = services.open_share_dialog(current_user, _talking_point(data["talking_point_id"]), data["network"])
    return {"share": share, "url": url}


# ------------------------------------------------------------------------------------------------- preferences
class PreferencesSchema(Schema):
    """Every field optional on PUT: what is left out stays as it is; a bad field changes nothing."""

    timezone = fields.String(validate=validate.Length(max=64), metadata={"description": "IANA, e.g. Europe/Paris"})
    auto_share_topics = fields.List(fields.String(validate=validate.Length(max=41)), validate=validate.Length(max=100),
                                    metadata={"description": "topics that may go out automatically for me"})
    share_hours_start = fields.Integer(strict=True, validate=validate.Range(min=0, max=23))
    share_hours_end = fields.Integer(strict=True, validate=validate.Range(min=1, max=24))
    daily_share_cap = fields.Integer(strict=True, validate=validate.Range(min=0, max=50))
    digest = fields.String(validate=validate.OneOf(prefs.DIGESTS), metadata={"description": "e-mail digest"})


def _preferences() -> dict[str, Any]:
    values = prefs.of(current_user)
    return {**values, "auto_share_topics": [t for t in (values["auto_share_topics"] or "").split() if t]}


@me_blp.route("/preferences", methods=["GET"])
@roles_required()
@me_blp.response(200, PreferencesSchema)
def get_preferences() -> Any:
    """My time zone, auto-share topics, sharing hours, daily cap and digest frequency."""
    return _preferences()


@me_blp.route("/preferences", methods=["PUT"])
@roles_required()
@me_blp.arguments(PreferencesSchema)
@me_blp.response(200, PreferencesSchema)
def put_preferences(data: dict[str, Any]) -> Any:
    """Change any of my preferences (the preferences page's form)."""
    try:
        prefs.update(current_user, data)
    except DomainError:
        db.session.rollback()
        raise
    return _preferences()


class ConsentIn(Schema):
    given = fields.Boolean(required=True, metadata={"description": "true: consent (or renew it) for a year from now; "
                                                                   "false: withdraw it"})


class ConsentOut(Schema):
    given = fields.Boolean()
    lapses_at = fields.DateTime(allow_none=True)
    lapsed = fields.Boolean()
    soon = fields.Boolean(metadata={"description": "lapses within the reminder window"})
    paused = fields.Integer(metadata={"description": "my LinkedIn auto-shares waiting for a consent in force"})


@me_blp.route("/linkedin-consent", methods=["GET"])
@roles_required()
@me_blp.response(200, ConsentOut)
def get_linkedin_consent() -> Any:
    """My consent to automatic LinkedIn posting: given, when it lapses, and auto-shares it holds."""
    from advocacy.delivery import consent

    return consent.status(current_user)


@me_blp.route("/linkedin-consent", methods=["PUT"])
@roles_required()
@me_blp.arguments(ConsentIn)
@me_blp.response(200, ConsentOut)
def put_linkedin_consent(data: dict[str, Any]) -> Any:
    """Give (or renew for another year: paused LinkedIn auto-shares go out) or withdraw my consent, as the
    preferences page's checkbox and the renewal button do."""
    from advocacy.delivery import consent

    if data["given"]:
        consent.give(current_user)
    else:
        consent.withdraw(current_user)
    return consent.status(current_user)


class AccountOut(Schema):
    id = fields.Integer()
    network = fields.String()
    handle = fields.String()
    status = fields.String()
    followers = fields.Integer(allow_none=True)
    connected_at = fields.DateTime()
    last_error = fields.String(allow_none=True)


@me_blp.route("/accounts", methods=["GET"])
@roles_required()
@me_blp.response(200, AccountOut(many=True))
def my_accounts() -> Any:
    """My connected accounts (connecting one is a browser consent at the network: the accounts page)."""
    return db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.user_id == current_user.id)
                              .order_by(ConnectedAccount.network)).all()


@me_blp.route("/accounts/<int:account_id>", methods=["DELETE"])
@roles_required()
@me_blp.response(200, AccountOut)
def disconnect_account(account_id: int) -> Any:
    """Disconnect one of my accounts: its tokens are revoked at the network where it allows that, and forgotten."""
    from advocacy.accounts.services import disconnect

    account = db.session.get(ConnectedAccount, account_id) if account_id <= 2**31 - 1 else None
    if account is None or account.user_id != current_user.id:
        abort(404, message=f"no account {account_id} of yours")
    disconnect(account)
    return account


# -------------------------------------------------------------------------------------------------- operations
@ops_blp.route("/shares/<int:share_id>/retry", methods=["POST"])
@roles_required(Role.ADMIN, Role.COMMS)
@ops_blp.response(200, ShareOut)
def retry_share(share_id: int) -> Any:
    """Send a failed or paused share out again (looked for on the network first, so it never posts twice)."""
    share = db.session.get(Share, share_id) if share_id <= 2**63 - 1 else None
    if share is None:
        abort(404, message=f"no share {share_id}")
    services.retry(share, current_user)
    db.session.refresh(share)
    return share
