"""Health endpoint for load balancers and operators."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user

from advocacy.auth import public, roles_required
from advocacy.delivery import services as delivery
from advocacy.delivery.models import Share
from advocacy.errors import DomainError
from advocacy.extensions import csrf, db
from advocacy.ops import health, operations

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@public
@csrf.exempt
def healthz() -> Any:
    """200 when the database, Redis and a worker for every queue with work are there; 503 otherwise."""
    healthy, report = health.check()
    report["ok"] = healthy
    return jsonify(report), 200 if healthy else 503


@bp.get("/favicon.ico")
@public
def favicon() -> Any:
    """Browsers ask for this path whatever the page says."""
    return current_app.send_static_file("favicon.svg")


@bp.get("/admin/operations")
@roles_required("admin", "comms")
def operations_page() -> Any:
    """Queues, workers, shares by state, failed shares with their errors and a retry button, budgets, fan-outs."""
    return render_template("admin/operations.html", **operations.overview())


@bp.post("/admin/operations/shares/<int:share_id>/retry")
@roles_required("admin", "comms")
def retry_share(share_id: int) -> Any:
    """Send a failed or paused share out again (it is looked for on the network first, so it never posts twice)."""
    share = db.session.get(Share, share_id)
    if share is None:
        abort(404)
    try:
        delivery.retry(share, current_user)
    except DomainError as exc:
        flash(f"Share {share_id} not retried: {exc.field + ' ' if exc.field else ''}{exc.message}.", "error")
    else:
        flash(f"Share {share_id} is queued again.", "success")
    return redirect(url_for("ops.operations_page"))
