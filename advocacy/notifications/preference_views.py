"""Pages for where people hear about talking points: the Notifications section of a person's preferences page, and
the admins' defaults. Both go through ``notifications.preferences``, as the JSON API does (``preference_api``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from advocacy.auth import roles_required
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.notifications import announcing, channels
from advocacy.notifications import preferences as prefs
from advocacy.people.models import Role

bp = Blueprint("notifications", __name__)
LABELS = {"slack": "Slack direct message", "teams": "Microsoft Teams", "email": "E-mail",
          "push": "Phone or browser push"}


def init_app(app: Flask) -> None:
    """Announcements on approval, the pages and the JSON API."""
    from advocacy.extensions import api
    from advocacy.notifications.preference_api import blp

    announcing.init_app(app)
    app.register_blueprint(bp)
    api.register_blueprint(blp)
    app.jinja_env.globals["notification_form"] = notification_form


def _label(name: str) -> str:
    channel = channels.get(name)
    return channel.label if channel is not None else LABELS.get(name, name)


def notification_form(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the Notifications form shows: the stored choice (or what was typed, after an error), in the form's
    shape, with every channel (chosen ones first, in order) and whether each is set up for this person."""
    stored = prefs.as_json(prefs.of(current_user)) | {"default": prefs.of(current_user)["default"]}
    shown = getattr(g, "notification_typed", None) or values or stored
    order = list(shown["channels"]) + [c for c in channels.CHANNEL_NAMES if c not in shown["channels"]]
    unreachable = prefs.of(current_user)["unreachable"]
    rows = [{"name": c, "label": _label(c), "chosen": c in shown["channels"], "position": i + 1,
             "unreachable": c in unreachable} for i, c in enumerate(order)]
    return {"chosen": shown, "channels": rows, "frequencies": prefs.FREQUENCY_LABELS,
            "error": getattr(g, "notification_error", None), "default": stored["default"]}


def typed_channels(form: Any) -> list[str]:
    """The ticked channels in the order their position boxes give (a blank or bad position keeps the listed one)."""
    ticked = []
    for i, name in enumerate(channels.CHANNEL_NAMES):
        if form.get(f"channel_{name}"):
            raw = str(form.get(f"order_{name}", "")).strip()
            ticked.append((int(raw) if raw.isdigit() else i + 1, i, name))
    extra = [str(n) for n in form.getlist("channels")]  # a script may post the names in order
    return [name for _p, _i, name in sorted(ticked)] + extra


def _typed(form: Any) -> dict[str, Any]:
    typed = {"channels": typed_channels(form)}
    for field in ("frequency", "quiet_start", "quiet_end", "timezone"):
        if field in form:
            typed[field] = form[field]
    return typed


@bp.post("/preferences/notifications")
@roles_required()
def preferences() -> Any:
    """Save where, how often and when I hear about new talking points (the Notifications section)."""
    typed = _typed(request.form)
    try:
        prefs.update(current_user, typed)
    except DomainError as exc:
        db.session.rollback()
        g.notification_error = exc
        g.notification_typed = prefs.as_json(prefs.of(current_user)) | typed
        return _preferences_page(), 422
    flash("Notification choices saved.", "success")
    return redirect(url_for("delivery.preferences") + "#notifications")


def _preferences_page() -> str:
    """The whole preferences page, as ``delivery.preferences`` shows it, with the Notifications form's error."""
    from advocacy.delivery import consent
    from advocacy.delivery import preferences as delivery_prefs

    return render_template("feed/preferences.html", values=delivery_prefs.of(current_user), error=None,
                           digests=delivery_prefs.DIGESTS, time_zones=sorted(delivery_prefs.time_zones()),
                           linkedin_consent=consent.status(current_user))


@bp.route("/admin/notifications", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_defaults() -> Any:
    """The defaults for people who have not chosen where they hear about talking points."""
    values = prefs.as_json(prefs.defaults())
    error: DomainError | None = None
    if request.method == "POST":
        typed = _typed(request.form)
        try:
            prefs.update_defaults(typed)
        except DomainError as exc:
            db.session.rollback()
            error, values = exc, {**values, **typed}
        else:
            flash("Defaults saved.", "success")
            return redirect(url_for("notifications.admin_defaults"))
    order = list(values["channels"]) + [c for c in channels.CHANNEL_NAMES if c not in values["channels"]]
    rows = [{"name": c, "label": _label(c), "chosen": c in values["channels"], "position": i + 1}
            for i, c in enumerate(order)]
    page = render_template("notifications/admin_defaults.html", values=values, channels=rows, error=error,
                           frequencies=prefs.FREQUENCY_LABELS)
    return page, 422 if error else 200
