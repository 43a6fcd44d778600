"""The JSON API (flask-smorest): one blueprint per area, OpenAPI served at /api/openapi.json.

Errors share one shape, the one flask-smorest uses for validation failures:
``{"code": 422, "status": "Unprocessable Entity", "errors": {"json": {"<field>": ["<problem>"]}}}``.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_smorest import Api
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from advocacy.errors import DomainError


def register(api: Api) -> None:
    from advocacy.content.api import blp as content_blp
    from advocacy.delivery.api import blp as delivery_blp
    from advocacy.reach.api import blp as reach_blp

    for blp in (content_blp, delivery_blp, reach_blp):
        api.register_blueprint(blp)

    from advocacy.audit.api import blp as audit_blp
    from advocacy.content.api import rules_blp as screening_blp
    from advocacy.integrations.api import sources_blp, webhooks_blp
    from advocacy.people.api import blp as policy_blp

    for blp in (screening_blp, policy_blp, audit_blp, sources_blp, webhooks_blp):
        api.register_blueprint(blp)


    from advocacy.audit.api_archive import blp as archive_blp
    from advocacy.content.calendar_api import blp as calendar_blp
    from advocacy.delivery.api_actions import me_blp, ops_blp, shares_blp
    from advocacy.people.api_admin import people_blp, tokens_blp
    from advocacy.reach.exports import blp as reach_exports_blp

    # API parity: what the pages do that the blueprints above did not (tests/test_api_parity.py keeps it complete)
    for blp in (shares_blp, me_blp, ops_blp, people_blp, tokens_blp, reach_exports_blp, archive_blp,
                calendar_blp):
        api.register_blueprint(blp)
    from advocacy.notifications.setup_api import blp as notify_setup_blp

    api.register_blueprint(notify_setup_blp)  # push subscriptions, Teams webhooks


def init_errors(app: Flask, api: Api) -> None:
    """JSON errors under /api/, HTML pages elsewhere (flask-smorest would make every error JSON)."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return api.handle_http_exception(error)
        code = error.code or 500
        description = error.description
        if code == 429:
            description = "Too many attempts in a short time. Wait a minute, then try again."
        response = render_template("error.html", code=code, name=error.name, description=description), code
        return response

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError) -> Any:
        body = {"code": error.status, "status": _STATUS.get(error.status, "Error"),
                "message": error.message, "errors": {"json": {error.field or "_schema": [error.message]}}}
        return jsonify(body), error.status

    @app.errorhandler(OverflowError)
    @app.errorhandler(DataError)
    def out_of_range(error: Exception) -> Any:
        """A safety net under the schemas' own bounds: a number the database cannot hold is bad input, not a 500."""
        from advocacy.extensions import db

        db.session.rollback()
        message = "a number in the request is out of range"
        if request.path.startswith("/api/"):
            return jsonify({"code": 422, "status": "Unprocessable Entity", "message": message,
                            "errors": {"json": {"_schema": [message]}}}), 422
        return render_template("error.html", code=422, name="Unprocessable Entity", description=message + "."), 422


_STATUS = {403: "Forbidden", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity"}
