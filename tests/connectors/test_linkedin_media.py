"""Images on LinkedIn over real HTTP: the Images API (initializeUpload, PUT, status), posts with media, and every
failure mapped onto the taxonomy."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests

from connectors.base import AuthExpired, ConfigurationError, Duplicate, Media, RateLimited, Rejected, Token, Transient
from connectors.linkedin import MAX_COMMENTARY, LinkedInConnector, commentary
from tests.connectors.imagefiles import png, png_header

pytestmark = pytest.mark.timeout(30)
LINK = "https://example.com/r/xyz789"


def rest(sandbox: Any, method: str, path: str, token: Token, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token.access_token}", "X-Restli-Protocol-Version": "2.0.0",
               "LinkedIn-Version": kw.pop("version", None) or _month()} | kw.pop("headers", {})  # fmt: skip
    return requests.request(method, f"{sandbox.url}{path}", headers=headers, timeout=5, **kw)


def _month() -> str:
    import time

    return time.strftime("%Y%m", time.gmtime())


def member(connector: LinkedInConnector, token: Token) -> str:
    return connector.author_urn(token.access_token)


def initialize(sandbox: Any, token: Token, owner: str) -> requests.Response:
    return rest(sandbox, "POST", "/rest/images?action=initializeUpload", token,
                json={"initializeUploadRequest": {"owner": owner}})  # fmt: skip


def put(url: str, token: Token, data: bytes) -> requests.Response:
    return requests.put(url, data=data, headers={"Authorization": f"Bearer {token.access_token}"}, timeout=5)


def post_with(sandbox: Any, token: Token, author: str, content: dict[str, Any]) -> requests.Response:
    body = {"author": author, "commentary": "Look", "visibility": "PUBLIC", "lifecycleState": "PUBLISHED",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []}, "content": content}  # fmt: skip
    return rest(sandbox, "POST", "/rest/posts", token, json=body)


def armed(sandbox: Any) -> list[dict[str, Any]]:
    return sandbox.control("GET", "faults")["faults"]


# ---------------------------------------------------------------------------------------------------- posting
def test_a_post_with_an_image_carries_it_with_its_alt_text(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    data = png(40, 30)
    post = linkedin_connector.publish(linkedin_token.access_token, "Our new plant",
                                      media=[Media(data, "image/png", alt="The plant at dawn")])  # fmt: skip
    (stored,) = linkedin_sandbox.posts()
    assert stored["id"] == post.id
    (media,) = stored["media"]
    assert stored["body"]["content"] == {"media": {"id": media["id"], "altText": "The plant at dawn"}}
    assert (media["content_type"], media["size"], media["width"], media["height"]) == ("image/png", len(data), 40, 30)
    page = requests.get(post.url, timeout=5).text
    assert 'alt="The plant at dawn"' in page
    src = page.split('<img src="', 1)[1].split('"', 1)[0]
    assert requests.get(linkedin_sandbox.url + src, timeout=5).content == data  # the bytes we sent


def test_link_and_image_the_link_goes_into_the_text(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    linkedin_connector.publish(linkedin_token.access_token, "Read this (new)", LINK,
                               media=[Media(png(), "image/png")])  # fmt: skip
    (stored,) = linkedin_sandbox.posts()
    assert stored["text"] == f"Read this (new) {LINK}"  # as members see it: escapes resolved, nothing cut
    assert "article" not in stored["body"]["content"] and "media" in stored["body"]["content"]
    assert stored["body"]["content"]["media"] == {"id": stored["media"][0]["id"]}  # no alt text: none sent


def test_a_link_alone_is_still_an_article_card(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    linkedin_connector.publish(linkedin_token.access_token, "Read this", LINK)
    (stored,) = linkedin_sandbox.posts()
    assert stored["body"]["content"]["article"]["source"] == LINK and stored["media"] == []


def test_several_images_are_a_multi_image_post(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    media = [Media(png(2 + i, 2), "image/png", alt=f"step {i}") for i in range(3)]
    linkedin_connector.publish(linkedin_token.access_token, "Three steps", media=media)
    (stored,) = linkedin_sandbox.posts()
    images = stored["body"]["content"]["multiImage"]["images"]
    assert [i["altText"] for i in images] == ["step 0", "step 1", "step 2"]
    assert [m["width"] for m in stored["media"]] == [2, 3, 4]


def test_the_upload_url_is_the_one_the_api_answered(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    answer = initialize(linkedin_sandbox, linkedin_token, member(linkedin_connector, linkedin_token))
    assert answer.status_code == 200, answer.text
    value = answer.json()["value"]
    assert set(value) == {"uploadUrlExpiresAt", "uploadUrl", "image"} and value["image"].startswith("urn:li:image:")
    assert urlsplit(value["uploadUrl"]).netloc == urlsplit(linkedin_sandbox.url).netloc  # the sandbox's own address
    status = rest(linkedin_sandbox, "GET", f"/rest/images/{quote(value['image'], safe='')}", linkedin_token)
    assert status.json()["status"] == "WAITING_UPLOAD"
    assert put(value["uploadUrl"], linkedin_token, png()).status_code == 201
    status = rest(linkedin_sandbox, "GET", f"/rest/images/{quote(value['image'], safe='')}", linkedin_token)
    assert status.json()["status"] == "AVAILABLE" and status.json()["owner"].startswith("urn:li:person:")


# ---------------------------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("media", "words"),
    [
        ([Media(png_header(8000, 5000), "image/png")], "at most 36,152,320 pixels"),
        ([Media(b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp")], "JPEG, PNG, GIF images, not 'image/webp'"),
        ([Media(png(), "image/png")] * 21, "at most 20 images"),
        ([Media(png(), "image/png", alt="a" * 4087)], "at most 4,086"),
    ],
)
def test_images_linkedin_would_refuse_are_rejected_before_anything_is_sent(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token, media: list[Media],
    words: str,
) -> None:
    linkedin_sandbox.fault(status=500, path_prefix="/rest/images")  # would fail any upload
    with pytest.raises(Rejected) as refused:
        linkedin_connector.publish(linkedin_token.access_token, "Too much", LINK, media=media)
    assert words in refused.value.message
    assert linkedin_sandbox.posts() == []
    assert len(armed(linkedin_sandbox)) == 1  # still armed: nothing was initialized


def test_the_sandbox_fails_processing_of_what_it_cannot_take(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    author = member(linkedin_connector, linkedin_token)
    for data in (png_header(8000, 5000), b"<svg xmlns='http://www.w3.org/2000/svg'/>"):
        value = initialize(linkedin_sandbox, linkedin_token, author).json()["value"]
        assert put(value["uploadUrl"], linkedin_token, data).status_code == 201  # processing happens afterwards
        status = rest(linkedin_sandbox, "GET", f"/rest/images/{quote(value['image'], safe='')}", linkedin_token)
        assert status.json()["status"] == "PROCESSING_FAILED"
        refused = post_with(linkedin_sandbox, linkedin_token, author, {"media": {"id": value["image"]}})
        assert refused.status_code == 422 and "PROCESSING_FAILED, not AVAILABLE" in refused.json()["message"]
    assert linkedin_sandbox.posts() == []


def test_an_image_not_uploaded_cannot_be_posted(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    author = member(linkedin_connector, linkedin_token)
    value = initialize(linkedin_sandbox, linkedin_token, author).json()["value"]
    refused = post_with(linkedin_sandbox, linkedin_token, author, {"media": {"id": value["image"]}})
    assert refused.status_code == 422
    assert refused.json() == {"status": 422, "message":
                              f"ERROR :: /content/media/id :: {value['image']} is WAITING_UPLOAD, not AVAILABLE"}
    assert linkedin_sandbox.posts() == []


def test_another_members_image_is_refused_by_the_sandbox_and_rejected(
    linkedin_sandbox: Any, linkedin_flow: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bob = linkedin_flow.connect(linkedin_connector, "bob")
    alice = member(linkedin_connector, linkedin_token)
    # initializing an upload owned by someone else
    foreign = initialize(linkedin_sandbox, bob, alice)
    assert foreign.status_code == 403 and foreign.json()["code"] == "ACCESS_DENIED"
    # bob's image, uploaded by bob, named in alice's post
    value = initialize(linkedin_sandbox, bob, member(linkedin_connector, bob)).json()["value"]
    assert put(value["uploadUrl"], linkedin_token, png()).status_code == 403  # alice cannot upload to bob's URL
    assert put(value["uploadUrl"], bob, png()).status_code == 201
    refused = post_with(linkedin_sandbox, linkedin_token, alice, {"media": {"id": value["image"]}})
    assert refused.status_code == 403 and refused.json()["code"] == "ACCESS_DENIED"
    # the connector maps that answer: an upload that named bob's image
    monkeypatch.setattr(LinkedInConnector, "_upload_image", lambda self, token, owner, media: value["image"])
    with pytest.raises(Rejected) as rejected:
        linkedin_connector.publish(linkedin_token.access_token, "Borrowed", media=[Media(png(), "image/png")])
    assert rejected.value.status == 403 and "another member" in rejected.value.message
    assert linkedin_sandbox.posts() == []


def test_an_expired_upload_url_is_refused(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    linkedin_sandbox.config(upload_url_lifetime=0)
    value = initialize(linkedin_sandbox, linkedin_token, member(linkedin_connector, linkedin_token)).json()["value"]
    late = put(value["uploadUrl"], linkedin_token, png())
    assert late.status_code == 400 and "expired" in late.json()["message"]
    with pytest.raises(Rejected) as rejected:
        linkedin_connector.publish(linkedin_token.access_token, "Late", media=[Media(png(), "image/png")])
    assert "expired" in rejected.value.message
    assert linkedin_sandbox.posts() == []


# ---------------------------------------------------------------------------------------------------- failures
@pytest.mark.parametrize("prefix", ["/rest/images", "/dms-uploads/"])
def test_429_during_upload_is_rate_limited(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token, prefix: str
) -> None:
    linkedin_sandbox.fault(status=429, path_prefix=prefix, count=1)  # infrastructure protection: no time given
    with pytest.raises(RateLimited) as limited:
        linkedin_connector.publish(linkedin_token.access_token, "Later", media=[Media(png(), "image/png")])
    assert limited.value.reset_at is None
    linkedin_sandbox.config(member_day_limits={"POST /rest/images": 0})  # the member's daily limit: midnight UTC
    with pytest.raises(RateLimited) as limited:
        linkedin_connector.publish(linkedin_token.access_token, "Later", media=[Media(png(), "image/png")])
    assert limited.value.reset_at is not None and limited.value.reset_at.time() == dt.time(0, 0)
    assert linkedin_sandbox.posts() == []


def test_with_an_image_the_link_joins_the_commentary_and_is_measured_there(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    link = "https://example.com/r/abcdefgh"
    text = "x" * (MAX_COMMENTARY - len(link))  # fits as an article post; one over with the link in the text
    with pytest.raises(Rejected) as refused:
        linkedin_connector.publish(linkedin_token.access_token, text, link, media=[Media(png(), "image/png")])
    assert "3,001" in refused.value.message
    assert linkedin_sandbox.posts() == []
    linkedin_connector.publish(linkedin_token.access_token, text, link)  # as an article the link is not in the text
    assert linkedin_sandbox.posts()[0]["body"]["commentary"] == commentary(text, link)


@pytest.mark.parametrize(
    ("prefix", "fault"),
    [("/rest/images", {"status": 503}), ("/dms-uploads/", {"status": 500}), ("/dms-uploads/", {"delay": 1.0}),
     ("/rest/images/", {"status": 502, "body": "<html>Bad gateway</html>"})],
)  # fmt: skip
def test_5xx_or_timeout_during_upload_is_transient(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token, prefix: str,
    fault: dict[str, Any],
) -> None:
    linkedin_sandbox.fault(path_prefix=prefix, count=1, **fault)
    with pytest.raises(Transient):
        linkedin_connector.publish(linkedin_token.access_token, "Soon", media=[Media(png(), "image/png")])
    assert linkedin_sandbox.posts() == []


def test_an_image_still_processing_is_transient_then_posts(
    linkedin_sandbox: Any, linkedin_make_connector: Any, linkedin_flow: Any
) -> None:
    impatient = linkedin_make_connector(media_wait=0.3)
    token = linkedin_flow.connect(impatient, "alice")
    linkedin_sandbox.config(image_processing_ms=2000)
    with pytest.raises(Transient) as waiting:
        impatient.publish(token.access_token, "Processing", media=[Media(png(), "image/png")])
    assert "still processing" in waiting.value.message and linkedin_sandbox.posts() == []
    linkedin_sandbox.config(image_processing_ms=300)
    patient = linkedin_make_connector(media_wait=5.0)
    patient.publish(token.access_token, "Processed", media=[Media(png(), "image/png")])
    assert [p["text"] for p in linkedin_sandbox.posts()] == ["Processed"]


def test_expired_token_and_retired_version_during_upload(
    linkedin_sandbox: Any, linkedin_make_connector: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    with pytest.raises(ConfigurationError) as retired:
        linkedin_make_connector(version="202201").publish(linkedin_token.access_token, "Old",
                                                          media=[Media(png(), "image/png")])  # fmt: skip
    assert retired.value.status == 426
    linkedin_sandbox.expire_tokens()
    with pytest.raises(AuthExpired):
        linkedin_connector.publish(linkedin_token.access_token, "Stale", media=[Media(png(), "image/png")])
    assert linkedin_sandbox.posts() == []


def test_a_lost_answer_is_recognised_as_a_duplicate_not_posted_twice(
    linkedin_sandbox: Any, linkedin_connector: LinkedInConnector, linkedin_token: Token
) -> None:
    linkedin_sandbox.fault(status=500, after=True, count=1, path_prefix="/rest/posts")
    with pytest.raises(Transient):
        linkedin_connector.publish(linkedin_token.access_token, "Once", LINK, media=[Media(png(), "image/png")])
    with pytest.raises(Duplicate) as again:  # the retry uploads the image anew; the text repeats
        linkedin_connector.publish(linkedin_token.access_token, "Once", LINK, media=[Media(png(), "image/png")])
    (stored,) = linkedin_sandbox.posts()
    assert stored["id"] in again.value.message and stored["media"]
