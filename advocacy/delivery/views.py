"""The employee's feed, sharing, and the state of each share."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.networks import INTENT_LABELS, LABELS
from advocacy.auth import roles_required
from advocacy.content import composing, library
from advocacy.content.models import TalkingPoint
from advocacy.delivery import consent, rules, services
from advocacy.delivery import preferences as prefs
from advocacy.delivery.models import Share
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.people.services import has_acknowledged_current

bp = Blueprint("delivery", __name__)


def _accounts() -> dict[str, ConnectedAccount]:
    from sqlalchemy import select

    rows = db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.user_id == current_user.id,
                                                             ConnectedAccount.status == AccountStatus.ACTIVE))
    return {a.network: a for a in rows}


def _feed(typed: dict[tuple[int, str], str] | None = None, errors: dict[tuple[int, str], str] | None = None,
          status: int = 200) -> Any:
    """The feed; after a refused share, with what the person typed and the field at fault on that card."""
    accounts = _accounts()
    typed, errors = typed or {}, errors or {}
    items = []
    points = library.approved_for(current_user)
    shared = rules.live_shares(current_user.id, [tp.id for tp in points])  # one query: what is out already
    for tp in points:
        previews = {}
        for network in accounts:
            own = typed.get((tp.id, network))
            previews[network] = composing.preview(tp, network, own if own is not None else None)
        items.append((tp, previews))
    dialogs = [n for n in INTENT_LABELS if n not in accounts]  # share dialogs for what is not connected
    recent = [s for s in services.shares_of(current_user, 10) if s.status != "cancelled"]  # all: on "My shares"
    linkedin = consent.status(current_user) if "linkedin" in accounts and current_user.auto_share_topics else None
    return render_template("feed/index.html", items=items, accounts=accounts, labels=INTENT_LABELS | LABELS,
                           dialogs=dialogs, limits=composing.length_limits(), typed=typed, errors=errors,
                           acknowledged=has_acknowledged_current(current_user), recent=recent, shared=shared,
                           live=any(s.status in LIVE for s in recent), linkedin_consent=linkedin), status


LIVE = ("scheduled", "queued", "publishing")


@bp.get("/feed")
@roles_required()
def feed() -> Any:
    """Talking points aimed at me, each previewed per connected network exactly as it will post, ready to share in
    one tap; my latest shares with their live status."""
    return _feed()


def parse_local_time(value: str, timezone: str) -> dt.datetime:
    """A ``datetime-local`` value in the person's timezone, as aware UTC."""
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DomainError("is not a date and time such as 2026-12-01T09:30", "scheduled_at") from None
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = naive if naive.tzinfo else naive.replace(tzinfo=zone)
    return local.astimezone(dt.UTC)


def _own_wording(tp: TalkingPoint, network: str) -> str | None:
    """The person's own wording from the form, or None when they left the copy as written."""
    text = request.form.get("text")
    if text is None or text.strip() == tp.copy_for(network).strip():
        return None
    return text


@bp.post("/share")
@roles_required()
def share() -> Any:
    """Share a talking point now, or at a chosen time, on one network, optionally in my own words."""
    tp = db.session.get(TalkingPoint, request.form.get("talking_point_id", type=int) or 0)
    if tp is None:
        abort(404)
    network = request.form.get("network", "")
    text = _own_wording(tp, network)
    try:
        when = request.form.get("scheduled_at", "").strip() if request.form.get("when") != "now" else ""
        if not when and request.form.get("when") == "later":
            raise DomainError("is empty: choose a date and time to schedule", "scheduled_at")
        at = parse_local_time(when, current_user.timezone) if when else None
        created = services.create_share(current_user, tp, network, text, at)
    except rules.AlreadyShared as exc:  # never twice: show the share that is out already
        db.session.rollback()
        flash(f"Not shared again: {exc.message}.", "error")
        return redirect(exc.page)
    except DomainError as exc:
        db.session.rollback()
        if exc.field == "text":  # show the card again with the wording as typed, and why it was refused
            return _feed({(tp.id, network): request.form.get("text", "")},
                         {(tp.id, network): f"Your wording: {exc.message}"}, exc.status)
        flash(f"Not shared: {exc.field + ' ' if exc.field else ''}{exc.message}.", "error")
        return redirect(url_for("delivery.feed"))
    flash("Scheduled." if created.status == "scheduled" else "Sharing now…", "success")
    return redirect(url_for("delivery.share_detail", share_id=created.id))


@bp.post("/share/all")
@roles_required()
def share_all() -> Any:
    """One tap: share a talking point now on every network I have connected, as written, leaving out the networks
    it is already shared on."""
    tp = db.session.get(TalkingPoint, request.form.get("talking_point_id", type=int) or 0)
    if tp is None:
        abort(404)
    done, refused, already = [], [], []
    for network in _accounts():
        try:
            services.create_share(current_user, tp, network)
            done.append(LABELS.get(network, network))
        except rules.AlreadyShared:
            db.session.rollback()
            already.append(LABELS.get(network, network))
        except DomainError as exc:
            db.session.rollback()
            refused.append(f"{LABELS.get(network, network)}: {exc.message}")
    if done:
        flash(f"Sharing now on {', '.join(done)}. Watch each one below.", "success")
    if refused:
        flash(f"Not shared on {'; '.join(refused)}.", "error")
    if already:
        flash(f"Already shared on {', '.join(already)}: not shared there again.", "info")
    if not done and not refused and not already:
        flash("Connect an account first.", "error")
    return redirect(url_for("delivery.feed") + "#recent")


@bp.get("/shares")
@roles_required()
def shares() -> Any:
    """My shares and their state."""
    return render_template("feed/shares.html", shares=services.shares_of(current_user, 200),
                           labels=INTENT_LABELS | LABELS)


@bp.get("/shares/<int:share_id>")
@roles_required()
def share_detail(share_id: int) -> Any:
    """One share's live state: queued, publishing, published with its link, or failed with the reason."""
    item = db.session.get(Share, share_id)
    if item is None or (item.user_id != current_user.id and not current_user.has_role("comms", "admin")):
        abort(404)
    return render_template("feed/share.html", share=item, labels=INTENT_LABELS | LABELS)


@bp.post("/share/dialog")
@roles_required()
def share_dialog() -> Any:
    """Open a network's own share dialog with my tracked link; the share is recorded "opened", never "posted"."""
    tp = db.session.get(TalkingPoint, request.form.get("talking_point_id", type=int) or 0)
    if tp is None:
        abort(404)
    try:
        _opened, url = services.open_share_dialog(current_user, tp, request.form.get("network", ""))
    except DomainError as exc:
        flash(f"Not shared: {exc.field + ' ' if exc.field else ''}{exc.message}.", "error")
        return redirect(url_for("delivery.feed"))
    return redirect(url)


@bp.route("/preferences", methods=["GET", "POST"])
@roles_required()
def preferences() -> Any:
    """My time zone; auto-share: the topics I let go out automatically, my sharing hours and daily cap; my digest."""
    values: dict[str, Any] = prefs.of(current_user)
    error: DomainError | None = None
    if request.method == "POST":
        typed = {k: request.form[k] for k in prefs.FIELDS if k in request.form}  # what the form sent, no more
        try:
            prefs.update(current_user, typed)
            if "linkedin_consent_shown" in request.form:  # the checkbox was on the form: absent means unticked
                _set_linkedin_consent("linkedin_consent" in request.form)
        except DomainError as exc:
            db.session.rollback()
            error, values = exc, {**values, **typed}
        else:
            flash("Saved.", "success")
            return redirect(url_for("delivery.preferences"))
    page = render_template("feed/preferences.html", values=values, error=error, digests=prefs.DIGESTS,
                           time_zones=sorted(prefs.time_zones()), linkedin_consent=consent.status(current_user))
    return page, 422 if error else 200


def _set_linkedin_consent(ticked: bool) -> None:
    state = consent.status(current_user)
    if ticked and (not state["given"] or state["lapsed"]):
        consent.give(current_user)
    elif not ticked and state["given"]:
        consent.withdraw(current_user)


@bp.post("/preferences/linkedin-consent")
@roles_required()
def renew_linkedin_consent() -> Any:
    """One click: consent to automatic LinkedIn posting for another year; paused LinkedIn auto-shares go out."""
    released = consent.give(current_user)
    until = consent.lapses_at(current_user.id)
    assert until is not None
    more = f" {released} paused LinkedIn share{'s' if released != 1 else ''} will go out now." if released else ""
    flash(f"Automatic LinkedIn posting renewed until {until:%Y-%m-%d}.{more}", "success")
    back = request.form.get("next", "")
    return redirect(url_for("delivery.feed") if back == "feed" else url_for("delivery.preferences"))
