"""Images on Mastodon over real HTTP: upload with a description, wait while the server processes, attach by id."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import pytest
import requests

from connectors.base import AuthRevoked, Media, RateLimited, Rejected, Token, Transient
from connectors.mastodon import MastodonConnector
from sandbox.schemas.mastodon import IMAGE_SIZE_LIMIT

pytestmark = pytest.mark.timeout(60)
NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"


# ------------------------------------------------------------------------------------------------------ images
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(size: int | None = None, width: int = 1, height: int = 1) -> bytes:
    """A PNG header of ``width``×``height``; with ``size``, padded with a comment chunk to exactly that many bytes."""
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    tail = _chunk(b"IDAT", zlib.compress(b"\x00\x1d\x9b\xf0")) + _chunk(b"IEND", b"")
    if size is None:
        return head + tail
    padding = size - len(head) - len(tail) - 12 - len(b"Comment\x00")
    return head + _chunk(b"tEXt", b"Comment\x00" + b"x" * padding) + tail


GIF = b"GIF89a\x02\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x02\x00\x01\x00\x00\x02\x02D\x01" \
      b"\x00;"


def api(sandbox: Any, method: str, path: str, token: Token, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token.access_token}", **kw.pop("headers", {})}
    return requests.request(method, f"{sandbox.url}{path}", headers=headers, timeout=10, **kw)


def upload(sandbox: Any, token: Token, data: bytes, **fields: str) -> requests.Response:
    return api(sandbox, "POST", "/api/v2/media", token, files={"file": ("a.png", data, "image/png")}, data=fields)


def media(sandbox: Any) -> list[dict[str, Any]]:
    return list(sandbox.control("GET", "media")["media"])


# ---------------------------------------------------------------------------------------------------- publishing
def test_publish_with_an_image_and_its_description(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    image = png(width=4, height=2)
    post = mastodon_connector.publish(mastodon_token.access_token, "With a chart", "https://example.com/a",
                                      idempotency_key="k1", media=[Media(image, "image/png", alt="Q3 sales")])
    [stored] = mastodon_sandbox.posts()
    assert stored["id"] == post.id and stored["text"] == "With a chart https://example.com/a"
    [attached] = stored["media"]
    assert attached == {"id": attached["id"], "type": "image", "content_type": "image/png", "size": len(image),
                        "description": "Q3 sales", "processed": True, "status_id": post.id}
    status = api(mastodon_sandbox, "GET", f"/api/v1/statuses/{post.id}", mastodon_token).json()
    [shown] = status["media_attachments"]
    assert shown["id"] == attached["id"] and shown["description"] == "Q3 sales" and shown["type"] == "image"
    assert shown["meta"]["original"] == {"width": 4, "height": 2, "aspect": 2.0}
    assert requests.get(shown["url"], timeout=5).content == image
    page = requests.get(post.url, timeout=5)
    assert f'src="{shown["url"]}" alt="Q3 sales"' in page.text


def test_four_images_in_order(mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token) -> None:
    images = [Media(png(), "image/png", alt="one"), Media(GIF, "image/gif"), Media(png(200), "image/png", alt="3"),
              Media(png(), "image/png", alt="four")]
    mastodon_connector.publish(mastodon_token.access_token, "Four", media=images)
    [stored] = mastodon_sandbox.posts()
    assert [(m["content_type"], m["description"]) for m in stored["media"]] == [
        ("image/png", "one"), ("image/gif", None), ("image/png", "3"), ("image/png", "four")]


def test_large_image_takes_the_202_path_and_is_waited_for(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.config(media_async_over_bytes=1000, media_processing_polls=2)
    mastodon_connector.publish(mastodon_token.access_token, "Big one",
                               media=[Media(png(5000), "image/png", alt="big"), Media(png(), "image/png")])
    [stored] = mastodon_sandbox.posts()
    assert [(m["size"], m["processed"]) for m in stored["media"]] == [(5000, True), (len(png()), True)]


def test_image_still_processing_after_the_timeout_is_transient(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.config(media_async_over_bytes=0, media_processing_polls=1000)
    with pytest.raises(Transient) as slow:
        mastodon_connector.publish(mastodon_token.access_token, "Slow", media=[Media(png(), "image/png")])
    assert "still processing image 1" in slow.value.message
    assert mastodon_sandbox.posts() == []


def test_not_ready_answer_of_the_server_is_transient(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    """A server that says "processed" too early, then refuses the status as not ready: worth a retry."""
    mastodon_sandbox.config(media_async_over_bytes=0, media_processing_polls=5)
    mastodon_sandbox.fault(status=200, count=1, path_prefix="/api/v1/media/", body="{}",
                           content_type="application/json")
    with pytest.raises(Transient) as early:
        mastodon_connector.publish(mastodon_token.access_token, "Early", media=[Media(png(), "image/png")])
    assert early.value.status == 422 and NOT_READY in early.value.message
    assert mastodon_sandbox.posts() == []


def test_retry_with_the_same_key_makes_one_status(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.fault(status=503, count=1, path_prefix="/api/v1/statuses", method="POST", after=True)
    images = [Media(png(), "image/png", alt="chart")]
    with pytest.raises(Transient):
        mastodon_connector.publish(mastodon_token.access_token, "Once", idempotency_key="share-1", media=images)
    post = mastodon_connector.publish(mastodon_token.access_token, "Once", idempotency_key="share-1", media=images)
    [stored] = mastodon_sandbox.posts()
    assert stored["id"] == post.id and [m["description"] for m in stored["media"]] == ["chart"]
    uploads = media(mastodon_sandbox)
    assert len(uploads) == 2 and [m["status_id"] for m in uploads].count(post.id) == 1  # the retry's upload unused


# --------------------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("images", "limit"),
    [
        ([Media(png(), "image/png")] * 5, "at most 4 images"),
        ([Media(b"%PDF-1.7", "application/pdf")], "Mastodon takes PNG, JPEG, GIF, WEBP images"),
        ([Media(b"", "image/png")], "image 1 is empty"),
    ],
)
def test_what_no_server_takes_is_rejected_before_upload(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token, images: list[Media], limit: str
) -> None:
    with pytest.raises(Rejected) as refused:
        mastodon_connector.publish(mastodon_token.access_token, "Refused", media=images)
    assert limit in refused.value.message
    assert mastodon_sandbox.posts() == [] and media(mastodon_sandbox) == []


def test_image_over_16_mb_is_rejected_naming_the_limit(
    mastodon_sandbox: Any, mastodon_make_connector: Any, mastodon_token: Token
) -> None:
    patient = mastodon_make_connector(timeout=20)  # 16 MB through a loaded test machine
    with pytest.raises(Rejected) as refused:
        patient.publish(mastodon_token.access_token, "Huge", media=[Media(png(IMAGE_SIZE_LIMIT), "image/png")])
    assert refused.value.status == 422
    assert refused.value.message == "Mastodon refused image 1: Validation failed: File file size must be less than " \
                                    "16 MB"
    assert mastodon_sandbox.posts() == [] and media(mastodon_sandbox) == []
    assert upload(mastodon_sandbox, mastodon_token, png(IMAGE_SIZE_LIMIT - 1)).status_code == 202  # over 1 MB: async


def test_bytes_that_are_no_image_are_refused_by_the_server(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    with pytest.raises(Rejected) as refused:
        mastodon_connector.publish(mastodon_token.access_token, "PDF", media=[Media(b"%PDF-1.7 ...", "image/png")])
    assert "File content type is invalid" in refused.value.message and refused.value.status == 422
    assert mastodon_sandbox.posts() == []


def test_description_over_1500_characters_is_refused(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    with pytest.raises(Rejected) as refused:
        mastodon_connector.publish(mastodon_token.access_token, "Long alt",
                                   media=[Media(png(), "image/png", alt="a" * 1501)])
    assert "Description is too long (maximum is 1500 characters)" in refused.value.message
    assert mastodon_sandbox.posts() == []


# --------------------------------------------------------------------------------------------- failures mapped
def test_429_on_upload_is_rate_limited_with_reset(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.fault(status=429, count=1, path_prefix="/api/v2/media", reset_in=120)
    with pytest.raises(RateLimited) as limited:
        mastodon_connector.publish(mastodon_token.access_token, "Later", media=[Media(png(), "image/png")])
    assert limited.value.reset_at is not None and limited.value.status == 429
    assert mastodon_sandbox.posts() == []


def test_the_sandbox_counts_uploads_per_account(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.config(rate_limits={"media": 1})
    mastodon_connector.publish(mastodon_token.access_token, "First", media=[Media(png(), "image/png")])
    with pytest.raises(RateLimited) as limited:
        mastodon_connector.publish(mastodon_token.access_token, "Second", media=[Media(png(), "image/png")])
    assert limited.value.reset_at is not None
    assert [p["text"] for p in mastodon_sandbox.posts()] == ["First"]


@pytest.mark.parametrize(("path", "async_over"), [("/api/v2/media", 10**9), ("/api/v1/media/", 0)])
def test_5xx_on_upload_or_status_check_is_transient(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token, path: str, async_over: int
) -> None:
    mastodon_sandbox.config(media_async_over_bytes=async_over)
    mastodon_sandbox.fault(status=503, count=1, path_prefix=path)
    with pytest.raises(Transient):
        mastodon_connector.publish(mastodon_token.access_token, "Outage", media=[Media(png(), "image/png")])
    assert mastodon_sandbox.posts() == []


def test_slow_upload_times_out_as_transient(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.fault(delay=2, count=1, path_prefix="/api/v2/media")
    with pytest.raises(Transient):
        mastodon_connector.publish(mastodon_token.access_token, "Slow", media=[Media(png(), "image/png")])
    assert mastodon_sandbox.posts() == []


def test_revoked_token_on_upload_is_auth_revoked(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.revoke_tokens("alice")
    with pytest.raises(AuthRevoked) as revoked:
        mastodon_connector.publish(mastodon_token.access_token, "Gone", media=[Media(png(), "image/png")])
    assert revoked.value.status == 401


def test_account_connected_without_write_media_must_reconnect(
    mastodon_sandbox: Any, mastodon_flow: Any, mastodon_make_connector: Any
) -> None:
    before = mastodon_make_connector(scopes=("read:accounts", "read:statuses", "write:statuses"))
    token = mastodon_flow.connect(before)
    with pytest.raises(AuthRevoked) as revoked:
        before.publish(token.access_token, "With image", media=[Media(png(), "image/png")])
    assert revoked.value.status == 403 and "write:media" in revoked.value.message
    assert "reconnect" in revoked.value.message
    before.publish(token.access_token, "Words still go out")
    assert [len(p["media"]) for p in mastodon_sandbox.posts()] == [0]


# ----------------------------------------------------------------------------------- the sandbox as Mastodon
def test_upload_answers_200_or_202_then_206_until_processed(mastodon_sandbox: Any, mastodon_token: Token) -> None:
    small = upload(mastodon_sandbox, mastodon_token, png(), description="small", focus="0.5,-0.25")
    assert small.status_code == 200
    body = small.json()
    assert body["url"] and body["description"] == "small" and body["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert int(small.headers["X-RateLimit-Remaining"]) >= 0

    mastodon_sandbox.config(media_processing_polls=2)
    large = upload(mastodon_sandbox, mastodon_token, png(1024 * 1024 + 1))
    assert large.status_code == 202 and large.json()["url"] is None and large.json()["preview_url"]
    media_id = large.json()["id"]
    checks = [api(mastodon_sandbox, "GET", f"/api/v1/media/{media_id}", mastodon_token) for _ in range(3)]
    assert [c.status_code for c in checks] == [206, 206, 200]
    assert [c.json()["url"] is None for c in checks] == [True, True, False]

    early = api(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json={"status": "x"})
    assert early.status_code == 200  # a text status needs no media
    mastodon_sandbox.config(media_processing_polls=1)
    pending = upload(mastodon_sandbox, mastodon_token, png(1024 * 1024 + 1)).json()["id"]
    refused = api(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token,
                  json={"status": "too soon", "media_ids": [pending]})
    assert refused.status_code == 422 and refused.json() == {"error": NOT_READY}


def test_media_of_another_user_or_already_attached_is_not_found(
    mastodon_sandbox: Any, mastodon_flow: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    media_id = upload(mastodon_sandbox, mastodon_token, png()).json()["id"]
    bob = mastodon_flow.connect(mastodon_connector, "bob")
    theirs = api(mastodon_sandbox, "POST", "/api/v1/statuses", bob, json={"status": "Not mine",
                                                                          "media_ids": [media_id]})
    assert theirs.status_code == 422
    assert theirs.json() == {"error": f"Media with ID(s) {media_id} were not found"}
    assert api(mastodon_sandbox, "GET", f"/api/v1/media/{media_id}", bob).status_code == 404
    mine = api(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json={"status": "",
                                                                                   "media_ids": [media_id]})
    assert mine.status_code == 200 and mine.json()["media_attachments"][0]["id"] == media_id  # media alone is a post
    again = api(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json={"status": "Reuse",
                                                                                    "media_ids": [media_id]})
    assert again.status_code == 422 and "were not found" in again.json()["error"]
    assert api(mastodon_sandbox, "GET", f"/api/v1/media/{media_id}", mastodon_token).status_code == 404
    assert [p["text"] for p in mastodon_sandbox.posts()] == [""]


def test_media_ids_as_form_fields_and_more_than_four(mastodon_sandbox: Any, mastodon_token: Token) -> None:
    ids = [upload(mastodon_sandbox, mastodon_token, png()).json()["id"] for _ in range(5)]
    five = api(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, data={"status": "5", "media_ids[]": ids})
    assert five.status_code == 422 and five.json() == {"error": "Cannot attach more than 4 files"}
    two = api(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token,
              data={"status": "2", "media_ids[]": ids[:2]})
    assert two.status_code == 200 and [m["id"] for m in two.json()["media_attachments"]] == ids[:2]


@pytest.mark.parametrize(
    ("files", "fields", "error"),
    [
        ({}, {"description": "no file"}, "Validation failed: File can't be blank"),
        ({"file": ("a", b"", "image/png")}, {}, "Validation failed: File can't be blank"),
        ({"file": ("a", b"hello", "image/png")}, {},
         "Validation failed: File content type is invalid, File is invalid"),
        ({"file": ("a", png(), "image/png"), "thumbnail": ("t", png(), "image/png")}, {},
         "The sandbox does not emulate thumbnail"),
    ],
)
def test_sandbox_refuses_bad_uploads(
    mastodon_sandbox: Any, mastodon_token: Token, files: dict[str, Any], fields: dict[str, str], error: str
) -> None:
    answer = api(mastodon_sandbox, "POST", "/api/v2/media", mastodon_token, files=files or None, data=fields)
    assert answer.status_code == 422 and answer.json() == {"error": error}
    assert media(mastodon_sandbox) == []


def test_type_comes_from_the_bytes(mastodon_sandbox: Any, mastodon_token: Token) -> None:
    answer = api(mastodon_sandbox, "POST", "/api/v2/media", mastodon_token,
                 files={"file": ("a.jpg", GIF, "image/jpeg")})
    assert answer.status_code == 200 and media(mastodon_sandbox)[0]["content_type"] == "image/gif"
    assert answer.json()["url"].endswith(".gif")


def test_upload_needs_write_media(
    mastodon_sandbox: Any, mastodon_flow: Any, mastodon_make_connector: Any
) -> None:
    reader = mastodon_flow.connect(mastodon_make_connector(scopes=("read:accounts", "write:statuses")), "bob")
    refused = upload(mastodon_sandbox, reader, png())
    assert refused.status_code == 403 and refused.json() == {"error": "This action is outside the authorized scopes"}
    broad = MastodonConnector(instance_url=mastodon_sandbox.url, scopes=("read", "write"))
    app = broad.register_app(mastodon_flow.redirect_uri)
    broad = MastodonConnector(instance_url=mastodon_sandbox.url, scopes=("read", "write"), client_id=app.client_id,
                              client_secret=app.client_secret)
    writer = mastodon_flow.connect(broad, "carol")
    assert upload(mastodon_sandbox, writer, png()).status_code == 200  # "write" covers write:media
