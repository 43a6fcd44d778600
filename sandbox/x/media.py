"""Image upload in one request, the chunked upload (GIFs) and the alt text, as X answers them."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, request

from sandbox.common import sniff_image
from sandbox.schemas.x import (
    CHUNKED_CATEGORIES,
    GIF_MAX_BYTES,
    IMAGE_MAX_BYTES,
    IMAGE_TYPES_ONE_SHOT,
    METADATA_NOT_EMULATED,
    SEGMENT_MAX_BYTES,
)
from sandbox.x.core import _APPEND_SCHEMA, _INIT_SCHEMA, _METADATA_SCHEMA, _UPLOAD_SCHEMA, NUMERIC_ID, invalid_request
from sandbox.x.pages import page
from sandbox.x.state import Upload, XState
from sandbox.x.web import _authorized, _json_response, _only_params, _schema_message


def _upload_fields() -> tuple[dict[str, Any], bytes | None]:
    """The fields of a ``POST /2/media/upload`` body (JSON, or multipart/form-data) and the file's bytes, if any.

    Multipart form fields are strings: ``shared`` is read as a boolean and ``additional_owners`` as comma-separated
    ids (or repeated fields), so one schema checks both encodings.
    """
    if request.mimetype == "multipart/form-data":
        fields: dict[str, Any] = {k: request.form[k] for k in request.form if k != "additional_owners"}
        owners = [o.strip() for v in request.form.getlist("additional_owners") for o in v.split(",") if o.strip()]
        if owners:
            fields["additional_owners"] = owners
        if "shared" in fields:
            fields["shared"] = {"true": True, "false": False}.get(fields["shared"].lower(), fields["shared"])
        file = request.files.get("media")
        if file is None:
            return fields, None
        fields["media"] = "(binary)"
        return fields, file.read()
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise invalid_request("The request body is not valid JSON.")
        return body, None
    raise invalid_request("The request body must be multipart/form-data or application/json.")


def _uploaded_image(fields: Mapping[str, Any], data: bytes | None) -> tuple[str, bytes]:
    """The type and bytes of a valid one-shot image upload; raises the 400 X answers otherwise."""
    errors = sorted(_UPLOAD_SCHEMA.iter_errors(fields), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise invalid_request(*(_schema_message(e) for e in errors))
    category = fields["media_category"]
    if category != "tweet_image":
        raise invalid_request(f"The sandbox does not emulate media_category {category}; it takes tweet_image.",
                              parameters={"media_category": [category]})
    if data is None:
        data = _base64_media(fields)
    if not data:
        raise invalid_request("$.media: the file is empty")
    if len(data) > IMAGE_MAX_BYTES:
        raise invalid_request(f"File size exceeds {IMAGE_MAX_BYTES} bytes.",
                              parameters={"media_category": [category]})
    kind = sniff_image(data)
    if kind is None:
        raise invalid_request("media type unrecognized.")
    if kind not in IMAGE_TYPES_ONE_SHOT:
        raise invalid_request(f"Unsupported media type {kind} for media_category {category}; one upload takes "
                              f"{', '.join(IMAGE_TYPES_ONE_SHOT)}.")
    declared = str(fields.get("media_type", kind)).replace("image/pjpeg", "image/jpeg")
    if declared != kind:
        raise invalid_request(f"media_type {fields['media_type']} does not match the uploaded file ({kind}).",
                              parameters={"media_type": [str(fields["media_type"])]})
    return kind, data


def _base64_media(fields: Mapping[str, Any]) -> bytes:
    try:
        return base64.b64decode(str(fields["media"]), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_request("$.media: is not a base64 encoded file", parameters={"media": ["(data)"]}) from None


def _upload_status(state: XState, upload: Upload, *, checking: bool) -> dict[str, Any]:
    """An upload as finalize and the status check answer it; a status check moves processing one step on."""
    with state.lock:
        answer: dict[str, Any] = {"id": upload.id, "media_key": upload.media_key, "size": len(upload.data),
                                  "expires_after_secs": max(round(upload.expires_at - time.time()), 0)}
        if checking and upload.polls_left > 0:
            upload.polls_left -= 1
        if upload.polls_left > 0:
            done = state.config.gif_processing_polls - upload.polls_left
            answer["processing_info"] = {
                "state": "in_progress" if checking else "pending",
                "check_after_secs": state.config.gif_check_after_secs,
                "progress_percent": 100 * done // max(state.config.gif_processing_polls, 1),
            }
        elif checking or upload.category == "tweet_gif":
            answer["processing_info"] = {"state": "succeeded", "progress_percent": 100}
        return answer


def _install_media(app: Flask, state: XState) -> None:
    """``POST /2/media/upload`` (one request, images for posts) and ``POST /2/media/metadata`` (alt text)."""

    @app.post("/2/media/upload")
    def upload_media() -> Response:
        token = _authorized(state, "POST /2/media/upload")
        fields, data = _upload_fields()
        kind, data = _uploaded_image(fields, data)
        upload = state.store_upload(token, kind, data, list(fields.get("additional_owners", [])))
        left = max(round(upload.expires_at - time.time()), 0)
        answer = {"id": upload.id, "media_key": upload.media_key, "size": len(upload.data), "expires_after_secs": left}
        return _json_response({"data": answer})

    @app.post("/2/media/metadata")
    def media_metadata() -> Response:
        token = _authorized(state, "POST /2/media/metadata")
        body = request.get_json(silent=True)
        if body is None:
            raise invalid_request("The request body is not valid JSON.")
        errors = sorted(_METADATA_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise invalid_request(*(_schema_message(e) for e in errors))
        metadata = body.get("metadata") or {}
        used = [name for name in METADATA_NOT_EMULATED if name in metadata]
        if used:
            raise invalid_request(f"The sandbox does not emulate metadata {', '.join(used)}; it takes alt_text.")
        with state.lock:
            upload = state.finalized_upload(token, body["id"])
            if "alt_text" in metadata:
                upload.alt_text = metadata["alt_text"]["text"]
            associated = {"alt_text": {"text": upload.alt_text}} if upload.alt_text is not None else {}
        return _json_response({"data": {"id": upload.id, "associated_metadata": associated}})

    @app.get("/i/media/<media_key>")
    def media_file(media_key: str) -> Response:
        with state.lock:
            upload = next((u for u in state.uploads.values() if u.media_key == media_key), None)
        if upload is None:
            return page("Not found", "<h1>Hmm… this page doesn’t exist.</h1>", 404)
        return Response(upload.data, 200, mimetype=upload.content_type)

    @app.get("/_sandbox/media")
    def list_media() -> Response:
        with state.lock:
            return _json_response({"media": [state.upload_view(u) for u in state.uploads.values()]})


def _checked_init() -> tuple[dict[str, Any], str]:
    """The body and category of a valid ``POST /2/media/upload/initialize``; the 400 X answers otherwise."""
    body = request.get_json(silent=True)
    if body is None:
        raise invalid_request("The request body is not valid JSON.")
    errors = sorted(_INIT_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise invalid_request(*(_schema_message(e) for e in errors))
    for name in ("media_type", "total_bytes"):
        if name not in body:
            raise invalid_request(f"$: '{name}' is a required property")
    category = str(body.get("media_category", "tweet_image"))
    if category not in CHUNKED_CATEGORIES:
        raise invalid_request(f"The sandbox does not emulate media_category {category}; it takes "
                              f"{', '.join(CHUNKED_CATEGORIES)}.", parameters={"media_category": [category]})
    if body["media_type"] not in CHUNKED_CATEGORIES[category]:
        raise invalid_request(f"Unsupported media type {body['media_type']} for media_category {category}.",
                              parameters={"media_type": [body["media_type"]]})
    limit = GIF_MAX_BYTES if category == "tweet_gif" else IMAGE_MAX_BYTES
    if body["total_bytes"] > limit:
        raise invalid_request(f"File size exceeds {limit} bytes.",
                              parameters={"total_bytes": [str(body["total_bytes"])]})
    return body, category


def _install_chunked(app: Flask, state: XState) -> None:
    """The chunked upload: initialize, append segments, finalize, and the status check while X processes."""

    @app.post("/2/media/upload/initialize")
    def initialize_upload() -> Response:
        token = _authorized(state, "POST /2/media/upload/initialize")
        body, category = _checked_init()
        upload = state.store_upload(token, body["media_type"], b"", list(body.get("additional_owners", [])),
                                    category, body["total_bytes"])
        left = max(round(upload.expires_at - time.time()), 0)
        return _json_response({"data": {"id": upload.id, "media_key": upload.media_key, "expires_after_secs": left}})

    @app.post("/2/media/upload/<media_id>/append")
    def append_upload(media_id: str) -> Response:
        token = _authorized(state, "POST /2/media/upload/:id/append")
        fields, data = _upload_fields()
        errors = sorted(_APPEND_SCHEMA.iter_errors(fields), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise invalid_request(*(_schema_message(e) for e in errors))
        if data is None:
            data = _base64_media(fields)
        if len(data) > SEGMENT_MAX_BYTES:
            raise invalid_request(f"Segment size exceeds {SEGMENT_MAX_BYTES} bytes.")
        with state.lock:
            upload = state.unfinished_upload(token, media_id)
            upload.segments[int(fields["segment_index"])] = data
            return _json_response({"data": {"expires_at": int(upload.expires_at)}})

    @app.post("/2/media/upload/<media_id>/finalize")
    def finalize_upload(media_id: str) -> Response:
        token = _authorized(state, "POST /2/media/upload/:id/finalize")
        upload = state.finalize_upload(token, media_id)
        return _json_response({"data": _upload_status(state, upload, checking=False)})

    @app.get("/2/media/upload")
    def upload_status() -> Response:
        token = _authorized(state, "GET /2/media/upload")
        _only_params("media_id", "command")
        if request.args.get("command", "STATUS") != "STATUS":
            raise invalid_request(f"The `command` query parameter value [{request.args['command']}] is not one of "
                                  "[STATUS]")
        media_id = request.args.get("media_id", "")
        if not NUMERIC_ID.match(media_id):
            raise invalid_request(f"The `media_id` query parameter value [{media_id}] does not match ^[0-9]{{1,19}}$")
        with state.lock:
            upload = state.finalized_upload(token, media_id)
            return _json_response({"data": _upload_status(state, upload, checking=True)})
