"""Pages for the places people hear from us: the installable web app (manifest, service worker, offline page), a
person's own Teams webhook (on the preferences page) and the teams' webhooks (admins and comms)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from advocacy.auth import public, roles_required
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.notifications.destinations import TeamsWebhook, set_teams_webhook
from advocacy.people.models import Role, Team

bp = Blueprint("notify_setup", __name__)
STATIC = Path(__file__).resolve().parent.parent / "static"


@bp.get("/manifest.webmanifest")
@public
def manifest() -> Response:
    """The web app manifest: name, icons, start page, standalone display, the brand's colours (app.css tokens)."""
    icons = [{"src": url_for("static", filename=f"icons/app/{name}"), "sizes": size, "type": "image/png",
              "purpose": purpose} for name, size, purpose in (
        ("icon-192.png", "192x192", "any"), ("icon-512.png", "512x512", "any"),
        ("icon-maskable-512.png", "512x512", "maskable"))]
    body = {"name": "advocacy", "short_name": "advocacy", "description": "Share your company's news in one tap",
            "id": "/", "start_url": "/", "scope": "/", "display": "standalone", "background_color": "#f6f8fa",
            "theme_color": "#0a58ca", "icons": icons}
    answer = current_app.response_class(current_app.json.dumps(body), mimetype="application/manifest+json")
    answer.cache_control.max_age = 3600
    return answer


@bp.get("/sw.js")
@public
def service_worker() -> Response:
    """The service worker, from the root so its scope is the whole site; never cached long (updates reach people)."""
    answer = send_file(STATIC / "sw.js", mimetype="text/javascript", max_age=0)
    answer.headers["Cache-Control"] = "no-cache"
    return answer


@bp.get("/offline")
@public
def offline() -> str:
    """What the service worker shows when a page cannot be loaded."""
    return render_template("notifications/offline.html")


@bp.post("/preferences/teams")
@roles_required()
def my_teams_webhook() -> Any:
    """Set (or remove) the Workflows webhook my own Teams cards go to."""
    url = "" if request.form.get("remove") else request.form.get("teams_webhook_url", "")
    try:
        set_teams_webhook(url, user_id=current_user.id)
    except DomainError as exc:
        db.session.rollback()
        flash(f"Teams workflow URL {exc.message}", "error")
    else:
        flash("Your Teams workflow is saved." if url else "Teams cards are turned off for you.", "success")
    return redirect(url_for("delivery.preferences") + "#teams")


@bp.route("/teams-channels", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.COMMS)
def team_webhooks() -> Any:
    """Each team's Teams channel: the Workflows webhook its announcement cards are posted to."""
    errors: dict[int, str] = {}
    typed: dict[int, str] = {}  # what was typed, shown again beside its error
    status = 200
    if request.method == "POST":
        raw = request.form.get("team_id", "")
        team = db.session.get(Team, int(raw)) if raw.isdigit() and int(raw) < 2**31 else None
        if team is None:
            abort(404)
        url = "" if request.form.get("remove") else request.form.get("teams_webhook_url", "")
        try:
            set_teams_webhook(url, team_id=team.id)
        except DomainError as exc:
            db.session.rollback()
            errors[team.id], typed[team.id], status = exc.message, url, exc.status
        else:
            flash(f"Teams channel of {team.name} saved." if url else f"{team.name} has no Teams channel now.",
                  "success")
            return redirect(url_for("notify_setup.team_webhooks") + f"#team-{team.id}")
    teams = list(db.session.scalars(db.select(Team).order_by(Team.name)))
    hooks = {h.team_id: h for h in db.session.scalars(db.select(TeamsWebhook).where(TeamsWebhook.team_id.is_not(None)))}
    return render_template("notifications/teams_channels.html", teams=teams, hooks=hooks, errors=errors,
                           typed=typed), status


def notification_setup() -> dict[str, Any]:
    """What the preferences page's Teams and push partials show for the signed-in person."""
    from advocacy.notifications.destinations import subscriptions, teams_webhook_for
    from advocacy.notifications.push import public_key

    user = current_user
    return {"teams": teams_webhook_for(user_id=user.id),
            "team_teams": teams_webhook_for(team_id=user.team_id) if user.team_id is not None else None,
            "push_key": public_key(), "push_devices": subscriptions(user.id)}


def init_app(app: Any) -> None:
    """Register the pages, the Teams and push channels (``channels.register``) and push's event subscriptions."""
    from advocacy.notifications import push, push_notices, teams  # noqa: F401  (each registers its channel)

    app.register_blueprint(bp)
    app.jinja_env.globals["notification_setup"] = notification_setup
    push_notices.subscribe()
