"""Pages: the studio's content sources (comms) and the admin's webhook endpoints with their deliveries."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from advocacy.auth import roles_required
from advocacy.content.checks import EDITORS
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.integrations import sources as feeds
from advocacy.integrations import webhooks as hooks
from advocacy.people.models import Role, Team

bp = Blueprint("integrations", __name__)
SOURCE_FIELDS = ("url", "name", "default_topics", "default_disclosure")


# ---------------------------------------------------------------------------------------------- content sources
def _sources_page(form: dict[str, Any] | None = None, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    rows = [(s, feeds.recent_items(s.id, 5)) for s in feeds.sources()]
    teams = list(db.session.scalars(select(Team).order_by(Team.name)))
    return render_template("integrations/sources.html", rows=rows, teams=teams, form=form or {},
                           errors=errors or {}), status


def _source_form() -> dict[str, Any]:
    values: dict[str, Any] = {f: request.form.get(f, "") for f in SOURCE_FIELDS}
    values["default_team_ids"] = request.form.getlist("default_team_ids")
    return values


@bp.get("/studio/sources")
@roles_required(*EDITORS)
def sources() -> Any:
    """The feeds comms follow: each one's last attempt, its error if it failed, and the drafts it made."""
    return _sources_page()


@bp.post("/studio/sources")
@roles_required(*EDITORS)
def add_source() -> Any:
    """Register a feed; its items become drafts in the studio."""
    form = _source_form()
    try:
        source = feeds.create_source(current_user, **form)
    except DomainError as exc:
        db.session.rollback()
        return _sources_page(form, {exc.field or "_form": exc.message}, exc.status)
    feeds.fetch_soon(source)
    flash(f"Feed {source.name} added: its new items will appear as drafts in the studio.", "success")
    return redirect(url_for("integrations.sources"))


@bp.post("/studio/sources/<int:source_id>")
@roles_required(*EDITORS)
def edit_source(source_id: int) -> Any:
    """Change a feed: turn it on or off, or fetch it now."""
    try:
        source = feeds.get_source(source_id)
        action = request.form.get("action", "")
        if action == "fetch":
            feeds.fetch_soon(source)
            flash(f"Feed {source.name} will be fetched in a moment.", "success")
        elif action == "delete":
            feeds.delete_source(source, current_user)
            flash("Feed removed; its drafts stay in the studio.", "success")
        elif action in ("enable", "disable"):
            feeds.update_source(source, current_user, enabled=action == "enable")
            flash(f"Feed {source.name} {action}d.", "success")
        else:
            raise DomainError("choose fetch, enable, disable or delete", "action")
    except DomainError as exc:
        db.session.rollback()
        return _sources_page(None, {f"source-{source_id}": exc.message}, exc.status)
    return redirect(url_for("integrations.sources"))


# ------------------------------------------------------------------------------------------------------ webhooks
def _webhooks_page(form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                   secret: tuple[int, str] | None = None, status: int = 200) -> Any:
    return render_template("integrations/webhooks.html", endpoints=hooks.endpoints(), deliveries=hooks.deliveries(),
                           catalogue=hooks.EVENTS, form=form or {}, errors=errors or {}, secret=secret), status


@bp.get("/admin/webhooks")
@roles_required(Role.ADMIN)
def webhooks() -> Any:
    """Webhook endpoints, the events each gets, and the latest deliveries with the answers they got."""
    return _webhooks_page()


@bp.post("/admin/webhooks")
@roles_required(Role.ADMIN)
def add_webhook() -> Any:
    """Register an endpoint; its signing secret is shown once, here."""
    form = {"url": request.form.get("url", ""), "description": request.form.get("description", ""),
            "events": request.form.getlist("events")}
    try:
        endpoint = hooks.create_endpoint(current_user, **form)
    except DomainError as exc:
        db.session.rollback()
        return _webhooks_page(form, {exc.field or "_form": exc.message}, status=exc.status)
    flash("Endpoint added. Copy its signing secret now: it is shown only once.", "success")
    return _webhooks_page(secret=(endpoint.id, hooks.secret_of(endpoint)))


@bp.post("/admin/webhooks/<int:endpoint_id>")
@roles_required(Role.ADMIN)
def edit_webhook(endpoint_id: int) -> Any:
    """Turn an endpoint on or off, give it a new secret, or remove it."""
    try:
        endpoint = hooks.get_endpoint(endpoint_id)
        action = request.form.get("action", "")
        if action in ("enable", "disable"):
            hooks.update_endpoint(endpoint, current_user, enabled=action == "enable")
            flash(f"Endpoint {action}d.", "success")
        elif action == "rotate":
            secret = hooks.rotate_secret(endpoint, current_user)
            flash("New signing secret made; the old one no longer verifies.", "success")
            return _webhooks_page(secret=(endpoint.id, secret))
        elif action == "delete":
            hooks.delete_endpoint(endpoint, current_user)
            flash("Endpoint removed.", "success")
        else:
            raise DomainError("choose enable, disable, rotate or delete", "action")
    except DomainError as exc:
        db.session.rollback()
        return _webhooks_page(errors={f"endpoint-{endpoint_id}": exc.message}, status=exc.status)
    return redirect(url_for("integrations.webhooks"))


@bp.post("/admin/webhooks/deliveries/<int:delivery_id>/replay")
@roles_required(Role.ADMIN)
def replay(delivery_id: int) -> Any:
    """Send a delivery again (the same webhook-id, signed afresh)."""
    try:
        hooks.replay(hooks.get_delivery(delivery_id), current_user)
    except DomainError as exc:
        db.session.rollback()
        return _webhooks_page(errors={"_form": exc.message}, status=exc.status)
    flash("Delivery queued again.", "success")
    return redirect(url_for("integrations.webhooks"))
