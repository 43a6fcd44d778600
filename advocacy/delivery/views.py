"""The employee's feed, sharing, and the state of each share."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.networks import INTENT_LABELS, LABELS
from advocacy.auth import roles_required
from advocacy.content import composing, library
from advocacy.content.link_previews import LinkPreview
from advocacy.content.models import TalkingPoint
from advocacy.content.preview_views import _ORIGIN
from advocacy.delivery import consent, rules, services, states
from advocacy.delivery import preferences as prefs
from advocacy.delivery.models import Share
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.people.services import has_acknowledged_current
from advocacy.security import CSP

bp = Blueprint("delivery", __name__)


def _accounts() -> dict[str, ConnectedAccount]:
    rows = db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.user_id == current_user.id,
                                                             ConnectedAccount.status == AccountStatus.ACTIVE))
    return {a.network: a for a in rows}


TABS = {"new": "New for me", "shared": "Shared", "all": "All"}


def _tab() -> str:
    tab = request.args.get("show", "all")
    return tab if tab in TABS else "all"


def _feed(typed: dict[tuple[int, str], str] | None = None, errors: dict[tuple[int, str], str] | None = None,
          status: int = 200) -> Any:
    """The feed, one compact card per talking point; after a refused share, with what the person typed and the
    field at fault on that card. ``?show=new|shared|all`` filters on the server."""
    accounts = _accounts()
    typed, errors = typed or {}, errors or {}
    tab = _tab()
    points = library.approved_for(current_user)
    shared = rules.live_shares(current_user.id, [tp.id for tp in points])  # one query: what is out already
    done_ids = {tp_id for tp_id, _network in shared}
    counts = {"new": sum(tp.id not in done_ids for tp in points), "shared": len(done_ids & {tp.id for tp in points}),
              "all": len(points)}
    if tab == "new":
        points = [tp for tp in points if tp.id not in done_ids]
    elif tab == "shared":
        points = [tp for tp in points if tp.id in done_ids]
    page, pages = _page(points, typed)
    points = points[(page - 1) * FEED_PAGE:page * FEED_PAGE]
    cards = _link_cards([tp.id for tp in points])
    images = {i: c.image_url for i, c in cards.items() if c.image_url and _origin(c.image_url)}  # what CSP lets in
    items = []
    screening_rules = composing.screening_rules()  # read once for every card's previews
    for tp in points:
        previews = {}
        for network in accounts:
            own = typed.get((tp.id, network))
            if (tp.id, network) not in shared:  # where it is out already, the card shows that share instead
                previews[network] = composing.preview(tp, network, own, current_user.id, screening_rules)
        done = {n: shared[(tp.id, n)] for n in LABELS if (tp.id, n) in shared}
        items.append((tp, previews, done))
    dialogs = [n for n in INTENT_LABELS if n not in accounts]  # share dialogs for what is not connected
    linkedin = consent.status(current_user) if "linkedin" in accounts and current_user.auto_share_topics else None
    page = render_template("feed/index.html", items=items, accounts=accounts, labels=INTENT_LABELS | LABELS,
                           dialogs=dialogs, limits=composing.length_limits(), typed=typed, errors=errors,
                           acknowledged=has_acknowledged_current(current_user), shared=shared,
                           live=any(s.status in LIVE for s in shared.values()), linkedin_consent=linkedin, tab=tab,
                           tabs=TABS, counts=counts, cards=cards, images=images, page=page, pages=pages)
    response = make_response(page, status)
    origins = sorted({o for o in (_origin(url) for url in images.values()) if o})
    if origins:  # the cards' images load from their own sites, and only those (as on the studio's page)
        response.headers["Content-Security-Policy"] = CSP.replace(
            "img-src 'self' data:", "img-src 'self' data: " + " ".join(origins))
    return response


FEED_PAGE = 20  # cards a page: a hundred talking points for someone stay a light, quick page


def _page(points: list[TalkingPoint], typed: dict[tuple[int, str], str]) -> tuple[int, int]:
    """(the page to show, how many): ``?page=``, or the page of the card whose wording was refused."""
    pages = max(1, -(-len(points) // FEED_PAGE))
    page = request.args.get("page", 1, type=int) or 1
    if typed:
        ids = [tp.id for tp in points]
        tp_id = next(iter(typed))[0]
        page = ids.index(tp_id) // FEED_PAGE + 1 if tp_id in ids else page
    return min(max(page, 1), pages), pages


def _link_cards(tp_ids: list[int]) -> dict[int, LinkPreview]:
    """The stored link preview card of each talking point (one query)."""
    if not tp_ids:
        return {}
    rows = db.session.scalars(select(LinkPreview).where(LinkPreview.talking_point_id.in_(tp_ids)))
    return {c.talking_point_id: c for c in rows}


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if _ORIGIN.fullmatch(origin) else None


LIVE = ("scheduled", "queued", "publishing")


@bp.app_template_filter("share_state")
def share_state(status: str | None) -> str:
    """A share state in the one vocabulary every page uses (``advocacy.delivery.states``)."""
    return states.label(status)


@bp.get("/feed")
@roles_required()
def feed() -> Any:
    """Talking points aimed at me, one card each: the link's card, the copy as it will post, my networks as chips
    (connected ones selected) and one Share button; where each one went, with its live status."""
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
    if text is None or text.strip() == composing.copy_for_person(tp, network, current_user.id).strip():
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
    """One tap: share a talking point now, as written, on the networks ticked on its card (``networks``; without
    the field: every network I have connected), leaving out the networks it is already shared on."""
    tp = db.session.get(TalkingPoint, request.form.get("talking_point_id", type=int) or 0)
    if tp is None:
        abort(404)
    page = request.form.get("page", type=int)
    back = url_for("delivery.feed", show=request.form.get("show") or None,
                   page=page if page and page > 1 else None) + f"#tp-{tp.id}"
    networks = list(_accounts())
    if "chips" in request.form:  # the card's chips were on the form: only the ticked ones
        chosen = request.form.getlist("networks")
        unknown = [n for n in chosen if n not in networks]
        if unknown:
            flash(f"Not shared: networks {', '.join(unknown)} is not connected.", "error")
            return redirect(back)
        if not chosen:
            flash("Not shared: networks is empty: tick at least one network.", "error")
            return redirect(back)
        networks = [n for n in networks if n in chosen]
    done, refused, already = [], [], []
    for network in networks:
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
        flash(f"Sharing now on {', '.join(done)}. Its card shows each one live.", "success")
    if refused:
        flash(f"Not shared on {'; '.join(refused)}.", "error")
    if already:
        flash(f"Already shared on {', '.join(already)}: not shared there again.", "info")
    if not done and not refused and not already:
        flash("Connect an account first.", "error")
    return redirect(back)


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
