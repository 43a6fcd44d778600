"""Bluesky (AT Protocol): posts are records in the person's repo, written with an OAuth session or an app password.

An account connected by OAuth (``connectors.bluesky_oauth``, the default) holds a credential naming its PDS and
DPoP key: every call goes to that PDS with ``Authorization: DPoP <token>`` and a proof carrying ``ath`` and the
server's nonce (a ``use_dpop_nonce`` answer is retried once); ``refresh`` and ``revoke`` go to its authorization
server. The rest of this docstring is about the app-password fallback, whose session JWTs are sent as Bearer.

There is no third-party OAuth for posting with an app password: ``create_session`` trades handle and app password
for an access JWT (about two hours) and a refresh JWT (about ninety days); ``refresh`` rotates the pair and
``revoke`` ends the session at the PDS (``deleteSession``). The app password itself is never kept.

Links, hashtags and mentions are not detected by the network: ``publish`` adds the facets the official client adds (a
link for every URL, a tag for every ``#hashtag``, a mention for every ``@handle`` the PDS resolves to a DID), their
offsets counted in UTF-8 bytes. Text over 300 graphemes or 3,000 UTF-8 bytes is refused before anything is uploaded.
Every attempt of one share writes the same record key (a TID derived from the share's tracked link), so a repeat
after a lost answer is refused by the PDS and recognised as our own post. Images are uploaded first
(``com.atproto.repo.uploadBlob``, raw bytes) and the post carries them as an ``app.bsky.embed.images`` embed with
their alt text; a post holds one embed, so with images a link stays a facet in the text rather than a link card.
Every failure leaves this module as one of the ``connectors.base`` exceptions; the expired-token answer is a 400
``ExpiredToken``, not a 401.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NoReturn
from urllib.parse import urlsplit

import regex
import requests

from connectors.base import (
    DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT,
    IMAGE_TYPES,
    AuthExpired,
    AuthRequest,
    AuthRevoked,
    ConfigurationError,
    ConnectorError,
    Duplicate,
    Media,
    PostMetrics,
    Profile,
    PublishedPost,
    RateLimited,
    Rejected,
    Token,
    Transient,
    http_session,
    register,
    retry_after,
    utc_from_epoch,
    utc_from_iso,
)
from connectors.bluesky_oauth import AtprotoOAuth, Credential, Dpop, is_credential
from connectors.media import image_info

log = logging.getLogger(__name__)

POST_COLLECTION = "app.bsky.feed.post"
GET_POSTS_BATCH = 25  # app.bsky.feed.getPosts takes at most 25 URIs
FIND_PAGES = 5  # find_post reads at most this many pages of 100 of the person's posts
URL_IN_TEXT = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
AT_URI = re.compile(r"^at://(?P<repo>[^/]+)/(?P<collection>[^/]+)/(?P<rkey>[^/]+)$")
IMAGES_EMBED = "app.bsky.embed.images"
MAX_IMAGES = 4  # app.bsky.embed.images: images maxLength
IMAGE_MAX_BYTES = 2_000_000  # app.bsky.embed.images#image: the image blob's maxSize
MAX_GRAPHEMES = 300  # app.bsky.feed.post: text maxGraphemes
MAX_BYTES = 3000  # app.bsky.feed.post: text maxLength (UTF-8 bytes)
TAG_MAX_GRAPHEMES = 64  # app.bsky.richtext.facet#tag: tag maxGraphemes (and 640 bytes)
TAG_MAX_BYTES = 640
S32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, the TID alphabet
# the official client's patterns (@atproto/api RichText.detectFacets): a mention or hashtag starts a word
MENTION_IN_TEXT = regex.compile(r"(?:^|\s|\()(@[a-zA-Z0-9.-]+)\b")
_NOT_IN_TAG = "\\s\u00ad\u2060\u200a\u200b\u200c\u200d\u20e2"
TAG_IN_TEXT = regex.compile(
    rf"(?:^|\s)([#\uff03](?!\ufe0f)[^{_NOT_IN_TAG}]*[^\d{_NOT_IN_TAG}\p{{P}}]+[^{_NOT_IN_TAG}]*)"
)
HANDLE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired"})
REVOKED_ERRORS = frozenset({"AccountTakedown", "AccountDeactivated"})


def link_facets(text: str) -> list[dict[str, Any]]:
    """A ``app.bsky.richtext.facet#link`` for every http(s) URL in ``text``, sliced in UTF-8 bytes.

    Args:
        text: the post text.
    """
    facets = []
    for match in URL_IN_TEXT.finditer(text):
        url = match.group(0).rstrip(".,;:!?)'\"")
        facets.append(_facet(text, match.start(), match.start() + len(url),
                             {"$type": "app.bsky.richtext.facet#link", "uri": url}))
    return facets


def tag_facets(text: str) -> list[dict[str, Any]]:
    """A ``app.bsky.richtext.facet#tag`` for every hashtag that starts a word, as the official client finds them.

    The facet covers ``#tag`` in the text; its ``tag`` is without the ``#``. Trailing punctuation is not part of a
    tag; a tag of more than 64 graphemes (or 640 bytes, the lexicon's limits) stays plain text.

    Args:
        text: the post text.
    """
    facets = []
    for match in TAG_IN_TEXT.finditer(text):
        tag = regex.sub(r"\p{P}+$", "", match.group(1)[1:])
        if not tag or graphemes(tag) > TAG_MAX_GRAPHEMES or len(tag.encode("utf-8")) > TAG_MAX_BYTES:
            continue
        start = match.start(1)
        facets.append(_facet(text, start, start + 1 + len(tag), {"$type": "app.bsky.richtext.facet#tag", "tag": tag}))
    return facets


def mentions(text: str) -> list[tuple[int, int, str]]:
    """Each ``@handle`` that starts a word and names a domain: (start, end, handle) in characters of ``text``.

    Args:
        text: the post text.
    """
    found = []
    for match in MENTION_IN_TEXT.finditer(text):
        handle = match.group(1)[1:]
        if HANDLE.match(handle):
            found.append((match.start(1), match.end(1), handle.lower()))
    return found


def _facet(text: str, start: int, end: int, feature: dict[str, Any]) -> dict[str, Any]:
    """A facet over ``text[start:end]`` (character indexes), its slice counted in UTF-8 bytes."""
    byte_start = len(text[:start].encode("utf-8"))
    byte_end = byte_start + len(text[start:end].encode("utf-8"))
    return {"$type": "app.bsky.richtext.facet", "index": {"byteStart": byte_start, "byteEnd": byte_end},
            "features": [feature]}


def graphemes(text: str) -> int:
    """Grapheme clusters in ``text`` (what a reader sees as one character), as the lexicon counts them.

    Args:
        text: any string.
    """
    return len(regex.findall(r"\X", text))


def check_text(text: str) -> None:
    """Refuse text the PDS would refuse: ``Rejected`` naming the limit (300 graphemes and 3,000 UTF-8 bytes).

    Args:
        text: the post text exactly as it is sent (the link included).
    """
    count, size = graphemes(text), len(text.encode("utf-8"))
    if count > MAX_GRAPHEMES:
        raise Rejected(f"the post is {count} graphemes; Bluesky takes at most {MAX_GRAPHEMES}")
    if size > MAX_BYTES:
        raise Rejected(f"the post is {size:,} bytes in UTF-8; Bluesky takes at most {MAX_BYTES:,} bytes "
                       f"(emoji and accented letters take several)")


def record_key(seed: str) -> str:
    """A record key (a TID: 13 base32-sortable characters) that is always the same for ``seed``.

    A TID holds a 53-bit microsecond timestamp and a 10-bit clock id; both come from a SHA-256 of the seed. The
    timestamp is kept between 2005 and 2023, so it never reads as a time in the future (a PDS takes any TID-shaped
    key; a future one could one day be refused). Two different seeds share a key with a chance of one in 2^59.

    Args:
        seed: what identifies the post: the share's tracked link (or its idempotency key when it has no link).
    """
    digest = int.from_bytes(hashlib.sha256(f"advocacy-bluesky-rkey:{seed}".encode()).digest()[:8], "big")
    micros = (1 << 50) + (digest >> 15) % (1 << 49)
    value = (micros << 10) | (digest & 0x3FF)
    return "".join(S32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, read without checking the signature (the PDS checks it; we only read ``sub``/``exp``).

    Args:
        token: a JWT the PDS issued.
    """
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}


@register
class BlueskyConnector:
    """A client of one PDS (``bsky.social``'s, or a self-hosted one); holds no per-user state.

    Args:
        pds_url: where the person's repo lives (``https://bsky.social``, or a sandbox). It proxies the
            ``app.bsky.*`` queries to the AppView.
        web_base_url: where post pages live, for the URL of a published post (``https://bsky.app``).
        timeout: seconds for connect and for read on every request.
        user_agent: sent on every request.
        oauth_client_key: the app's private ES256 JWK (JSON) when it is a confidential OAuth client: refreshing
            and revoking those sessions authenticate with it.
    """

    name: ClassVar[str] = "bluesky"

    def __init__(
        self,
        *,
        pds_url: str = "https://bsky.social",
        web_base_url: str = "https://bsky.app",
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = DEFAULT_USER_AGENT,
        oauth_client_key: str | None = None,
    ) -> None:
        self.oauth_client_key = oauth_client_key
        if urlsplit(pds_url).scheme not in ("http", "https") or not urlsplit(pds_url).netloc:
            raise ConfigurationError(f"Bluesky pds_url must be an http(s) URL, not {pds_url!r}")
        self.pds_url = pds_url.rstrip("/")
        self.web_base_url = web_base_url.rstrip("/")
        self.timeout = timeout
        self.user_agent = user_agent

    def __repr__(self) -> str:
        return f"BlueskyConnector(pds_url={self.pds_url!r})"

    # ------------------------------------------------------------------------------------------ sessions
    def authorization_url(self, redirect_uri: str) -> AuthRequest:
        """Not how Bluesky connects: an app password opens a session (``create_session``).

        Args:
            redirect_uri: unused.
        """
        raise ConfigurationError("Bluesky connects with a handle and an app password: use create_session")

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> Token:
        """Not how Bluesky connects: an app password opens a session (``create_session``).

        Args:
            code: unused.
            redirect_uri: unused.
            code_verifier: unused.
        """
        raise ConfigurationError("Bluesky connects with a handle and an app password: use create_session")

    def create_session(self, identifier: str, password: str) -> Token:
        """Open a session with the person's handle (or DID) and an app password; the password is not kept.

        A wrong handle or password is ``Rejected`` (status 401) with the PDS's message.

        Args:
            identifier: ``alice.bsky.social`` (a leading ``@`` is dropped) or a DID.
            password: an app password made in the person's Bluesky settings.
        """
        identifier = (identifier or "").strip().lstrip("@")
        if not identifier or not password:
            raise Rejected("a Bluesky handle and an app password are both needed")
        answer = self._call(
            "POST",
            "com.atproto.server.createSession",
            None,
            json={"identifier": identifier, "password": password},
            session=True,
        )
        log.info("bluesky.session created pds=%s", self.pds_url)
        return self._token(answer)

    def refresh(self, token: Token) -> Token:
        """A new session from the refresh JWT (the PDS rotates it: the old one stops working).

        Args:
            token: the current session; its ``refresh_token`` is used.
        """
        if not token.refresh_token:
            raise AuthRevoked("no Bluesky refresh token: the person must reconnect")
        if is_credential(token.refresh_token):  # connected by OAuth: the authorization server rotates it
            return self._oauth().refresh(Credential.loads(token.refresh_token))
        try:
            answer = self._call("POST", "com.atproto.server.refreshSession", token.refresh_token)
        except AuthExpired as exc:  # an expired or revoked refresh JWT: only a new app password helps
            raise AuthRevoked(exc.message, status=exc.status, raw=exc.raw) from None
        log.info("bluesky.session refreshed pds=%s", self.pds_url)
        return self._token(answer)

    def revoke(self, token: Token) -> None:
        """End the session at the PDS (``com.atproto.server.deleteSession`` with the refresh JWT): its tokens stop
        working there, not only here. A session the PDS already ended (an expired or revoked JWT) counts as ended;
        other failures raise (``Transient`` when the PDS cannot be reached), for the caller to report.

        Args:
            token: the session to end; its ``refresh_token`` is used.
        """
        if is_credential(token.refresh_token or token.access_token):  # OAuth: RFC 7009 at the authorization server
            self._oauth().revoke(Credential.loads(token.refresh_token or token.access_token))
            return
        if not token.refresh_token:
            return  # nothing the PDS could end
        try:
            self._call("POST", "com.atproto.server.deleteSession", token.refresh_token, allow_empty=True)
        except AuthExpired:  # ExpiredToken / InvalidToken: that session is already over
            log.info("bluesky.session already ended pds=%s", self.pds_url)
            return
        log.info("bluesky.session deleted pds=%s", self.pds_url)

    # -------------------------------------------------------------------------------------------------- API
    def profile(self, access_token: str) -> Profile:
        """The connected person's DID, handle and follower count.

        Args:
            access_token: the session's access JWT.
        """
        did = self._did(access_token)
        answer = self._call("GET", "app.bsky.actor.getProfile", access_token, params={"actor": did})
        try:
            return Profile(
                id=str(answer["did"]), handle=str(answer["handle"]), followers=_count(answer.get("followersCount"))
            )
        except KeyError as exc:
            raise Transient(f"Bluesky answered getProfile without {exc}", raw=_dump(answer)) from None

    def publish(
        self, access_token: str, text: str, link: str | None = None, *, idempotency_key: str | None = None,
        media: Sequence[Media] = (), link_title: str | None = None,
    ) -> PublishedPost:
        """Create a post; ``link`` is appended after a space unless the text holds it; links, hashtags and mentions
        get facets.

        The text is checked first (300 graphemes, 3,000 UTF-8 bytes, measured on what is sent), then the images (at
        most 4, PNG, JPEG, GIF or WebP, at most 2,000,000 bytes each: the lexicon's limit), so a refused post
        uploads nothing. Each ``@handle`` is resolved to a DID (``com.atproto.identity.resolveHandle``); one that
        does not resolve stays plain text.

        With an ``idempotency_key`` the record key is derived from the share (``record_key`` of its link), so every
        attempt of one share writes the same key: the PDS refuses a repeat (today with a 500, see ``_existing``),
        the record is read back and, when it is this post, ``Duplicate`` names it in ``existing``. A retry uploads
        the images again (unused blobs are dropped by the PDS).

        Args:
            access_token: the session's access JWT.
            text: the post text.
            link: a URL to add at the end (the share's tracked link: it also seeds the record key).
            idempotency_key: the same for every attempt of one share; without it the PDS picks the record key.
            media: images to attach.
        """
        media = tuple(media)
        if link and link not in text:
            text = f"{text} {link}"
        check_text(text)
        check_images(media)
        did = self._did(access_token)
        facets = sorted(link_facets(text) + tag_facets(text) + self._mention_facets(text),
                        key=lambda f: f["index"]["byteStart"])
        embed = {"$type": IMAGES_EMBED, "images": [self._image(access_token, m) for m in media]} if media else None
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        if facets:
            record["facets"] = facets
        if embed:
            record["embed"] = embed
        body: dict[str, Any] = {"repo": did, "collection": POST_COLLECTION, "record": record}
        rkey = record_key(link or idempotency_key or "") if idempotency_key else None
        if rkey:
            body["rkey"] = rkey
        try:
            answer = self._call("POST", "com.atproto.repo.createRecord", access_token, json=body)
        except (Transient, Rejected) as exc:
            existing = self._existing(access_token, did, rkey, text, link, exc) if rkey else None
            if existing is None:
                raise
            message = f"Bluesky already holds this post under record key {rkey} (the PDS answered: {exc.message})"
            raise Duplicate(message, existing=existing, status=exc.status, raw=exc.raw) from None
        uri = answer.get("uri")
        match = AT_URI.match(uri) if isinstance(uri, str) else None
        if match is None:
            raise Transient("Bluesky answered the post without its at:// URI", raw=_dump(answer))
        log.info("bluesky.publish ok post_id=%s images=%d facets=%d", uri, len(media), len(facets))
        return self._published(str(uri))

    def _existing(
        self, access_token: str, did: str, rkey: str, text: str, link: str | None, exc: ConnectorError
    ) -> PublishedPost | None:
        """After a refused createRecord with our record key: the post already under that key, if it is this one.

        A PDS refuses an existing record key, but not in a way to rely on: the reference PDS answers a 500
        ``InternalServerError`` (bluesky-social/atproto#3718, bluesky-social/indigo#873), the lexicon names only
        ``InvalidSwap`` (for ``swapCommit``, which we never send), and a named error is only proposed
        (bluesky-social/atproto#4728). So whatever the refusal, the record is read back: the key holding a post
        with this text (or this share's link) is our own earlier attempt.
        """
        if exc.status is None:  # no answer at all (a timeout): the write may still land; a retry will tell
            return None
        try:
            found = self._record(access_token, did, rkey)
        except ConnectorError:  # the read-back failed too: the original answer stands, a retry will tell
            return None
        stored = str(found[1].get("text", "")) if found else ""
        if found is None or not (stored == text or (link and link in stored)):
            return None
        log.info("bluesky.publish existing post_id=%s (a repeat of a write that landed)", found[0])
        return self._published(found[0])

    def _record(self, access_token: str, did: str, rkey: str) -> tuple[str, dict[str, Any]] | None:
        """The post at ``rkey`` in the person's repo (``com.atproto.repo.getRecord``): (at:// URI, record) or None."""
        params = {"repo": did, "collection": POST_COLLECTION, "rkey": rkey}
        try:
            answer = self._call("GET", "com.atproto.repo.getRecord", access_token, params=params)
        except Rejected as exc:
            if exc.status == 400 and '"RecordNotFound"' in (exc.raw or ""):
                return None
            raise
        uri, value = answer.get("uri"), answer.get("value")
        if not isinstance(uri, str) or not AT_URI.match(uri) or not isinstance(value, dict):
            raise Transient("Bluesky answered getRecord without the record", raw=_dump(answer))
        return uri, value

    def _mention_facets(self, text: str) -> list[dict[str, Any]]:
        """A ``#mention`` facet for every ``@handle`` the PDS resolves; an unresolvable handle stays plain text."""
        dids: dict[str, str | None] = {}
        facets = []
        for start, end, handle in mentions(text):
            if handle not in dids:
                dids[handle] = self.resolve_handle(handle)
            did = dids[handle]
            if did:
                facets.append(_facet(text, start, end, {"$type": "app.bsky.richtext.facet#mention", "did": did}))
        return facets

    def resolve_handle(self, handle: str) -> str | None:
        """The DID of ``handle`` (``com.atproto.identity.resolveHandle``), or None when no account has it.

        Args:
            handle: a handle without the ``@``.
        """
        try:
            answer = self._call("GET", "com.atproto.identity.resolveHandle", None, params={"handle": handle})
        except Rejected:  # 400 "Unable to resolve handle" (or not a handle at all)
            return None
        did = answer.get("did")
        return did if isinstance(did, str) and did.startswith("did:") else None

    def _published(self, uri: str) -> PublishedPost:
        match = AT_URI.match(uri)
        assert match is not None
        return PublishedPost(id=uri, url=f"{self.web_base_url}/profile/{match['repo']}/post/{match['rkey']}")

    def delete(self, access_token: str, post_id: str) -> None:
        """Delete one of the person's posts (deleting one that is already gone succeeds, as on the PDS).

        Args:
            access_token: the session's access JWT.
            post_id: the at:// URI ``publish`` returned.
        """
        match = AT_URI.match(post_id)
        if match is None:
            raise Rejected(f"{post_id!r} is not a Bluesky post URI")
        if match["repo"] != self._did(access_token):
            raise Rejected(f"post {post_id} is not in this person's repo")
        body = {"repo": match["repo"], "collection": match["collection"], "rkey": match["rkey"]}
        self._call("POST", "com.atproto.repo.deleteRecord", access_token, json=body)
        log.info("bluesky.delete ok post_id=%s", post_id)

    def find_post(self, access_token: str, text: str, since: dt.datetime) -> PublishedPost | None:
        """The person's post holding ``text`` created since ``since``, if their repo has one (newest first).

        How the delivery engine learns whether an attempt whose answer was lost did post. A share's post is under
        the record key ``publish`` derives from its tracked link, so that key is read first
        (``com.atproto.repo.getRecord``); then the repo is listed (``com.atproto.repo.listRecords``), for a post
        made without a key.

        Args:
            access_token: the session's access JWT.
            text: what the post holds; pass something unique to one post, such as its tracked link.
            since: the earliest ``createdAt`` to look at.
        """
        did = self._did(access_token)
        keyed = self._record(access_token, did, record_key(text)) if text else None
        if keyed is not None and text in str(keyed[1].get("text", "")):
            log.info("bluesky.find_post found post_id=%s (by its record key)", keyed[0])
            return self._published(keyed[0])
        cursor: str | None = None
        for _ in range(FIND_PAGES):
            params: dict[str, Any] = {"repo": did, "collection": POST_COLLECTION, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            answer = self._call("GET", "com.atproto.repo.listRecords", access_token, params=params)
            records = answer.get("records")
            if not isinstance(records, list):
                raise Transient("Bluesky answered listRecords without records", raw=_dump(answer))
            for item in records:
                value = item.get("value") if isinstance(item, dict) else None
                if not isinstance(value, dict) or not isinstance(item.get("uri"), str):
                    continue
                created = utc_from_iso(str(value.get("createdAt") or ""))
                if created is not None and created < since:
                    return None  # newest first: everything further is older
                match = AT_URI.match(item["uri"])
                if match and text in str(value.get("text", "")):
                    log.info("bluesky.find_post found post_id=%s", item["uri"])
                    return self._published(item["uri"])
            cursor = answer.get("cursor") if isinstance(answer.get("cursor"), str) else None
            if not cursor:
                return None
        return None

    def metrics(self, access_token: str, post_ids: Sequence[str]) -> list[PostMetrics]:
        """Counts of posts, 25 per request. Posts the network no longer has are left out of the answer.

        Args:
            access_token: the session's access JWT.
            post_ids: at:// URIs of posts.
        """
        uris = list(dict.fromkeys(str(i) for i in post_ids))
        found: list[PostMetrics] = []
        for start in range(0, len(uris), GET_POSTS_BATCH):
            batch = uris[start : start + GET_POSTS_BATCH]
            answer = self._call("GET", "app.bsky.feed.getPosts", access_token, params={"uris": batch})
            posts = answer.get("posts")
            if not isinstance(posts, list):
                raise Transient("Bluesky answered getPosts without posts", raw=_dump(answer))
            found += [_post_metrics(item) for item in posts]
        return found

    # ----------------------------------------------------------------------------------------------- helpers
    def _image(self, access_token: str, media: Media) -> dict[str, Any]:
        """Upload one image (``com.atproto.repo.uploadBlob``); its entry of the images embed."""
        answer = self._call(
            "POST", "com.atproto.repo.uploadBlob", access_token, data=media.data, content_type=media.content_type
        )
        blob = answer.get("blob")
        link = blob.get("ref") if isinstance(blob, dict) else None
        if (
            not isinstance(blob, dict)
            or blob.get("$type") != "blob"
            or not isinstance(link, dict)
            or not isinstance(link.get("$link"), str)
            or not isinstance(blob.get("mimeType"), str)
            or _count(blob.get("size")) is None
        ):
            raise Transient("Bluesky answered uploadBlob without a blob ref", raw=_dump(answer))
        log.info("bluesky.upload_blob ok cid=%s size=%s", link["$link"], blob["size"])
        image: dict[str, Any] = {"image": blob, "alt": media.alt or ""}
        info = image_info(media.data)
        if info is not None and info.width and info.height:
            image["aspectRatio"] = {"width": info.width, "height": info.height}
        return image

    def _oauth(self) -> AtprotoOAuth:
        key = json.loads(self.oauth_client_key) if self.oauth_client_key else None
        return AtprotoOAuth(resolver_url=self.pds_url, timeout=self.timeout, user_agent=self.user_agent,
                            client_key=key)

    def _did(self, access_token: str) -> str:
        if not access_token:
            raise AuthExpired("no access token")
        if is_credential(access_token):
            return Credential.loads(access_token).did
        did = jwt_claims(access_token).get("sub")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise AuthExpired("the access token names no account (not a Bluesky session JWT)")
        return did

    def _token(self, answer: Mapping[str, Any]) -> Token:
        access, refresh = answer.get("accessJwt"), answer.get("refreshJwt")
        if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
            raise Transient("Bluesky answered the session without its tokens")
        claims = jwt_claims(access)
        return Token(
            access_token=access,
            refresh_token=refresh,
            expires_at=utc_from_epoch(claims.get("exp")),
            scope=str(claims.get("scope") or ""),
        )

    def _call(
        self,
        method: str,
        nsid: str,
        bearer: str | None,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
        session: bool = False,
        allow_empty: bool = False,
    ) -> dict[str, Any]:
        """One XRPC call (a JSON body, or raw ``data`` of ``content_type``); the answer's JSON object (``{}`` for an
        empty answer when ``allow_empty``), or the mapped exception."""
        oauth = Credential.loads(bearer) if bearer and is_credential(bearer) else None
        headers = {"Authorization": f"Bearer {bearer}"} if bearer and oauth is None else {}
        if content_type:
            headers["Content-Type"] = content_type
        with http_session(timeout=self.timeout, user_agent=self.user_agent) as http:
            if oauth is not None:  # a DPoP-bound token, spent at the person's own PDS with a proof (nonce retried)
                response = Dpop(http, oauth.dpop_key).request(
                    method, f"{oauth.pds.rstrip('/')}/xrpc/{nsid}", access_token=oauth.token, json=json,
                    params=params, data=data, headers=headers,
                )
            else:
                try:
                    response = http.request(
                        method, f"{self.pds_url}/xrpc/{nsid}", json=json, params=params, data=data, headers=headers
                    )
                except requests.RequestException as exc:  # timeouts, refused connections
                    raise Transient(f"Bluesky unreachable: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            _raise_mapped(response, creating_session=session)
        if allow_empty and not response.text.strip():
            return {}
        body = _json_object(response.text)
        if body is None:
            raise Transient("Bluesky answered something unreadable", status=response.status_code, raw=response.text)
        return body


def check_images(media: Sequence[Media]) -> None:
    """Refuse, before anything is uploaded, images Bluesky would refuse: ``Rejected`` naming the limit.

    Args:
        media: the images of one post.
    """
    if len(media) > MAX_IMAGES:
        raise Rejected(f"Bluesky takes at most {MAX_IMAGES} images per post, not {len(media)}")
    for i, item in enumerate(media, 1):
        if item.content_type not in IMAGE_TYPES:
            raise Rejected(f"image {i}: Bluesky takes PNG, JPEG, GIF or WebP images, not {item.content_type!r}")
        if not item.data:
            raise Rejected(f"image {i} is empty")
        if len(item.data) > IMAGE_MAX_BYTES:
            raise Rejected(
                f"image {i} is {len(item.data):,} bytes; Bluesky takes images of at most {IMAGE_MAX_BYTES:,} bytes"
            )


# ---------------------------------------------------------------------------------------------- answer reading
def _json_object(raw: str) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _dump(answer: Any) -> str:
    return json.dumps(answer)[:2000]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _post_metrics(item: Any) -> PostMetrics:
    if not isinstance(item, dict) or not isinstance(item.get("uri"), str):
        raise Transient("Bluesky answered a post without its URI", raw=_dump(item))
    extra = {"bookmarks": b} if (b := _count(item.get("bookmarkCount"))) is not None else {}
    return PostMetrics(
        post_id=item["uri"],
        likes=_count(item.get("likeCount")),
        reposts=_count(item.get("repostCount")),
        replies=_count(item.get("replyCount")),
        quotes=_count(item.get("quoteCount")),
        impressions=None,  # Bluesky does not count views
        extra=extra,
    )


def _raise_mapped(response: requests.Response, *, creating_session: bool = False) -> NoReturn:
    """Raise the ``connectors.base`` exception for a failed XRPC answer (``{"error", "message"}``)."""
    status, raw = response.status_code, response.text
    body = _json_object(raw)
    name = str(body.get("error") or "") if body else ""
    message = str(body.get("message") or name or f"Bluesky answered {status}") if body else f"Bluesky answered {status}"
    if status == 429:
        reset_at = retry_after(response.headers, utc_from_epoch(response.headers.get("RateLimit-Reset")))
        raise RateLimited(message, reset_at=reset_at, status=status, raw=raw)
    if status >= 500 or body is None:  # 5xx, or an HTML/empty page from a proxy in front of the PDS
        raise Transient(message, status=status, raw=raw, retry_at=retry_after(response.headers))
    if creating_session:  # a wrong handle or app password: the person typed something wrong
        if name in REVOKED_ERRORS:
            raise AuthRevoked(message, status=status, raw=raw)
        raise Rejected(message, status=status, raw=raw)
    if name in REVOKED_ERRORS:
        raise AuthRevoked(message, status=status, raw=raw)
    if status == 401 or name in AUTH_ERRORS:  # the access JWT expired (400 ExpiredToken) or is no longer good
        raise AuthExpired(message, status=status, raw=raw)
    raise Rejected(message, status=status, raw=raw)
