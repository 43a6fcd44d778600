"""Where people hear about talking points, over JSON: my notification choices, and the admins' defaults.

The same domain functions as the pages (``notifications.preferences``): a bad field is a 422 naming it.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from advocacy.auth import roles_required
from advocacy.notifications import preferences as prefs
from advocacy.notifications.channels import CHANNEL_NAMES
from advocacy.people.models import Role

blp = Blueprint("api_notifications", __name__, url_prefix="/api", description="Where people hear about talking points")
_CHANNELS = f"channels tried in this order, from {', '.join(CHANNEL_NAMES)}; empty: none"
_QUIET = "quiet hours, 24-hour HH:MM in my time zone; both null: none"


class DefaultsSchema(Schema):
    channels = fields.List(fields.String(), metadata={"description": _CHANNELS})
    frequency = fields.String(metadata={"description": f"one of {', '.join(prefs.FREQUENCIES)}"})
    quiet_start = fields.String(allow_none=True, metadata={"description": _QUIET})
    quiet_end = fields.String(allow_none=True, metadata={"description": _QUIET})


class MineSchema(DefaultsSchema):
    timezone = fields.String(metadata={"description": "IANA time zone name (Europe/Paris); quiet hours use it"})
    default = fields.Boolean(dump_only=True, metadata={"description": "true: the admins' defaults apply"})


@blp.route("/me/notifications")
class MyNotifications(MethodView):
    @roles_required()
    @blp.response(200, MineSchema)
    def get(self) -> Any:
        """Where, how often and when I hear about new talking points aimed at me."""
        values = prefs.of(current_user)
        return prefs.as_json(values) | {"default": values["default"]}

    @roles_required()
    @blp.arguments(MineSchema)
    @blp.response(200, MineSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """Change any of them (all or nothing: a bad field is a 422 naming it), as the preferences page does."""
        values = prefs.update(current_user, data)
        return prefs.as_json(values) | {"default": values["default"]}


@blp.route("/admin/notification-defaults")
class NotificationDefaults(MethodView):
    @roles_required(Role.ADMIN)
    @blp.response(200, DefaultsSchema)
    def get(self) -> Any:
        """What applies to people who have not chosen."""
        return prefs.as_json(prefs.defaults())

    @roles_required(Role.ADMIN)
    @blp.arguments(DefaultsSchema)
    @blp.response(200, DefaultsSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """Change the defaults, as the admin page does."""
        return prefs.as_json(prefs.update_defaults(data))
