"""The LinkedIn sandbox's Images API: ``POST /rest/images?action=initializeUpload``, the upload ``PUT``,
``GET /rest/images/<urn>`` and the image files."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, Response, request

from sandbox.linkedin_core import (
    _INITIALIZE_SCHEMA,
    restli_error,
)
from sandbox.linkedin_pages import (
    page,
)
from sandbox.linkedin_state import (
    LinkedInState,
)
from sandbox.linkedin_web import (
    _authorized,
    _check_active,
    _json_response,
    _restli_message,
    _versioned,
)


def _install_images(app: Flask, state: LinkedInState) -> None:
    @app.post("/rest/images")
    def initialize_upload() -> Response:
        """``?action=initializeUpload``: the upload URL (on this sandbox) and the image URN, as LinkedIn answers."""
        version = _versioned()
        if request.args.get("action") != "initializeUpload":
            raise restli_error(400, "The sandbox emulates the action initializeUpload on /rest/images",
                               "ILLEGAL_ARGUMENT")  # fmt: skip
        token = _authorized(state, "POST /rest/images", "w_member_social", "images.ACTION.initializeUpload")
        _check_active(state, version)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise restli_error(400, "Cannot parse the request body as a JSON object")
        errors = sorted(_INITIALIZE_SCHEMA.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise restli_error(422, "\n".join(_restli_message(e) for e in errors) + "\n")
        image = state.initialize_image(token, body["initializeUploadRequest"]["owner"])
        query = urlencode({"ca": "vector_feedshare", "cn": "uploads", "m": image.upload_key, "app": token.client_id,
                           "sync": "0", "v": "beta"})  # fmt: skip
        url = f"{request.host_url}dms-uploads/{image.id.rsplit(':', 1)[1]}/uploaded-image/0?{query}"
        return _json_response({"value": {"uploadUrlExpiresAt": int(image.upload_expires_at * 1000), "uploadUrl": url,
                                         "image": image.id}})  # fmt: skip

    @app.put("/dms-uploads/<key>/uploaded-image/0")
    def upload_image(key: str) -> Response:
        token = state.authenticate(request.headers.get("Authorization"))
        state.upload_image(token, key, request.args.get("m", ""), request.get_data(cache=False))
        return Response(status=201)

    @app.get("/rest/images/<path:urn>")
    def get_image(urn: str) -> Response:
        version = _versioned()
        token = _authorized(state, "GET /rest/images", "w_member_social", "images.GET")
        _check_active(state, version)
        return _json_response(state.image_view(token, urn, request.host_url))

    @app.get("/dms/image/<key>")
    def download_image(key: str) -> Response:
        with state.lock:
            image = state.images.get(f"urn:li:image:{key}")
            if image is None or image.data is None or image.status() != "AVAILABLE":
                return page("Not found", "<h1>This image is not available</h1>", 404)
            data, kind = image.data, image.content_type or "application/octet-stream"
        return Response(data, 200, mimetype=kind, headers={"X-Content-Type-Options": "nosniff"})
