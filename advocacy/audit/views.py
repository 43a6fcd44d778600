"""The audit log and the archive of posts, for compliance review."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, render_template, request

from advocacy.audit import services
from advocacy.auth import roles_required
from advocacy.people.models import Role

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.get("/")
@roles_required(Role.ADMIN, Role.COMMS)
def index() -> Any:
    """The newest actions and the archive of posts, with CSV and JSON exports."""
    action = request.args.get("action", "")
    items = services.events(action if action in services.ACTIONS else None, limit=500)
    return render_template("admin/audit.html", events=[(e, json.loads(e.detail or "{}")) for e in items],
                           archive=services.archive(), actions=services.ACTIONS, action=action)
