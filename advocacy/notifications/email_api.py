"""E-mail over JSON: after the mail server refused my address (e-mail stopped for me), send there again."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from advocacy.auth import roles_required

blp = Blueprint("api_email", __name__, url_prefix="/api", description="E-mail notifications")


class EmailStateSchema(Schema):
    address = fields.String(metadata={"description": "where the mail goes (the person's e-mail)"})
    unreachable = fields.Boolean(metadata={"description": "true: the mail server refused it; nothing is sent"})


@blp.route("/me/email/again")
class EmailAgain(MethodView):
    @roles_required()
    @blp.response(200, EmailStateSchema)
    def post(self) -> Any:
        """Send e-mail to my address again after the mail server refused it, as the preferences page's button does."""
        from advocacy.notifications import preferences as prefs

        prefs.channel_set_up(current_user.id, "email")
        return {"address": current_user.email, "unreachable": "email" in prefs.of(current_user)["unreachable"]}
