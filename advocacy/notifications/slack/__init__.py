"""The Slack app: installed into a workspace with OAuth v2 (``install``, ``views``), people matched by e-mail, new
talking points as DMs with one-tap share buttons (``channel``, ``messages``), the clicks (``interactivity``), and the
DMs kept up to date as shares publish or fail and talking points are approved (``reactions``)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the Slack channel, its pages and its event subscribers."""
    from advocacy.notifications.slack import channel  # noqa: F401  (registers "slack")
    from advocacy.notifications.slack.interactivity import bp as interactivity_bp
    from advocacy.notifications.slack.reactions import subscribe
    from advocacy.notifications.slack.views import bp as admin_bp
    from advocacy.notifications.slack.views import setup

    app.register_blueprint(admin_bp)
    app.register_blueprint(interactivity_bp)
    from advocacy.extensions import api
    from advocacy.notifications.slack.api import blp as api_blp

    api.register_blueprint(api_blp)  # /api/admin/slack, /api/me/slack: the pages' actions over JSON
    subscribe()
    app.context_processor(lambda: {"slack_setup": setup})  # the preferences page's Slack section
    # Slack signs the raw body: ``advocacy.security.check_input``, the first of all the hooks, keeps a form body's raw
    # bytes before any hook reads its fields, so the interactivity view verifies the signature on them.
