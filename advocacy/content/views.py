"""The comms studio (write, review, approve, withdraw and recall), employee suggestions, and the screening rules."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from advocacy.auth import roles_required
from advocacy.content import composing, images, library, people_search, recall, screening, versions, workflow
from advocacy.content.models import NETWORKS, Status, TalkingPoint
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.people.models import Role

bp = Blueprint("content", __name__, url_prefix="/studio")
EDITORS = (Role.COMMS, Role.ADMIN)
TEXT_FIELDS = ("title", "link", "hashtags", "disclosure", "topics", "available_from", "available_until")
COPY_FIELDS = {"generic": "text", **{n: f"text_{n}" for n in NETWORKS if n != "generic"}}
LABELS = {"generic": "Generic", "x": "X", "linkedin": "LinkedIn", "mastodon": "Mastodon", "bluesky": "Bluesky",
          "threads": "Threads"}


def _local(value: str, name: str) -> dt.datetime | None:
    """A ``datetime-local`` value in the person's timezone, as aware UTC."""
    value = value.strip()
    if not value:
        return None
    try:
        naive = dt.datetime.fromisoformat(value)
    except ValueError:
        raise DomainError("is not a date and time such as 2026-12-01T09:30", name) from None
    try:
        zone = ZoneInfo(current_user.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return (naive if naive.tzinfo else naive.replace(tzinfo=zone)).astimezone(dt.UTC)


def _form_values(tp: TalkingPoint | None = None, typed: bool = True) -> dict[str, Any]:
    """The form as typed (after a refusal), or filled from ``tp`` to edit it (``typed`` False: always from ``tp``)."""
    if request.method == "POST" and typed:
        form: dict[str, Any] = {f: request.form.get(f, "") for f in TEXT_FIELDS + tuple(COPY_FIELDS.values())}
        boxes = "checkboxes" in request.form  # the form marks that its checkboxes were shown (unticked = off)
        form["employees_may_edit"] = "employees_may_edit" in request.form or not boxes
        form["people_emails"] = request.form.get("people_emails", "")[:200_000]
        form["target_everyone"] = "target_everyone" in request.form or not (
            boxes or request.form.getlist("team_ids") or request.form.getlist("user_ids") or form["people_emails"])
        form["team_ids"] = [int(i) for i in request.form.getlist("team_ids") if i.isdigit()]
        form["user_ids"] = [int(i) for i in request.form.getlist("user_ids") if i.isdigit()]
        return form
    if tp is None:
        return {"employees_may_edit": True, "target_everyone": True, "team_ids": [], "user_ids": [],
                "people_emails": ""}
    zone = _zone()
    form = {f: getattr(tp, f) or "" for f in ("title", "link", "hashtags", "disclosure", "topics")}
    for f in ("available_from", "available_until"):
        value = getattr(tp, f)
        form[f] = value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""
    for variant in tp.variants:
        form.setdefault(COPY_FIELDS[variant.network], variant.text)
    form.update(employees_may_edit=tp.employees_may_edit, target_everyone=tp.target_everyone,
                team_ids=tp.team_ids, user_ids=[],
                people_emails=", ".join(u.email for u in people_search.people(tp.user_ids)))
    return form


def _zone() -> ZoneInfo:
    try:
        return ZoneInfo(current_user.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _data(form: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Service input from the form, and the form field of each variant (to name the field at fault)."""
    names = [name for network, name in COPY_FIELDS.items() if form.get(name, "").strip()]
    variants = [{"network": n, "text": form[name]} for n, name in COPY_FIELDS.items() if form.get(name, "").strip()]
    data = {f: form[f] for f in ("title", "link", "hashtags", "disclosure", "topics", "employees_may_edit",
                                 "target_everyone", "team_ids", "user_ids")}
    # the people field: e-mail addresses (the type-ahead fills it; without JavaScript people type them), plus any
    # ``user_ids`` a script posts; an unknown address is refused naming the field
    chosen = [u.id for u in people_search.people_by_email(form.get("people_emails", ""))]
    data["user_ids"] = chosen + [i for i in form["user_ids"] if i not in chosen]
    data["available_from"] = _local(form["available_from"], "available_from")
    data["available_until"] = _local(form["available_until"], "available_until")
    if not variants:
        raise DomainError("must not be empty: write the generic copy or one network's", "text")
    data["variants"] = variants
    return data, names


def _field(exc: DomainError, names: list[str]) -> str:
    field = exc.field or "_form"
    if field.startswith("variants."):
        parts = field.split(".")
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(names):
            return names[int(parts[1])]
        return "text"
    return field


def _composing(form: dict[str, Any]) -> dict[str, Any]:
    """What the compose form shows beside the fields: each network's preview and the number of people reached."""
    copy = {n: str(form.get(name, "")) for n, name in COPY_FIELDS.items()}
    picked = _picked(form)
    return {"drafts": composing.draft_previews(copy, str(form.get("hashtags", "")), str(form.get("disclosure", ""))),
            "reach": library.audience_size(bool(form.get("target_everyone")), form.get("team_ids", []),
                                            [u.id for u in picked]),
            "picked": picked}


def _picked(form: dict[str, Any]) -> list[Any]:
    """The people the form names (known addresses in its e-mail field, and posted ids): the picker's chips."""
    emails = people_search.split_emails(str(form.get("people_emails", "")))[:10_000]
    ids = list(form.get("user_ids", []))
    if emails:
        from sqlalchemy import func, select

        from advocacy.people.models import User
        ids += db.session.scalars(select(User.id).where(func.lower(User.email).in_(emails))).all()
    by_id = {u.id: u for u in people_search.people(ids)}
    known = {u.email.lower(): u for u in by_id.values()}
    ordered = [known[e] for e in emails if e in known]
    return ordered + [u for u in by_id.values() if u not in ordered]


def _studio(form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Any:
    q, state, topic = request.args.get("q", "")[:200], request.args.get("status", ""), request.args.get("topic", "")
    author = request.args.get("author", "")
    author_id = int(author) if author.isdigit() and len(author) < 10 else None
    state = state if state in (*Status.ALL, Status.EXPIRED) else ""
    filters = {"q": q, "status": state, "topic": topic[:100], "author": author_id}

    def lib_url(**change: Any) -> str:
        """The studio with these filters changed (the others kept), at its library."""
        args = {**filters, **change}
        return url_for("content.studio", **{k: v for k, v in args.items() if v}) + "#library"

    return render_template("content/studio.html", talking_points=library.library(**filters), form=form,
                           errors=errors, q=q, state=state, filters=filters, facets=library.library_facets(**filters),
                           lib_url=lib_url,
                           teams=library.teams(),
                           labels=LABELS, copy_fields=COPY_FIELDS, statuses=(*Status.ALL, Status.EXPIRED),
                           queue=library.review_queue(current_user), **_composing(form)), status


@bp.get("/")
@roles_required(*EDITORS)
def studio() -> Any:
    """The library of talking points (searchable), with a form for a new one."""
    return _studio(_form_values(), {})


@bp.post("/")
@roles_required(*EDITORS)
def create() -> Any:
    """Save a new draft; on bad input show the form again with what was typed and the field at fault."""
    form = _form_values()
    names: list[str] = []
    try:
        data, names = _data(form)
        tp = workflow.create_talking_point(current_user, **data)
    except DomainError as exc:
        return _studio(form, {_field(exc, names): exc.message}, 422)
    flash("Draft saved. Submit it for review when it is ready.", "success")
    return redirect(url_for("content.detail", tp_id=tp.id))


def _get(tp_id: int) -> TalkingPoint:
    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        abort(404)
    return tp


def _detail(tp: TalkingPoint, status: int = 200, **extra: Any) -> Any:
    from advocacy.delivery.fanout import fanout_for

    networks = [n for n in NETWORKS if n != "generic"]
    from advocacy.models_base import utcnow

    extra.setdefault("fanout", fanout_for(tp))
    # a fan-out not started yet is waited for (the page refreshes its progress) only shortly after approval
    extra.setdefault("fanout_expected", tp.approved_at is not None
                     and utcnow() - tp.approved_at < dt.timedelta(minutes=10))
    extra.setdefault("limits", composing.length_limits())
    from advocacy.delivery import costs  # what the talking point will cost on X for its audience

    extra.setdefault("x_cost", costs.estimate(tp))
    extra.setdefault("x_prices", costs.prices())
    previews = {n: composing.preview(tp, n) for n in networks}
    return render_template("content/detail.html", tp=tp, previews=previews, labels=LABELS,
                           changes=versions.review_changes(tp), refusal=versions.four_eyes_refusal(tp, current_user),
                           screened=composing.screen_talking_point(tp), live=recall.live_posts(tp),
                           image_findings=images.image_findings(tp),
                           revisions=[(r, json.loads(r.snapshot)) for r in reversed(tp.revisions)],
                           audience=library.audience(tp), teams={t.id: t.name for t in library.teams()},
                           **extra), status


@bp.get("/<int:tp_id>")
@roles_required(*EDITORS)
def detail(tp_id: int) -> Any:
    """One talking point: previews and screening per network, review actions, versions, comments, live posts."""
    return _detail(_get(tp_id))


@bp.route("/<int:tp_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(tp_id: int) -> Any:
    """Edit a talking point; an approved one goes back to review. A refused save changes nothing."""
    tp = _get(tp_id)
    form = _form_values(tp)
    if request.method == "GET":
        return _editor_page(tp, {})
    names: list[str] = []
    try:
        data, names = _data(form)
        was = tp.status
        workflow.update_talking_point(tp, current_user, **data)
    except DomainError as exc:
        db.session.rollback()
        return render_template("content/edit.html", tp=tp, form=form, errors={_field(exc, names): exc.message},
                               teams=library.teams(), labels=LABELS,
                               copy_fields=COPY_FIELDS, image_form={}, max_bytes=current_app.config["MEDIA_MAX_BYTES"],
                               **_composing(form)), exc.status
    back = was == Status.APPROVED and tp.status == Status.IN_REVIEW
    again = " It is back in review: a second person must approve it again." if back else ""
    flash(f"Saved as version {tp.version}.{again}", "success")
    return redirect(url_for("content.detail", tp_id=tp.id))


@bp.post("/<int:tp_id>/submit")
@roles_required(*EDITORS)
def submit(tp_id: int) -> Any:
    """Send a draft to review (screening runs first)."""
    return _act(tp_id, workflow.submit, "Submitted for review. Another comms colleague must approve it.")


@bp.post("/<int:tp_id>/approve")
@roles_required(*EDITORS)
def approve(tp_id: int) -> Any:
    """Approve a talking point someone else wrote."""
    return _act(tp_id, workflow.approve, "Approved: employees can share it now.")


@bp.post("/<int:tp_id>/reject")
@roles_required(*EDITORS)
def reject(tp_id: int) -> Any:
    """Send a talking point back to its author with a reason."""
    reason = request.form.get("reason", "")
    return _act(tp_id, lambda tp, user: workflow.reject(tp, user, reason), "Sent back to draft with your reason.")


@bp.post("/<int:tp_id>/comment")
@roles_required(*EDITORS)
def comment(tp_id: int) -> Any:
    """Add a comment."""
    body = request.form.get("body", "")
    return _act(tp_id, lambda tp, user: workflow.comment(tp, user, body), "Comment added.")


@bp.post("/<int:tp_id>/withdraw")
@roles_required(*EDITORS)
def withdraw(tp_id: int) -> Any:
    """Withdraw: every queued share is cancelled; the page then lists the posts still live."""
    reason = request.form.get("reason", "")
    tp = _get(tp_id)
    try:
        cancelled = workflow.withdraw(tp, current_user, reason)
    except DomainError as exc:
        flash(exc.message, "error")
        return _detail(tp, exc.status)
    flash(f"Withdrawn: {cancelled} queued share(s) cancelled. {len(recall.live_posts(tp))} post(s) still live.",
          "success")
    return redirect(url_for("content.detail", tp_id=tp.id) + "#recall")


@bp.post("/<int:tp_id>/posts/<int:share_id>/delete")
@roles_required()
def delete_post(tp_id: int, share_id: int) -> Any:
    """Delete one post from its network (the employee who posted it, or comms staff)."""
    from advocacy.delivery.models import Share

    share = db.session.get(Share, share_id)
    if share is None or share.talking_point_id != tp_id or (
            share.user_id != current_user.id and not current_user.has_role(*EDITORS)):
        abort(404)
    try:
        recall.delete_post(share, current_user)
        flash(f"Deleted from {LABELS.get(share.network, share.network)}.", "success")
    except DomainError as exc:
        flash(exc.message, "error")
    if current_user.has_role(*EDITORS):
        return redirect(url_for("content.detail", tp_id=tp_id) + "#recall")
    return redirect(url_for("delivery.share_detail", share_id=share_id))


def _editor_page(tp: TalkingPoint, errors: dict[str, str], status: int = 200, **image_form: str) -> Any:
    form = _form_values(tp, typed=False)
    return render_template("content/edit.html", tp=tp, form=form, errors=errors, teams=library.teams(),
                           labels=LABELS, copy_fields=COPY_FIELDS, image_form=image_form,
                           max_bytes=current_app.config["MEDIA_MAX_BYTES"], **_composing(form)), status


@bp.post("/<int:tp_id>/image")
@roles_required(*EDITORS)
def image(tp_id: int) -> Any:
    """Attach, replace or re-describe the talking point's image (multipart: ``image``, ``image_alt``). A content
    edit: an approved talking point goes back to review. A refused upload changes nothing."""
    tp = _get(tp_id)
    upload = request.files.get("image")
    data = upload.read() if upload is not None else b""
    alt = request.form.get("image_alt", "")
    chosen = upload is not None and (bool(upload.filename) or bool(data))
    was, version = tp.status, tp.version
    try:
        if chosen:
            images.set_image(tp, current_user, data, alt, upload.filename or "" if upload is not None else "")
        elif tp.image is not None:
            images.set_image_alt(tp, current_user, alt)
        else:
            raise DomainError("choose a PNG, JPEG, GIF or WebP file", "image")
    except DomainError as exc:
        db.session.rollback()
        return _editor_page(tp, {exc.field or "image": exc.message}, exc.status, image_alt=alt)
    if tp.version == version:
        flash("The image is unchanged.", "success")
    else:
        back = " It is back in review: a second person must approve it again." if (
            was == Status.APPROVED and tp.status == Status.IN_REVIEW) else ""
        flash(f"Image saved as version {tp.version}.{back}", "success")
    return redirect(url_for("content.detail", tp_id=tp.id) + "#image")


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> Any:
    """A body over the limit is refused before any view runs; on the image form, say so next to the file field."""
    tp_id = (request.view_args or {}).get("tp_id")
    if request.endpoint == "content.image" and current_user.is_authenticated and current_user.has_role(*EDITORS):
        tp = db.session.get(TalkingPoint, tp_id)
        if tp is not None:
            limit = current_app.config["MEDIA_MAX_BYTES"]
            return _editor_page(tp, {"image": f"is larger than the limit of {limit:,} bytes"}, 413)
    return render_template("error.html", code=413, name=exc.name, description=exc.description), 413


@bp.post("/<int:tp_id>/image/remove")
@roles_required(*EDITORS)
def remove_image(tp_id: int) -> Any:
    """Take the image off the talking point (a content edit, like a new image)."""
    tp = _get(tp_id)
    was = tp.status
    try:
        images.remove_image(tp, current_user)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _detail(tp, exc.status)
    back = " It is back in review: a second person must approve it again." if (
        was == Status.APPROVED and tp.status == Status.IN_REVIEW) else ""
    flash(f"Image removed (version {tp.version}).{back}", "success")
    return redirect(url_for("content.detail", tp_id=tp.id) + "#image")


def _act(tp_id: int, action: Any, success: str) -> Any:
    tp = _get(tp_id)
    try:
        action(tp, current_user)
        flash(success, "success")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _detail(tp, exc.status)
    return redirect(url_for("content.detail", tp_id=tp.id))


# ---------------------------------------------------------------------------------------------- employee suggestions
@bp.route("/suggest", methods=["GET", "POST"])
@roles_required()
def suggest() -> Any:
    """An employee proposes a talking point; comms review it like any other."""
    names = ("title", "link", "text", "hashtags", "topics")
    form = {f: request.form.get(f, "") for f in names}
    if request.method == "POST":
        try:
            workflow.suggest(current_user, **form)
        except DomainError as exc:
            field = "text" if (exc.field or "").startswith("variants.") else (exc.field or "_form")
            return render_template("content/suggest.html", form=form, errors={field: exc.message}), exc.status
        flash("Thank you: your suggestion is with the comms team for review.", "success")
        return redirect(url_for("content.suggest"))
    return render_template("content/suggest.html", form=form, errors={})


# --------------------------------------------------------------------------------------------------- screening rules
admin_bp = Blueprint("screening", __name__, url_prefix="/admin/screening")


@admin_bp.get("/")
@roles_required(*EDITORS)
def rules() -> Any:
    """The screening rules as configured, and a box to try any text against them."""
    text = request.args.get("text", "")[:10_000]
    networks = [n for n in request.args.getlist("network") if n in screening.LENGTH_NETWORKS]
    findings = screening.screen(text, networks=networks, rules=composing.screening_rules()) if text else None
    return render_template("admin/screening.html", rules=composing.screening_rules(), catalogue=screening.BY_KEY,
                           text=text, networks=networks, findings=findings, errors={})


@admin_bp.post("/<key>")
@roles_required(Role.ADMIN)
def update(key: str) -> Any:
    """Change one rule (admins): on or off, block or warn, its parameters."""
    spec = screening.BY_KEY.get(key)
    if spec is None:
        abort(404)
    params = {name: request.form[name] for name in spec.params if name != "network" and name in request.form}
    try:
        composing.update_rule(current_user, key, enabled="enabled" in request.form,
                             action=request.form.get("action", ""), params=params)
    except DomainError as exc:
        db.session.rollback()
        return render_template("admin/screening.html", rules=composing.screening_rules(), catalogue=screening.BY_KEY,
                               text="", networks=[], findings=None,
                               errors={key: f"{exc.field}: {exc.message}" if exc.field else exc.message}), 422
    flash(f"Rule {spec.label} saved.", "success")
    return redirect(url_for("screening.rules"))


# routes of this blueprint kept in their own modules: the content calendar, the link preview card
from advocacy.content import calendar_views, preview_views  # noqa: E402,F401
