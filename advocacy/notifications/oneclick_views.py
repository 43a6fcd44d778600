"""The page behind a one-tap share link (``/go/<token>``): confirm, then share; never a share on a GET.

GET shows one screen: the talking point's card as the feed shows it, the copy as it will post on that network for
that person, one Share button (a POST form carrying the CSRF token: the session cookie Flask-WTF needs is set by this
very GET, so no login is needed), "Edit first" (the feed) and "Not for me". Mail scanners that follow the link post
nothing. POST claims the link once (``oneclick_uses``), then shares through ``delivery.services.create_share`` with
the link's channel, so every rule of the web holds, and shows the share's live status.

The link acts only for its own person: when someone else is signed in in the browser, the page refuses rather than
share on either account. Expired, reused, forged links, a person deactivated, a talking point withdrawn or no longer
aimed at the person: a page saying why, a 4xx, nothing posted.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from advocacy.accounts.networks import INTENT_LABELS, LABELS
from advocacy.auth import public, roles_required
from advocacy.content import composing
from advocacy.content.link_previews import link_preview
from advocacy.content.models import TalkingPoint
from advocacy.delivery import rules, services
from advocacy.delivery.models import Share
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.notifications.oneclick import REFUSE, Link, LinkRefused, OneClickUse, used, verify
from advocacy.people.models import User

bp = Blueprint("oneclick", __name__)
NAMES = INTENT_LABELS | LABELS
USED = "This link was already used: each link in a message works once."


def init_app(app: Flask) -> None:
    """The one-tap pages, and the e-mail channel whose buttons open them (``channels.register``)."""
    from advocacy.extensions import api, csrf
    from advocacy.notifications import email  # noqa: F401  (registers the "email" channel)
    from advocacy.notifications.email_api import blp

    app.register_blueprint(bp)
    api.register_blueprint(blp)
    csrf.exempt(unsubscribe_post)  # RFC 8058: the mail provider POSTs it; the signed token is the authority


def _load(token: str, *, check_age: bool = True) -> tuple[Link, User, TalkingPoint]:
    """The link, its person and its talking point, or ``LinkRefused`` saying why not."""
    link = verify(token, check_age=check_age)
    user = db.session.get(User, link.user_id)
    if user is None or not user.active:
        raise LinkRefused("This link's account is no longer active here, so nothing can be shared with it.", 403)
    if current_user.is_authenticated and current_user.id != user.id:
        raise LinkRefused(f"This link was sent to someone else, and you are signed in as {current_user.name}. It only "
                          "ever shares for the person it was sent to: sign out first, or open it in their browser. "
                          "Nothing was shared.", 403)
    tp = db.session.get(TalkingPoint, link.talking_point_id)
    if tp is None:
        raise LinkRefused("This talking point no longer exists.", 404)
    return link, user, tp


def _page(status: int = 200, **context: Any) -> Response:
    response = make_response(render_template("notifications/oneclick.html", labels=NAMES, **context), status)
    response.headers["Cache-Control"] = "no-store"  # the token is in the address: keep the page out of caches
    response.headers["Referrer-Policy"] = "no-referrer"  # … and out of the next site's logs
    return response


def _refused(reason: str, status: int, **context: Any) -> Response:
    return _page(status, refused=reason, **context)


def _why(exc: DomainError) -> str:
    return f"Not shared: {exc.message}."


def _share_of(use: OneClickUse | None) -> Share | None:
    return db.session.get(Share, use.share_id) if use is not None and use.share_id else None


def _check(link: Link, user: User, tp: TalkingPoint) -> Response | None:
    """The refusal page when the share would be refused now (the same rule ``create_share`` asks), else None."""
    try:
        rules.check_may_share(user, tp, link.network, posting=link.network in LABELS)
    except rules.AlreadyShared as exc:
        return _refused(f"You already shared this talking point on {NAMES.get(link.network, link.network)}.", 409,
                        tp=tp, share=exc.share)
    except DomainError as exc:
        return _refused(_why(exc), exc.status if exc.status != 422 else 403, tp=tp)
    return None


@bp.get("/go/<token>")
@public
def confirm(token: str) -> Any:
    """One screen: the card, the copy as it will post, one Share button (a POST). Opening it shares nothing."""
    try:
        link, user, tp = _load(token)
    except LinkRefused as exc:
        return _refused(exc.reason, exc.status)
    use = used(link)
    if use is not None:
        return _refused(USED, 410, tp=tp, share=_share_of(use), token=token)
    if link.action == REFUSE:
        return _page(tp=tp, person=user, link=link, token=token, card=link_preview(tp.id))
    refusal = _check(link, user, tp)
    if refusal is not None:
        return refusal
    preview = composing.preview(tp, link.network, None, user.id) if link.network in LABELS else None
    return _page(tp=tp, person=user, link=link, token=token, preview=preview,
                 card=link_preview(tp.id), dialog=link.network not in LABELS)


def _claim(link: Link, action: str) -> OneClickUse | None:
    """Record the link as used, once: None when another request used it first."""
    use = OneClickUse(jti=link.jti, user_id=link.user_id, talking_point_id=link.talking_point_id,
                      network=link.network, channel=link.channel, action=action)
    db.session.add(use)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return use


def _release(use: OneClickUse) -> None:
    """Give the link back after a refused share (a policy to acknowledge first, …): it may be used once it holds."""
    db.session.delete(use)
    db.session.commit()


@bp.post("/go/<token>")
@public
def share(token: str) -> Any:
    """Share through the domain service with the link's channel, then show its live status."""
    try:
        link, user, tp = _load(token)
    except LinkRefused as exc:
        return _refused(exc.reason, exc.status)
    if link.action == REFUSE:
        abort(405)
    use = _claim(link, "share")
    if use is None:
        return _refused(USED, 409, tp=tp, share=_share_of(used(link)), token=token)
    try:
        if link.network in LABELS:
            made, url = services.create_share(user, tp, link.network, channel=link.channel), None
        else:  # a network without a posting API: its own share dialog, recorded "opened"
            made, url = services.open_share_dialog(user, tp, link.network, channel=link.channel)
    except rules.AlreadyShared as exc:
        _release(use)
        return _refused(f"You already shared this talking point on {NAMES.get(link.network, link.network)}.", 409,
                        tp=tp, share=exc.share)
    except DomainError as exc:
        _release(use)
        return _refused(_why(exc), exc.status if exc.status != 422 else 403, tp=tp)
    use.share_id = made.id
    db.session.commit()
    if url is not None:
        return redirect(url, 303)
    return redirect(url_for("oneclick.status", token=token), 303)


@bp.get("/go/<token>/status")
@public
def status(token: str) -> Any:
    """The live status of the share a link made ("Shared on X · posted · view post"); it refreshes itself."""
    try:
        link, _user, tp = _load(token, check_age=False)  # the status stays readable after the link expires
    except LinkRefused as exc:
        return _refused(exc.reason, exc.status)
    made = _share_of(used(link))
    if made is None:
        return redirect(url_for("oneclick.confirm", token=token))
    return _page(tp=tp, done=made, token=token)


@bp.post("/go/<token>/not-for-me")
@public
def not_for_me(token: str) -> Any:
    """The person says this talking point is not for them: the link is used up, nothing is shared."""
    try:
        link, _user, tp = _load(token)
    except LinkRefused as exc:
        return _refused(exc.reason, exc.status)
    if _claim(link, REFUSE) is None:
        return _refused(USED, 409, tp=tp, share=_share_of(used(link)), token=token)
    return _page(tp=tp, declined=True)


@bp.get("/go/<token>/image")
@public
def image(token: str) -> Any:
    """The talking point's approved image, for the link's person (the page has no login for the API's image)."""
    try:
        _link, _user, tp = _load(token, check_age=False)
    except LinkRefused:
        abort(404)
    picture = tp.approved_image
    if picture is None:
        abort(404)
    return Response(picture.data, mimetype=picture.content_type,
                    headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"})


# ------------------------------------------------------------------------------------------------ unsubscribe
def _unsubscribe_target(token: str) -> tuple[User, str]:
    from advocacy.notifications.email import unsubscribe_target

    found = unsubscribe_target(token)
    user = db.session.get(User, found[0]) if found else None
    if found is None or user is None:
        abort(404)
    return user, found[1]


@bp.get("/go/unsubscribe/<token>")
@public
def unsubscribe(token: str) -> Any:
    """A page to confirm stopping these e-mails (a GET changes nothing: scanners follow links)."""
    _user, kind = _unsubscribe_target(token)
    return _page(unsubscribe=kind, token=token)


@bp.post("/go/unsubscribe/<token>")
@public
def unsubscribe_post(token: str) -> Any:
    """Stop these e-mails: announcements take e-mail off the person's channels; the digest is turned off."""
    user, kind = _unsubscribe_target(token)
    if kind == "digest":
        user.digest = "off"
        db.session.commit()
    else:
        from advocacy.notifications import preferences as prefs

        prefs.update(user, {"channels": [c for c in prefs.of(user)["channels"] if c != "email"]})
    if request.form.get("List-Unsubscribe") == "One-Click":  # the mail provider, not a person: no page
        return Response(status=204)
    return _page(unsubscribed=kind)


@bp.post("/preferences/email/again")
@roles_required()
def email_again() -> Any:
    """After the mail server refused my address (and e-mail stopped), try it again (the preferences page's button)."""
    from advocacy.notifications import preferences as prefs

    prefs.channel_set_up(current_user.id, "email")
    flash(f"E-mail goes to {current_user.email} again.", "success")
    return redirect(url_for("delivery.preferences") + "#email")
