"""Shares over JSON."""

from __future__ import annotations

from typing import Any

from flask import jsonify, make_response
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from advocacy.accounts.networks import LABELS
from advocacy.auth import roles_required
from advocacy.content import composing
from advocacy.content.models import TalkingPoint
from advocacy.delivery import services
from advocacy.delivery.models import Share
from advocacy.delivery.rules import AlreadyShared
from advocacy.extensions import db

blp = Blueprint("api_shares", __name__, url_prefix="/api/shares", description="Shares of talking points")


class ShareIn(Schema):
    talking_point_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**63 - 1))
    network = fields.String(required=True, validate=validate.OneOf(sorted(LABELS)))  # every postable network
    scheduled_at = fields.AwareDateTime(load_default=None, allow_none=True)
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100_000),
                         metadata={"description": "my own wording, when the talking point allows edits; screened as "
                                                  "the feed's edit is (refused with 422 naming ``text``)"})


class ShareOut(Schema):
    id = fields.Integer()
    talking_point_id = fields.Integer()
    network = fields.String()
    text = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    post_id = fields.String(allow_none=True)
    post_url = fields.String(allow_none=True)
    code = fields.String()
    scheduled_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)


@blp.route("")
class Shares(MethodView):
    @roles_required()
    @blp.response(200, ShareOut(many=True))
    def get(self) -> Any:
        """My shares, newest first."""
        return services.shares_of(current_user, 200)

    @roles_required()
    @blp.arguments(ShareIn)
    @blp.response(201, ShareOut)
    @blp.alt_response(409, description="Already shared there: the body's ``share`` and the ``Location`` header name "
                                       "the live share (a failed or cancelled one does not count)")
    def post(self, data: dict[str, Any]) -> Any:
        """Share a talking point now, or at ``scheduled_at`` (with a timezone), as written or in my own ``text``
        (when the talking point allows edits). At most one live share of a talking point per account: a second is
        refused with 409 and the existing share's URL."""
        tp = db.session.get(TalkingPoint, data["talking_point_id"])
        if tp is None:
            abort(422, errors={"json": {"talking_point_id": [f"no talking point {data['talking_point_id']}"]}})
        text = data["text"]
        if text is not None and text.strip() == composing.copy_for_person(tp, data["network"], current_user.id).strip():
            text = None  # the copy as written (the person's own variant), as the feed's form treats it
        try:
            return services.create_share(current_user, tp, data["network"], text, data["scheduled_at"],
                                         channel="api")
        except AlreadyShared as exc:
            existing = exc.share
            body = {"code": 409, "status": "Conflict", "message": exc.message,
                    "errors": {"json": {"network": [exc.message]}},
                    "share": {"id": existing.id, "status": existing.status, "url": exc.url, "page": exc.page,
                              "post_url": existing.post_url}}
            answer = make_response(jsonify(body), 409)
            answer.headers["Location"] = exc.url
            return answer


@blp.route("/<int:share_id>")
@roles_required()
@blp.response(200, ShareOut)
def get_share(share_id: int) -> Any:
    """One of my shares."""
    share = db.session.get(Share, share_id)
    if share is None or share.user_id != current_user.id:
        abort(404, message=f"no share {share_id}")
    return share
