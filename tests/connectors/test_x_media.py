"""Images on X over real HTTP: the connector uploads, sets alt text and posts; the sandbox checks it all as X does."""

from __future__ import annotations

import base64
import datetime as dt
import struct
import time
import zlib
from typing import Any

import pytest
import requests

from connectors.base import (
    AuthExpired,
    AuthRevoked,
    Duplicate,
    Media,
    RateLimited,
    Rejected,
    Token,
    Transient,
)
from connectors.x import GIF_MAX_BYTES, IMAGE_MAX_BYTES, XConnector

pytestmark = pytest.mark.timeout(60)
PROBLEMS = "https://api.twitter.com/2/problems/"


# ------------------------------------------------------------------------------------------------------ images
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(size: int | None = None) -> bytes:
    """A real 1×1 PNG; with ``size``, padded with a comment chunk to exactly that many bytes."""
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    tail = _chunk(b"IDAT", zlib.compress(b"\x00\x1d\x9b\xf0")) + _chunk(b"IEND", b"")
    if size is None:
        return head + tail
    padding = size - len(head) - len(tail) - 12 - len(b"Comment\x00")
    assert padding >= 0
    return head + _chunk(b"tEXt", b"Comment\x00" + b"x" * padding) + tail


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00" \
      b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


def gif(size: int) -> bytes:
    """A GIF of exactly ``size`` bytes (the 1×1 image, then bytes after its trailer: still a GIF by its header)."""
    return GIF + b"\x00" * (size - len(GIF))


def api(sandbox: Any, method: str, path: str, token: Token, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token.access_token}", **kw.pop("headers", {})}
    return requests.request(method, f"{sandbox.url}{path}", headers=headers, timeout=10, **kw)


def upload(sandbox: Any, token: Token, data: bytes, content_type: str = "image/png",
           **fields: str) -> requests.Response:
    form = {"media_category": "tweet_image", **fields}
    return api(sandbox, "POST", "/2/media/upload", token, files={"media": ("a.png", data, content_type)}, data=form)


def requests_to(sandbox: Any, path: str) -> list[dict[str, Any]]:
    return [r for r in sandbox.control("GET", "requests")["requests"] if r["path"] == path]


def assert_problem(answer: requests.Response, status: int, message: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = answer.json()
    words = [e.get("message", "") for e in body.get("errors", [])] + [body.get("detail", "")]
    assert any(message in w for w in words), body
    return body


# ---------------------------------------------------------------------------------------------------- publishing
def test_publish_with_an_image_and_its_alt_text(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    image = png()
    post = x_connector.publish(x_token.access_token, "With a chart", "https://example.com/a",
                               media=[Media(image, "image/png", alt="A bar chart of Q3 sales")])
    [stored] = x_sandbox.posts()
    assert stored["id"] == post.id and stored["text"] == "With a chart https://example.com/a"
    [attached] = stored["media"]
    assert attached["type"] == "photo" and attached["content_type"] == "image/png"
    assert attached["alt_text"] == "A bar chart of Q3 sales" and attached["size"] == len(image)
    assert attached["media_key"] == f"3_{attached['media_id']}"
    assert [r["status"] for r in requests_to(x_sandbox, "/2/media/upload")] == [200]
    assert [r["status"] for r in requests_to(x_sandbox, "/2/media/metadata")] == [200]

    page = requests.get(f"{x_sandbox.url}/i/web/status/{post.id}", timeout=5)
    assert f'src="/i/media/{attached["media_key"]}" alt="A bar chart of Q3 sales"' in page.text
    served = requests.get(f"{x_sandbox.url}/i/media/{attached['media_key']}", timeout=5)
    assert served.content == image and served.headers["Content-Type"] == "image/png"


def test_four_images_in_order_alt_text_only_where_given(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    images = [Media(png(), "image/png", alt="first"), Media(JPEG, "image/jpeg"), Media(png(300), "image/png", alt="3"),
              Media(JPEG, "image/jpeg", alt="fourth")]
    x_connector.publish(x_token.access_token, "Four", media=images)
    [stored] = x_sandbox.posts()
    assert [(m["content_type"], m["alt_text"]) for m in stored["media"]] == [
        ("image/png", "first"), ("image/jpeg", None), ("image/png", "3"), ("image/jpeg", "fourth")]
    assert len(requests_to(x_sandbox, "/2/media/upload")) == 4
    assert len(requests_to(x_sandbox, "/2/media/metadata")) == 3  # no empty alt text is sent
    lookup = api(x_sandbox, "GET", "/2/tweets", x_token, params={"ids": stored["id"], "tweet.fields": "attachments"})
    assert lookup.json()["data"][0]["attachments"] == {"media_keys": [m["media_key"] for m in stored["media"]]}


def test_text_only_posts_still_post_without_uploading(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    x_connector.publish(x_token.access_token, "Just words")
    assert x_sandbox.posts()[0]["media"] == []
    assert requests_to(x_sandbox, "/2/media/upload") == []


# --------------------------------------------------------------------------------- refused before any upload
@pytest.mark.parametrize(
    ("media", "limit"),
    [
        ([Media(png(IMAGE_MAX_BYTES + 1), "image/png")], "X takes images up to 5 MB (5,242,880 bytes)"),
        ([Media(gif(GIF_MAX_BYTES + 1), "image/gif")], "X takes GIFs up to 15 MB (15,728,640 bytes)"),
        ([Media(b"%PDF-1.7", "application/pdf")], "X takes JPEG, PNG, WebP or GIF images"),
        ([Media(png(), "image/png")] * 5, "at most 4 images"),
        ([Media(png(), "image/png", alt="a" * 1001)], "X keeps up to 1,000"),
        ([Media(b"", "image/png")], "image 1 is empty"),
    ],
)
def test_images_x_would_refuse_are_rejected_naming_the_limit(
    x_sandbox: Any, x_connector: XConnector, x_token: Token, media: list[Media], limit: str
) -> None:
    with pytest.raises(Rejected) as refused:
        x_connector.publish(x_token.access_token, "Refused", media=media)
    assert limit in refused.value.message
    assert x_sandbox.posts() == []
    assert requests_to(x_sandbox, "/2/media/upload") == []


def test_bytes_that_are_no_image_are_refused_by_x(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    with pytest.raises(Rejected) as refused:
        x_connector.publish(x_token.access_token, "Not an image", media=[Media(b"plain text", "image/png")])
    assert refused.value.status == 400 and "image 1" in refused.value.message
    assert "media type unrecognized" in refused.value.message
    assert x_sandbox.posts() == []


def test_a_type_that_does_not_match_the_bytes_is_refused(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    with pytest.raises(Rejected) as refused:
        x_connector.publish(x_token.access_token, "Mislabelled", media=[Media(JPEG, "image/png")])
    assert "does not match the uploaded file (image/jpeg)" in refused.value.message
    assert x_sandbox.posts() == []


# --------------------------------------------------------------------------------------------- failures mapped
def test_429_on_upload_is_rate_limited_with_reset(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.fault(status=429, count=1, path_prefix="/2/media/upload", reset_in=600)
    with pytest.raises(RateLimited) as limited:
        x_connector.publish(x_token.access_token, "Later", media=[Media(png(), "image/png")])
    assert limited.value.reset_at is not None and limited.value.status == 429
    assert x_sandbox.posts() == []


def test_the_sandbox_counts_uploads_in_their_own_window(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    x_sandbox.config(rate_limits={"POST /2/media/upload": 1})
    x_connector.publish(x_token.access_token, "First", media=[Media(png(), "image/png")])
    with pytest.raises(RateLimited) as limited:
        x_connector.publish(x_token.access_token, "Second", media=[Media(png(), "image/png")])
    assert limited.value.reset_at is not None
    assert [p["text"] for p in x_sandbox.posts()] == ["First"]


@pytest.mark.parametrize("status", [500, 503])
def test_5xx_on_upload_or_alt_text_is_transient(
    x_sandbox: Any, x_connector: XConnector, x_token: Token, status: int
) -> None:
    x_sandbox.fault(status=status, count=1, path_prefix="/2/media/upload")
    with pytest.raises(Transient):
        x_connector.publish(x_token.access_token, "Outage", media=[Media(png(), "image/png")])
    x_sandbox.fault(status=status, count=1, path_prefix="/2/media/metadata")
    with pytest.raises(Transient):
        x_connector.publish(x_token.access_token, "Outage", media=[Media(png(), "image/png", alt="a")])
    assert x_sandbox.posts() == []


def test_slow_upload_times_out_as_transient(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.fault(delay=2, count=1, path_prefix="/2/media/upload")
    with pytest.raises(Transient):
        x_connector.publish(x_token.access_token, "Slow", media=[Media(png(), "image/png")])
    assert x_sandbox.posts() == []


def test_an_upload_left_waiting_by_a_reset_never_reaches_the_next_test(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    """Why ``test_publish_a_gif_in_segments`` once saw a 401 before its two status checks: the upload above, held 2 s
    by its fault after the connector gave up, went on after the next tests had reset the sandbox, met a token the
    reset had forgotten (401) and was journaled as theirs (``/2/media/upload`` is also the status check's path). A
    reset now wakes such a request, which then does nothing and is journaled nowhere."""
    x_sandbox.fault(delay=2, count=1, path_prefix="/2/media/upload")
    with pytest.raises(Transient):
        x_connector.publish(x_token.access_token, "Slow", media=[Media(png(), "image/png")])
    x_sandbox.reset()  # the next test begins while the upload still waits
    deadline = time.monotonic() + 3  # past the fault's 2 s: the old sandbox answered (and journaled) it by then
    while time.monotonic() < deadline:
        assert x_sandbox.control("GET", "requests")["requests"] == []
        time.sleep(0.1)
    assert x_sandbox.control("GET", "media")["media"] == []


def test_expired_token_on_upload_is_auth_expired(x_sandbox: Any, x_connector: XConnector, x_token: Token) -> None:
    x_sandbox.expire_tokens("alice")
    with pytest.raises(AuthExpired):
        x_connector.publish(x_token.access_token, "Expired", media=[Media(png(), "image/png")])
    fresh = x_connector.refresh(x_token)
    x_connector.publish(fresh.access_token, "Expired", media=[Media(png(), "image/png")])
    assert len(x_sandbox.posts()[0]["media"]) == 1


def test_account_connected_without_media_write_must_reconnect(
    x_sandbox: Any, x_flow: Any, x_make_connector: Any
) -> None:
    before = x_make_connector(scopes=("tweet.read", "tweet.write", "users.read", "offline.access"))
    token = x_flow.connect(before)
    with pytest.raises(AuthRevoked) as revoked:
        before.publish(token.access_token, "With image", media=[Media(png(), "image/png")])
    assert revoked.value.status == 403 and "media.write" in revoked.value.message
    assert "reconnect" in revoked.value.message
    assert x_sandbox.posts() == []
    before.publish(token.access_token, "Words still go out")
    now = x_make_connector()
    fresh = x_flow.connect(now)
    now.publish(fresh.access_token, "With image", media=[Media(png(), "image/png")])
    assert [len(p["media"]) for p in x_sandbox.posts()] == [0, 1]


def test_retry_after_a_lost_answer_makes_no_second_post(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    x_sandbox.fault(status=503, count=1, path_prefix="/2/tweets", method="POST", after=True)
    media = [Media(png(), "image/png", alt="chart")]
    with pytest.raises(Transient):
        x_connector.publish(x_token.access_token, "Once https://example.com/r/abc", media=media)
    with pytest.raises(Duplicate):
        x_connector.publish(x_token.access_token, "Once https://example.com/r/abc", media=media)
    since = x_sandbox.posts()[0]["created_at"]
    found = x_connector.find_post(x_token.access_token, "https://example.com/r/abc",
                                  dt.datetime.fromisoformat(since.replace("Z", "+00:00")))
    [stored] = x_sandbox.posts()
    assert found is not None and found.id == stored["id"]
    assert stored["media"][0]["alt_text"] == "chart"
    assert len(x_sandbox.control("GET", "media")["media"]) == 2  # the retry uploaded again; only one is attached
    assert sum(m["attached"] for m in x_sandbox.control("GET", "media")["media"]) == 1


# ------------------------------------------------------------------------------------------ the sandbox as X
def test_media_of_another_user_is_refused(x_sandbox: Any, x_flow: Any, x_connector: XConnector, x_token: Token) -> None:
    media_id = upload(x_sandbox, x_token, png()).json()["data"]["id"]
    bob = x_flow.connect(x_connector, "bob")
    answer = api(x_sandbox, "POST", "/2/tweets", bob, json={"text": "Not mine", "media": {"media_ids": [media_id]}})
    body = assert_problem(answer, 400, "Your media IDs are invalid.")
    assert body["type"] == PROBLEMS + "invalid-request"
    assert body["errors"][0]["parameters"] == {"media.media_ids": [media_id]}
    alt = api(x_sandbox, "POST", "/2/media/metadata", bob, json={"id": media_id,
                                                                  "metadata": {"alt_text": {"text": "mine now"}}})
    assert alt.status_code == 404 and alt.json()["resource_type"] == "media"
    assert x_sandbox.posts() == []
    mine = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Mine", "media": {"media_ids": [media_id]}})
    assert mine.status_code == 201


def test_additional_owners_may_use_an_upload(x_sandbox: Any, x_flow: Any, x_connector: XConnector,
                                             x_token: Token) -> None:
    bob = x_flow.connect(x_connector, "bob")
    bob_id = x_connector.profile(bob.access_token).id
    media_id = upload(x_sandbox, x_token, png(), additional_owners=bob_id).json()["data"]["id"]
    answer = api(x_sandbox, "POST", "/2/tweets", bob, json={"text": "Shared", "media": {"media_ids": [media_id]}})
    assert answer.status_code == 201, answer.text


def test_uploads_expire(x_sandbox: Any, x_token: Token) -> None:
    x_sandbox.config(media_lifetime=0)
    uploaded = upload(x_sandbox, x_token, png())
    assert uploaded.status_code == 200 and uploaded.json()["data"]["expires_after_secs"] == 0
    media_id = uploaded.json()["data"]["id"]
    answer = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Late", "media": {"media_ids": [media_id]}})
    assert_problem(answer, 400, "Your media IDs are invalid.")


def test_upload_answer(x_sandbox: Any, x_token: Token) -> None:
    answer = upload(x_sandbox, x_token, png(), media_type="image/png")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    data = answer.json()["data"]
    assert data["id"].isdigit() and data["media_key"] == f"3_{data['id']}"
    assert data["size"] == len(png()) and data["expires_after_secs"] == 86400
    assert int(answer.headers["x-rate-limit-remaining"]) == 499


def test_upload_as_json_with_base64(x_sandbox: Any, x_token: Token) -> None:
    body = {"media": base64.b64encode(JPEG).decode(), "media_category": "tweet_image", "media_type": "image/jpeg"}
    answer = api(x_sandbox, "POST", "/2/media/upload", x_token, json=body)
    assert answer.status_code == 200, answer.text
    [stored] = x_sandbox.control("GET", "media")["media"]
    assert stored["content_type"] == "image/jpeg" and stored["size"] == len(JPEG)
    broken = api(x_sandbox, "POST", "/2/media/upload", x_token, json=body | {"media": "not base64!"})
    assert_problem(broken, 400, "$.media: is not a base64 encoded file")


def test_image_over_5_mb_is_refused_by_the_sandbox(x_sandbox: Any, x_token: Token) -> None:
    assert_problem(upload(x_sandbox, x_token, png(IMAGE_MAX_BYTES + 1)), 400, "File size exceeds 5242880 bytes.")
    assert upload(x_sandbox, x_token, png(IMAGE_MAX_BYTES)).status_code == 200


@pytest.mark.parametrize(
    ("fields", "data", "message"),
    [
        ({}, png(), "'media_category' is a required property"),
        ({"media_category": "tweet_video"}, png(), "$.media_category"),
        ({"media_category": "dm_image"}, png(), "does not emulate media_category dm_image"),
        ({"media_category": "tweet_image", "media_type": "image/gif"}, GIF, "$.media_type"),
        ({"media_category": "tweet_image"}, GIF, "Unsupported media type image/gif"),
        ({"media_category": "tweet_image"}, b"hello", "media type unrecognized."),
        ({"media_category": "tweet_image", "colour": "red"}, png(), "$.colour: is not defined in the schema"),
        ({"media_category": "tweet_image", "shared": "maybe"}, png(), "$.shared"),
        ({"media_category": "tweet_image", "additional_owners": "bob"}, png(), "$.additional_owners[0]"),
    ],
)
def test_sandbox_refuses_bad_uploads(
    x_sandbox: Any, x_token: Token, fields: dict[str, str], data: bytes, message: str
) -> None:
    answer = api(x_sandbox, "POST", "/2/media/upload", x_token, files={"media": ("f", data, "image/png")}, data=fields)
    assert assert_problem(answer, 400, message)["title"] == "Invalid Request"
    assert x_sandbox.control("GET", "media")["media"] == []


def test_upload_without_a_file_or_in_another_encoding(x_sandbox: Any, x_token: Token) -> None:
    no_file = api(x_sandbox, "POST", "/2/media/upload", x_token, files={"other": ("f", b"x")},
                  data={"media_category": "tweet_image"})
    assert_problem(no_file, 400, "'media' is a required property")
    form = api(x_sandbox, "POST", "/2/media/upload", x_token, data={"media_category": "tweet_image"})
    assert_problem(form, 400, "multipart/form-data or application/json")


def test_upload_needs_the_media_write_scope_and_a_live_token(
    x_sandbox: Any, x_flow: Any, x_make_connector: Any, x_token: Token
) -> None:
    reader = x_flow.connect(x_make_connector(scopes=("tweet.read", "tweet.write", "users.read")))
    assert_problem(upload(x_sandbox, reader, png()), 403, "Missing required OAuth 2.0 scopes: media.write")
    x_sandbox.expire_tokens("alice")
    assert upload(x_sandbox, x_token, png()).status_code == 401


def test_alt_text_rules(x_sandbox: Any, x_token: Token) -> None:
    media_id = upload(x_sandbox, x_token, png()).json()["data"]["id"]
    set_alt = api(x_sandbox, "POST", "/2/media/metadata", x_token,
                  json={"id": media_id, "metadata": {"alt_text": {"text": "A cat"}}})
    assert set_alt.status_code == 200
    assert set_alt.json() == {"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": "A cat"}}}}
    too_long = api(x_sandbox, "POST", "/2/media/metadata", x_token,
                   json={"id": media_id, "metadata": {"alt_text": {"text": "a" * 1001}}})
    assert_problem(too_long, 400, "$.metadata.alt_text.text")
    other = api(x_sandbox, "POST", "/2/media/metadata", x_token,
                json={"id": media_id, "metadata": {"sensitive_media_warning": {"adult_content": True}}})
    assert_problem(other, 400, "does not emulate metadata sensitive_media_warning")
    unknown = api(x_sandbox, "POST", "/2/media/metadata", x_token, json={"id": "1234"})
    assert_problem(unknown, 404, "Could not find media with id: [1234].")
    assert x_sandbox.control("GET", "media")["media"][0]["alt_text"] == "A cat"


def test_media_only_post_and_too_many_ids(x_sandbox: Any, x_token: Token) -> None:
    ids = [upload(x_sandbox, x_token, png()).json()["data"]["id"] for _ in range(5)]
    alone = api(x_sandbox, "POST", "/2/tweets", x_token, json={"media": {"media_ids": ids[:1]}})
    assert alone.status_code == 201 and alone.json()["data"]["text"] == ""
    five = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Five", "media": {"media_ids": ids}})
    assert_problem(five, 400, "$.media.media_ids")


# ------------------------------------------------------------------------------------ GIFs: the chunked upload
def test_publish_a_gif_in_segments(x_sandbox: Any, x_make_connector: Any, x_flow: Any) -> None:
    x_sandbox.config(gif_check_after_secs=0, gif_processing_polls=2)
    patient = x_make_connector(timeout=10)  # 9 MB through a loaded test machine
    token = x_flow.connect(patient)
    image = gif(9 * 1024 * 1024)
    patient.publish(token.access_token, "Animated", media=[Media(image, "image/gif", alt="A spinning logo")])
    [stored] = x_sandbox.posts()
    [attached] = stored["media"]
    assert attached["type"] == "animated_gif" and attached["media_key"].startswith("16_")
    assert attached["alt_text"] == "A spinning logo" and attached["size"] == len(image)
    media_id = attached["media_id"]
    assert len(requests_to(x_sandbox, "/2/media/upload/initialize")) == 1
    assert len(requests_to(x_sandbox, f"/2/media/upload/{media_id}/append")) == 3  # 4 + 4 + 1 MB
    assert len(requests_to(x_sandbox, f"/2/media/upload/{media_id}/finalize")) == 1
    assert [r["status"] for r in requests_to(x_sandbox, "/2/media/upload")] == [200, 200]  # two status checks
    served = requests.get(f"{x_sandbox.url}/i/media/{attached['media_key']}", timeout=10)
    assert served.content == image


def test_gif_still_processing_after_the_timeout_is_transient(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    x_sandbox.config(gif_check_after_secs=0, gif_processing_polls=1000)
    with pytest.raises(Transient) as slow:
        x_connector.publish(x_token.access_token, "Slow GIF", media=[Media(GIF, "image/gif")])
    assert "still processing image 1" in slow.value.message
    assert x_sandbox.posts() == []


@pytest.mark.parametrize("path", ["/2/media/upload/initialize", "/2/media/upload/1", "/2/media/upload?"])
def test_failures_during_the_chunked_upload_are_mapped(
    x_sandbox: Any, x_connector: XConnector, x_token: Token, path: str
) -> None:
    x_sandbox.config(gif_check_after_secs=0)
    prefix = path.rstrip("?")
    method = "GET" if path.endswith("?") else "POST"
    x_sandbox.fault(status=503, count=1, path_prefix=prefix, method=method)
    with pytest.raises(Transient):
        x_connector.publish(x_token.access_token, "GIF outage", media=[Media(GIF, "image/gif")])
    x_sandbox.fault(status=429, count=1, path_prefix=prefix, method=method)
    with pytest.raises(RateLimited):
        x_connector.publish(x_token.access_token, "GIF outage", media=[Media(GIF, "image/gif")])
    assert x_sandbox.posts() == []
    x_connector.publish(x_token.access_token, "GIF outage", media=[Media(GIF, "image/gif")])
    assert [p["media"][0]["type"] for p in x_sandbox.posts()] == ["animated_gif"]


def init(sandbox: Any, token: Token, **body: Any) -> requests.Response:
    return api(sandbox, "POST", "/2/media/upload/initialize", token,
               json={"media_type": "image/gif", "media_category": "tweet_gif", **body})


def append(sandbox: Any, token: Token, media_id: str, index: Any, data: bytes) -> requests.Response:
    return api(sandbox, "POST", f"/2/media/upload/{media_id}/append", token, files={"media": ("s", data)},
               data={"segment_index": str(index)})


def test_the_chunked_upload_as_x_answers_it(x_sandbox: Any, x_flow: Any, x_connector: XConnector,
                                            x_token: Token) -> None:
    started = init(x_sandbox, x_token, total_bytes=len(GIF))
    assert started.status_code == 200
    media_id = started.json()["data"]["id"]
    assert started.json()["data"]["media_key"] == f"16_{media_id}"
    assert append(x_sandbox, x_token, media_id, 1, GIF[20:]).status_code == 200  # segments may come in any order
    appended = append(x_sandbox, x_token, media_id, 0, GIF[:20])
    assert appended.status_code == 200 and appended.json()["data"]["expires_at"] > 0
    early = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Early", "media": {"media_ids": [media_id]}})
    assert_problem(early, 400, "Your media IDs are invalid.")  # not finalized

    finalized = api(x_sandbox, "POST", f"/2/media/upload/{media_id}/finalize", x_token)
    assert finalized.status_code == 200
    assert finalized.json()["data"]["processing_info"] == {"state": "pending", "check_after_secs": 1,
                                                           "progress_percent": 0}
    early = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Early", "media": {"media_ids": [media_id]}})
    assert_problem(early, 400, "Your media IDs are invalid.")  # still processing
    again = api(x_sandbox, "POST", f"/2/media/upload/{media_id}/finalize", x_token)
    assert_problem(again, 400, "already finalized")

    bob = x_flow.connect(x_connector, "bob")
    theirs = api(x_sandbox, "GET", "/2/media/upload", bob, params={"command": "STATUS", "media_id": media_id})
    assert_problem(theirs, 404, f"Could not find media with id: [{media_id}].")
    status = api(x_sandbox, "GET", "/2/media/upload", x_token, params={"command": "STATUS", "media_id": media_id})
    assert status.status_code == 200
    assert status.json()["data"]["processing_info"] == {"state": "succeeded", "progress_percent": 100}
    posted = api(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Now", "media": {"media_ids": [media_id]}})
    assert posted.status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"total_bytes": GIF_MAX_BYTES + 1}, "File size exceeds 15728640 bytes."),
        ({"total_bytes": 10, "media_type": "image/png"}, "Unsupported media type image/png for media_category"),
        ({"total_bytes": 10, "media_category": "tweet_video", "media_type": "video/mp4"},
         "does not emulate media_category tweet_video"),
        ({"total_bytes": "10"}, "$.total_bytes: string found, integer expected"),
        ({"total_bytes": 10, "colour": "red"}, "$.colour: is not defined in the schema"),
        ({}, "'total_bytes' is a required property"),
    ],
)
def test_sandbox_refuses_bad_initializations(x_sandbox: Any, x_token: Token, body: dict[str, Any],
                                             message: str) -> None:
    assert_problem(init(x_sandbox, x_token, **body), 400, message)
    assert x_sandbox.control("GET", "media")["media"] == []


def test_sandbox_checks_segments_at_finalize(x_sandbox: Any, x_token: Token) -> None:
    media_id = init(x_sandbox, x_token, total_bytes=len(GIF) + 1).json()["data"]["id"]
    append(x_sandbox, x_token, media_id, 0, GIF)
    short = api(x_sandbox, "POST", f"/2/media/upload/{media_id}/finalize", x_token)
    assert_problem(short, 400, "Segments do not add up to provided total file size.")
    png_id = init(x_sandbox, x_token, total_bytes=len(png())).json()["data"]["id"]
    append(x_sandbox, x_token, png_id, 0, png())
    mislabelled = api(x_sandbox, "POST", f"/2/media/upload/{png_id}/finalize", x_token)
    assert_problem(mislabelled, 400, "media_type image/gif does not match the uploaded file (image/png)")
    assert_problem(append(x_sandbox, x_token, media_id, 1000, b"x"), 400, "$.segment_index")
    assert_problem(append(x_sandbox, x_token, "1234", 0, b"x"), 404, "Could not find media with id: [1234].")
    too_big = append(x_sandbox, x_token, media_id, 1, b"\x00" * (5 * 1024 * 1024 + 1))
    assert_problem(too_big, 400, "Segment size exceeds 5242880 bytes.")
