"""Bluesky rich text: hashtags and mentions become facets as the official client makes them (byte offsets, a tag
without its '#', a mention resolved to a DID), and the sandbox PDS checks every facet against the text's bytes."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connectors.base import Token
from connectors.bluesky import BlueskyConnector, jwt_claims, mentions, tag_facets

pytestmark = pytest.mark.timeout(30)
TAG = "app.bsky.richtext.facet#tag"
MENTION = "app.bsky.richtext.facet#mention"
LINK = "app.bsky.richtext.facet#link"


def covered(text: str, facet: dict[str, Any]) -> str:
    return text.encode("utf-8")[facet["index"]["byteStart"]:facet["index"]["byteEnd"]].decode("utf-8")


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("Join us #hiring", ["hiring"]),
        ("#first word, then #second. And #third!", ["first", "second", "third"]),
        ("Ünïcödé #Straße and ＃fullwidth", ["Straße", "fullwidth"]),
        ("not a tag: a#b, https://acme.test/jobs#apply, #123, # alone, #️⃣", []),
        ("#🚀launch", ["🚀launch"]),
        ("#" + "a" * 64 + " #" + "b" * 65, ["a" * 64]),  # the lexicon's 64 graphemes: a longer one stays text
    ],
)
def test_hashtags_as_the_official_client_finds_them(text: str, tags: list[str]) -> None:
    facets = tag_facets(text)
    assert [f["features"][0]["tag"] for f in facets] == tags
    assert all(covered(text, f) in (f"#{t}", f"＃{t}") for f, t in zip(facets, tags, strict=True))


def test_mentions_must_start_a_word_and_name_a_domain() -> None:
    text = "Thanks @bob.bsky.social, (@Carol.example.com) and mail@dave.test @nodot @trailing.dot."
    assert [m[2] for m in mentions(text)] == ["bob.bsky.social", "carol.example.com", "trailing.dot"]


def test_a_post_carries_tag_mention_and_link_facets_in_utf8_bytes(
    bluesky_sandbox: Any, bluesky_connector: BlueskyConnector, bluesky_token: Token
) -> None:
    bob = bluesky_sandbox.user("bob.bsky.social")
    text = "Café ☕ with @bob.bsky.social and @nobody.example.com #hiring #iworkforacme."
    post = bluesky_connector.publish(bluesky_token.access_token, text, "https://advocacy.test/r/abc")
    (stored,) = bluesky_sandbox.posts()
    assert stored["id"] == post.id
    facets = stored["record"]["facets"]
    sent = stored["record"]["text"]
    assert [(f["features"][0]["$type"], covered(sent, f)) for f in facets] == [
        (MENTION, "@bob.bsky.social"), (TAG, "#hiring"), (TAG, "#iworkforacme"), (LINK, "https://advocacy.test/r/abc")]
    assert facets[0]["features"][0]["did"] == bob["did"]  # resolved through com.atproto.identity.resolveHandle
    assert stored["tags"] == ["hiring", "iworkforacme"] and stored["mentions"] == [bob["did"]]
    page = requests.get(post.url, timeout=5).text
    assert f'href="/profile/{bob["did"]}" rel="nofollow">@bob.bsky.social</a>' in page
    assert 'href="/search?q=%23hiring" rel="nofollow">#hiring</a>' in page
    assert "@nobody.example.com" in page and "/profile/nobody" not in page  # unresolved: plain text


def test_resolve_handle(bluesky_sandbox: Any, bluesky_connector: BlueskyConnector) -> None:
    bob = bluesky_sandbox.user("bob.bsky.social")
    assert bluesky_connector.resolve_handle("bob.bsky.social") == bob["did"]
    assert bluesky_connector.resolve_handle("nobody.bsky.social") is None
    answer = requests.get(f"{bluesky_sandbox.url}/xrpc/com.atproto.identity.resolveHandle",
                          params={"handle": "nobody.bsky.social"}, timeout=5)
    assert (answer.status_code, answer.json()) == (400, {"error": "InvalidRequest",
                                                         "message": "Unable to resolve handle"})


def _create(sandbox: Any, token: Token, text: str, facets: list[dict[str, Any]]) -> requests.Response:
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-01-02T03:04:05.678Z", "facets": facets}
    body = {"repo": jwt_claims(token.access_token)["sub"], "collection": "app.bsky.feed.post", "record": record}
    return requests.post(f"{sandbox.url}/xrpc/com.atproto.repo.createRecord", json=body, timeout=5,
                         headers={"Authorization": f"Bearer {token.access_token}"})


def _facet(start: int, end: int, feature: dict[str, Any]) -> dict[str, Any]:
    return {"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}


@pytest.mark.parametrize(
    ("facet", "message"),
    [
        (_facet(0, 15, {"$type": TAG, "tag": "x"}), "byteEnd 15 is past the end of the text (14 bytes)"),
        (_facet(1, 4, {"$type": TAG, "tag": "x"}), "byteStart 1 is inside a UTF-8 character"),
        (_facet(0, 2, {"$type": TAG, "tag": "x"}), "byteEnd 2 is inside a UTF-8 character"),
        (_facet(5, 3, {"$type": TAG, "tag": "x"}), "byteEnd is before byteStart"),
        (_facet(0, 3, {"$type": TAG, "tag": "t" * 65}), "tag must not be longer than 64 graphemes"),
        (_facet(0, 3, {"$type": TAG, "tag": "é" * 321}), "tag must not be longer than 640 characters"),
        (_facet(0, 3, {"$type": TAG}), "'tag' is a required property"),
        (_facet(0, 3, {"$type": MENTION, "did": "bob.bsky.social"}), "did must be a valid did"),
        (_facet(0, 3, {"$type": LINK, "uri": "not a uri"}), "uri must be a uri"),
    ],
)
def test_the_pds_checks_facets_against_the_texts_bytes(
    bluesky_sandbox: Any, bluesky_token: Token, facet: dict[str, Any], message: str
) -> None:
    answer = _create(bluesky_sandbox, bluesky_token, "€ #tag links", [facet])  # "€" is 3 bytes: 14 in all
    assert answer.status_code == 400 and answer.json()["error"] == "InvalidRequest"
    assert message in answer.json()["message"] and answer.json()["message"].startswith("Record/facets/0")


def test_the_pds_takes_well_formed_facets_and_unknown_features(bluesky_sandbox: Any, bluesky_token: Token) -> None:
    facets = [_facet(0, 3, {"$type": TAG, "tag": "€"}), _facet(4, 8, {"$type": TAG, "tag": "tag"}),
              _facet(12, 12, {"$type": "com.example.facet#other", "x": 1})]
    assert _create(bluesky_sandbox, bluesky_token, "€ #tag links", facets).status_code == 200
