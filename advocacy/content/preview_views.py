"""The link preview card on the studio's pages: fetch it again, give the link a title of its own.

Routes of the studio blueprint (``/studio/<id>/link-preview``, ``/studio/<id>/link-title``), and the page's image
allowance: the card's image is loaded from the site it belongs to, so the talking point's page lets exactly that
origin in its Content-Security-Policy (every other page keeps images to this site).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from advocacy.auth import roles_required
from advocacy.content import link_previews, workflow
from advocacy.content.models import TalkingPoint
from advocacy.content.views import EDITORS, _editor_page, bp
from advocacy.errors import DomainError
from advocacy.extensions import db
from advocacy.security import CSP

_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


@bp.app_template_global("link_preview")
def _link_preview(tp_id: int) -> link_previews.LinkPreview | None:
    return link_previews.link_preview(tp_id)


def _talking_point(tp_id: int) -> TalkingPoint:
    tp = db.session.get(TalkingPoint, tp_id)
    if tp is None:
        abort(404)
    return tp


@bp.post("/<int:tp_id>/link-preview")
@roles_required(*EDITORS)
def refetch_link_preview(tp_id: int) -> Any:
    """Fetch the link's page again for its preview card (in the background)."""
    link_previews.refetch(_talking_point(tp_id).id)
    flash("Fetching the link's preview again; it shows here in a moment.", "success")
    return redirect(url_for("content.detail", tp_id=tp_id) + "#link-preview")


@bp.post("/<int:tp_id>/link-title")
@roles_required(*EDITORS)
def set_link_title(tp_id: int) -> Any:
    """Give the link a title of its own (LinkedIn shows it on the article); empty goes back to the page's title."""
    tp = _talking_point(tp_id)
    try:
        workflow.set_link_title(tp, current_user, request.form.get("link_title", ""))
    except DomainError as exc:  # the edit page again, with the message on the field and what was typed kept
        db.session.rollback()
        return _editor_page(tp, {"link_title": exc.message}, exc.status)
    flash("Link title saved.", "success")
    return redirect(url_for("content.detail", tp_id=tp_id) + "#link-preview")


@bp.after_app_request
def _allow_preview_image(response: Response) -> Response:
    """On a talking point's page, let the preview card's image load from its own site (and only that site)."""
    if request.endpoint != "content.detail" or "Content-Security-Policy" in response.headers:
        return response
    preview = link_previews.link_preview((request.view_args or {}).get("tp_id", 0))
    if preview is None or not preview.image_url:
        return response
    parts = urlsplit(preview.image_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if _ORIGIN.fullmatch(origin):
        response.headers["Content-Security-Policy"] = CSP.replace("img-src 'self' data:",
                                                                  f"img-src 'self' data: {origin}")
    return response
