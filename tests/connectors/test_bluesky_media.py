"""Images on Bluesky over real HTTP: uploadBlob, the app.bsky.embed.images embed, and every failure mapped."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests

from connectors.base import AuthExpired, Media, RateLimited, Rejected, Token, Transient
from connectors.bluesky import BlueskyConnector, jwt_claims
from tests.connectors.imagefiles import png

pytestmark = pytest.mark.timeout(30)
LINK = "https://example.com/r/abc123"


def xrpc(sandbox: Any, method: str, nsid: str, token: Token | None, **kw: Any) -> requests.Response:
    headers = ({"Authorization": f"Bearer {token.access_token}"} if token else {}) | kw.pop("headers", {})
    return requests.request(method, f"{sandbox.url}/xrpc/{nsid}", headers=headers, timeout=5, **kw)


def upload(sandbox: Any, token: Token, data: bytes, content_type: str = "image/png") -> requests.Response:
    headers = {"Content-Type": content_type}
    return xrpc(sandbox, "POST", "com.atproto.repo.uploadBlob", token, data=data, headers=headers)


def create(sandbox: Any, token: Token, embed: dict[str, Any]) -> requests.Response:
    record = {"$type": "app.bsky.feed.post", "text": "Look", "createdAt": "2026-01-02T03:04:05.000Z", "embed": embed}
    body = {"repo": jwt_claims(token.access_token)["sub"], "collection": "app.bsky.feed.post", "record": record}
    return xrpc(sandbox, "POST", "com.atproto.repo.createRecord", token, json=body)


def armed(sandbox: Any) -> list[dict[str, Any]]:
    return sandbox.control("GET", "faults")["faults"]


# ---------------------------------------------------------------------------------------------------- posting
def test_a_post_with_an_image_carries_it_with_its_alt_text(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    data = png(30, 20)
    post = bluesky_connector.publish(
        bluesky_token.access_token, "Our new plant", LINK, media=[Media(data, "image/png", alt="The plant at dawn")]
    )
    (stored,) = bluesky_sandbox.posts()
    assert stored["id"] == post.id
    embed = stored["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    (image,) = embed["images"]
    assert image["alt"] == "The plant at dawn" and image["aspectRatio"] == {"width": 30, "height": 20}
    assert (image["image"]["$type"], image["image"]["mimeType"], image["image"]["size"]) == ("blob", "image/png",
                                                                                             len(data))
    # the blob the post names is the bytes we sent, served by the PDS
    fetched = xrpc(bluesky_sandbox, "GET", "com.atproto.sync.getBlob", None,
                   params={"did": stored["author_id"], "cid": image["image"]["ref"]["$link"]})  # fmt: skip
    assert fetched.status_code == 200 and fetched.content == data and fetched.headers["Content-Type"] == "image/png"
    page = requests.get(post.url, timeout=5).text
    assert 'alt="The plant at dawn"' in page


def test_link_and_image_the_link_stays_a_facet_in_the_text(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_connector.publish(bluesky_token.access_token, "Read this 🌱", LINK, media=[Media(png(), "image/png")])
    (stored,) = bluesky_sandbox.posts()
    assert stored["text"] == f"Read this 🌱 {LINK}"
    assert stored["links"] == [{"uri": LINK, "byteStart": len("Read this 🌱 ".encode()),
                                "byteEnd": len(f"Read this 🌱 {LINK}".encode()), "text": LINK}]  # fmt: skip
    assert stored["record"]["embed"]["$type"] == "app.bsky.embed.images"  # no external card beside the images
    assert stored["images"][0]["alt"] == ""  # alt is required by the lexicon: an empty one is sent, never left out


def test_four_images_in_order(bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token) -> None:
    media = [Media(png(1 + i, 1, rgb=(i, i, i)), "image/png", alt=f"step {i}") for i in range(4)]
    bluesky_connector.publish(bluesky_token.access_token, "Four steps", media=media)
    (stored,) = bluesky_sandbox.posts()
    assert [i["alt"] for i in stored["images"]] == ["step 0", "step 1", "step 2", "step 3"]
    assert [i["size"] for i in stored["images"]] == [len(m.data) for m in media]


# ---------------------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("media", "words"),
    [
        ([Media(png(size=2_000_001), "image/png")], "at most 2,000,000 bytes"),
        ([Media(b"<svg/>", "image/svg+xml")], "PNG, JPEG, GIF or WebP"),
        ([Media(png(), "image/png")] * 5, "at most 4 images"),
        ([Media(b"", "image/png")], "empty"),
    ],
)
def test_images_bluesky_would_refuse_are_rejected_before_anything_is_sent(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token, media: list[Media], words: str
) -> None:
    bluesky_sandbox.fault(status=500, path_prefix="/xrpc/com.atproto.repo.uploadBlob")  # would fail any upload
    with pytest.raises(Rejected) as refused:
        bluesky_connector.publish(bluesky_token.access_token, "Too much", LINK, media=media)
    assert words in refused.value.message
    assert bluesky_sandbox.posts() == []
    assert len(armed(bluesky_sandbox)) == 1  # still armed: nothing was uploaded


def test_an_image_of_the_largest_size_goes_through(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_connector.publish(bluesky_token.access_token, "Big", media=[Media(png(size=2_000_000), "image/png")])
    (stored,) = bluesky_sandbox.posts()
    assert stored["images"][0]["size"] == 2_000_000


def test_the_pds_upload_limit_is_rejected_with_its_words(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.config(blob_upload_limit=1000)  # a self-hosted PDS with a small limit
    with pytest.raises(Rejected) as refused:
        bluesky_connector.publish(bluesky_token.access_token, "Big", media=[Media(png(size=1500), "image/png")])
    assert refused.value.status == 413 and "too large" in refused.value.message
    assert bluesky_sandbox.posts() == []


def test_another_repos_blob_is_the_pds_refusal(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token, monkeypatch: pytest.MonkeyPatch
) -> None:
    bluesky_sandbox.user("bob.bsky.social", app_password="bbbb-cccc-dddd-eeee")
    bob = bluesky_connector.create_session("bob.bsky.social", "bbbb-cccc-dddd-eeee")
    bobs = upload(bluesky_sandbox, bob, png()).json()["blob"]
    answer = create(bluesky_sandbox, bluesky_token, {"$type": "app.bsky.embed.images",
                                                     "images": [{"image": bobs, "alt": "not mine"}]})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json() == {"error": "BlobNotFound", "message": f"Could not find blob: {bobs['ref']['$link']}"}
    # the connector maps that answer: an upload that named another repo's blob
    monkeypatch.setattr(BlueskyConnector, "_image", lambda self, token, media: {"image": bobs, "alt": "x"})
    with pytest.raises(Rejected) as refused:
        bluesky_connector.publish(bluesky_token.access_token, "Borrowed", media=[Media(png(), "image/png")])
    assert refused.value.status == 400 and "Could not find blob" in refused.value.message
    assert bluesky_sandbox.posts() == []


def test_the_sandbox_checks_the_blob_against_what_was_uploaded(bluesky_sandbox: Any, bluesky_token: Token) -> None:
    blob = upload(bluesky_sandbox, bluesky_token, png()).json()["blob"]
    wrong_type = create(bluesky_sandbox, bluesky_token, {"$type": "app.bsky.embed.images", "images": [
        {"image": blob | {"mimeType": "image/jpeg"}, "alt": "a"}]})  # fmt: skip
    assert wrong_type.status_code == 400 and wrong_type.json()["error"] == "InvalidMimeType"
    wrong_size = create(bluesky_sandbox, bluesky_token, {"$type": "app.bsky.embed.images", "images": [
        {"image": blob | {"size": 1}, "alt": "a"}]})  # fmt: skip
    assert wrong_size.status_code == 400 and wrong_size.json()["error"] == "InvalidSize"
    card = create(bluesky_sandbox, bluesky_token, {"$type": "app.bsky.embed.external", "external": {
        "uri": LINK, "title": "t", "description": "d"}})  # fmt: skip
    assert card.status_code == 400 and "app.bsky.embed.images embeds only" in card.json()["message"]
    assert bluesky_sandbox.posts() == []
    unauthenticated = upload(bluesky_sandbox, None, png())  # type: ignore[arg-type]
    assert unauthenticated.status_code == 401 and unauthenticated.json()["error"] == "AuthMissing"


def test_upload_sniffs_the_type_as_the_pds_does(bluesky_sandbox: Any, bluesky_token: Token) -> None:
    answer = upload(bluesky_sandbox, bluesky_token, png(), "image/jpeg")
    assert answer.status_code == 200 and answer.json()["blob"]["mimeType"] == "image/png"
    empty = upload(bluesky_sandbox, bluesky_token, b"")
    assert empty.status_code == 400 and empty.json() == {
        "error": "InvalidRequest", "message": "A request body is expected but none was provided"}
    untyped = xrpc(bluesky_sandbox, "POST", "com.atproto.repo.uploadBlob", bluesky_token, data=png())
    assert untyped.status_code == 400 and "Content-Type" in untyped.json()["message"]


# ---------------------------------------------------------------------------------------------------- failures
def test_429_during_upload_is_rate_limited_until_the_reset(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.fault(status=429, path_prefix="/xrpc/com.atproto.repo.uploadBlob", reset_in=120, count=1)
    with pytest.raises(RateLimited) as limited:
        bluesky_connector.publish(bluesky_token.access_token, "Later", media=[Media(png(), "image/png")])
    assert limited.value.reset_at is not None
    assert abs((limited.value.reset_at - dt.datetime.now(dt.UTC)).total_seconds() - 120) < 5
    assert bluesky_sandbox.posts() == []


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 502, "body": "<html>Bad gateway</html>"},
                                   {"delay": 1.0}])  # fmt: skip
def test_5xx_or_timeout_during_upload_is_transient(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token, fault: dict[str, Any]
) -> None:
    bluesky_sandbox.fault(path_prefix="/xrpc/com.atproto.repo.uploadBlob", count=1, **fault)
    with pytest.raises(Transient):
        bluesky_connector.publish(bluesky_token.access_token, "Soon", media=[Media(png(), "image/png")])
    assert bluesky_sandbox.posts() == []


def test_expired_session_during_upload_is_auth_expired(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bluesky_sandbox.expire_tokens()
    with pytest.raises(AuthExpired) as expired:
        bluesky_connector.publish(bluesky_token.access_token, "Stale", media=[Media(png(), "image/png")])
    assert expired.value.status == 400 and "expired" in expired.value.message.lower()
    fresh = bluesky_connector.refresh(bluesky_token)
    bluesky_connector.publish(fresh.access_token, "Fresh", media=[Media(png(), "image/png", alt="ok")])
    assert [p["images"][0]["alt"] for p in bluesky_sandbox.posts()] == ["ok"]


def test_a_lost_answer_is_found_again_not_posted_twice(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    bluesky_sandbox.fault(status=500, after=True, count=1, path_prefix="/xrpc/com.atproto.repo.createRecord")
    with pytest.raises(Transient):
        bluesky_connector.publish(bluesky_token.access_token, "Once", LINK, media=[Media(png(), "image/png", alt="1")])
    found = bluesky_connector.find_post(bluesky_token.access_token, LINK, started)  # what the engine asks first
    (stored,) = bluesky_sandbox.posts()
    assert found is not None and found.id == stored["id"]
    assert stored["images"][0]["alt"] == "1"
