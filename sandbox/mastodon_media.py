"""The Mastodon sandbox's image uploads: ``POST /api/v2/media``, ``GET /api/v1/media/<id>``, the files, and
``GET /_sandbox/media``."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, request

from sandbox.common import (
    json_response,
    sniff_image,
)
from sandbox.mastodon_core import (
    _MEDIA_SCHEMA,
    error,
)
from sandbox.mastodon_pages import (
    page,
)
from sandbox.mastodon_state import (
    MastodonState,
)
from sandbox.mastodon_views import (
    attachment_view,
)
from sandbox.mastodon_web import (
    _authorized,
    _validation_failed,
)
from sandbox.schemas.mastodon import (
    IMAGE_MIME_TYPES,
    IMAGE_SIZE_LIMIT,
    MAX_DESCRIPTION_LENGTH,
    MEDIA_NOT_EMULATED,
)


def _focus(raw: str | None) -> tuple[float, float] | None:
    """``"x,y"`` in [-1, 1] each; anything else is ignored, as Mastodon does."""
    try:
        x, y = (float(v) for v in (raw or "").split(","))
    except ValueError:
        return None
    return (x, y) if -1 <= x <= 1 and -1 <= y <= 1 else None


def _uploaded_image() -> tuple[str, bytes, str | None, tuple[float, float] | None]:
    """Type, bytes, description and focus of a valid ``POST /api/v2/media``; Mastodon's 422 otherwise."""
    fields: dict[str, Any] = {k: request.form[k] for k in request.form}
    fields |= {k: "(binary)" for k in request.files}
    _validation_failed(_MEDIA_SCHEMA, fields)
    used = [name for name in MEDIA_NOT_EMULATED if name in fields]
    if used:
        raise error(422, f"The sandbox does not emulate {', '.join(used)}")
    data = request.files["file"].read() if "file" in request.files else b""
    if not data:
        raise error(422, "Validation failed: File can't be blank")
    kind = sniff_image(data)  # Mastodon detects the type from the bytes, whatever the part's Content-Type says
    if kind not in IMAGE_MIME_TYPES:
        raise error(422, "Validation failed: File content type is invalid, File is invalid")
    if len(data) >= IMAGE_SIZE_LIMIT:  # Paperclip's less_than
        raise error(422, f"Validation failed: File file size must be less than {IMAGE_SIZE_LIMIT // 2**20} MB")
    description = fields.get("description") or None
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise error(422, f"Validation failed: Description is too long (maximum is {MAX_DESCRIPTION_LENGTH} "
                         "characters)")
    return kind, data, description, _focus(fields.get("focus"))


def _install_media(app: Flask, state: MastodonState) -> None:
    """``POST /api/v2/media``, ``GET /api/v1/media/<id>`` and the files themselves."""

    @app.post("/api/v2/media")
    def upload_media() -> Response:
        token = _authorized(state, "POST /api/v2/media", ("media", 1))
        attachment = state.store_attachment(token, *_uploaded_image())
        return json_response(attachment_view(attachment), 200 if attachment.processed else 202)

    @app.get("/api/v1/media/<media_id>")
    def get_media(media_id: str) -> Response:
        token = _authorized(state, "GET /api/v1/media/{id}")
        with state.lock:
            attachment = state.own_attachment(token, media_id)
            processing = not attachment.processed
            if processing:
                attachment.polls_left -= 1
            view = attachment_view(attachment)
        if processing:
            view["url"] = None  # this answer was the check that found it still processing
        return json_response(view, 206 if processing else 200)

    @app.get("/system/media_attachments/files/<media_id>/<style>/<name>")
    def media_file(media_id: str, style: str, name: str) -> Response:
        with state.lock:
            attachment = state.attachments.get(media_id)
        if attachment is None or style not in ("original", "small") or not name.startswith(media_id + "."):
            return page("Not found", "<h1>The page you are looking for isn't here.</h1>", 404)
        return Response(attachment.data, 200, mimetype=attachment.content_type)

    @app.get("/_sandbox/media")
    def list_media() -> Response:
        with state.lock:
            return json_response({"media": [state.attachment_record(a) for a in state.attachments.values()]})
