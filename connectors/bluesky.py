"""Bluesky (AT Protocol): an app password opens a session on the person's PDS; posts are records in their repo.

There is no third-party OAuth for posting with an app password: ``create_session`` trades handle and app password
for an access JWT (about two hours) and a refresh JWT (about ninety days); ``refresh`` rotates the pair. The app
password itself is never kept. Links are not detected by the network: ``publish`` adds a link facet for every URL in
the text, its offsets counted in UTF-8 bytes. Images are uploaded first (``com.atproto.repo.uploadBlob``, raw bytes)
and the post carries them as an ``app.bsky.embed.images`` embed with their alt text; a post holds one embed, so with
images a link stays a facet in the text rather than a link card. Every failure leaves this module as one of the
``connectors.base`` exceptions; the expired-token answer is a 400 ``ExpiredToken``, not a 401.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NoReturn
from urllib.parse import urlsplit

import requests

from connectors.base import (
    DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT,
    IMAGE_TYPES,
    AuthExpired,
    AuthRequest,
    AuthRevoked,
    ConfigurationError,
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
        start = len(text[: match.start()].encode("utf-8"))
        end = start + len(url.encode("utf-8"))
        facets.append(
            {
                "$type": "app.bsky.richtext.facet",
                "index": {"byteStart": start, "byteEnd": end},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        )
    return facets


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
    """

    name: ClassVar[str] = "bluesky"

    def __init__(
        self,
        *,
        pds_url: str = "https://bsky.social",
        web_base_url: str = "https://bsky.app",
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
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
        try:
            answer = self._call("POST", "com.atproto.server.refreshSession", token.refresh_token)
        except AuthExpired as exc:  # an expired or revoked refresh JWT: only a new app password helps
            raise AuthRevoked(exc.message, status=exc.status, raw=exc.raw) from None
        log.info("bluesky.session refreshed pds=%s", self.pds_url)
        return self._token(answer)

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
        """Create a post; ``link`` is appended after a space unless the text holds it, and every URL gets a facet.

        Images are checked first (at most 4, PNG, JPEG, GIF or WebP, at most 2,000,000 bytes each: the lexicon's
        limit), so a refused image uploads nothing and posts nothing; then each is uploaded and the post carries
        them with their alt text. A retry uploads the images again (unused blobs are dropped by the PDS) and
        ``find_post`` finds a post with images by its text as it finds any other.

        Args:
            access_token: the session's access JWT.
            text: the post text (the PDS refuses more than 300 graphemes or 3000 bytes).
            link: a URL to add at the end.
            idempotency_key: ignored: createRecord has no idempotency key.
            media: images to attach.
        """
        media = tuple(media)
        check_images(media)
        if link and link not in text:
            text = f"{text} {link}"
        did = self._did(access_token)
        embed = {"$type": IMAGES_EMBED, "images": [self._image(access_token, m) for m in media]} if media else None
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        facets = link_facets(text)
        if facets:
            record["facets"] = facets
        if embed:
            record["embed"] = embed
        answer = self._call(
            "POST",
            "com.atproto.repo.createRecord",
            access_token,
            json={"repo": did, "collection": POST_COLLECTION, "record": record},
        )
        uri = answer.get("uri")
        match = AT_URI.match(uri) if isinstance(uri, str) else None
        if match is None:
            raise Transient("Bluesky answered the post without its at:// URI", raw=_dump(answer))
        log.info("bluesky.publish ok post_id=%s images=%d", uri, len(media))
        return PublishedPost(id=str(uri), url=f"{self.web_base_url}/profile/{match['repo']}/post/{match['rkey']}")

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

        How the delivery engine learns whether an attempt whose answer was lost did post: createRecord takes no
        idempotency key, so the repo is read (``com.atproto.repo.listRecords``) before posting again.

        Args:
            access_token: the session's access JWT.
            text: what the post holds; pass something unique to one post, such as its tracked link.
            since: the earliest ``createdAt`` to look at.
        """
        did = self._did(access_token)
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
                    return PublishedPost(
                        id=item["uri"], url=f"{self.web_base_url}/profile/{match['repo']}/post/{match['rkey']}"
                    )
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

    def _did(self, access_token: str) -> str:
        if not access_token:
            raise AuthExpired("no access token")
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
    ) -> dict[str, Any]:
        """One XRPC call (a JSON body, or raw ``data`` of ``content_type``); the answer's JSON object, or the mapped
        exception."""
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        if content_type:
            headers["Content-Type"] = content_type
        with http_session(timeout=self.timeout, user_agent=self.user_agent) as http:
            try:
                response = http.request(
                    method, f"{self.pds_url}/xrpc/{nsid}", json=json, params=params, data=data, headers=headers
                )
            except requests.RequestException as exc:  # timeouts, refused connections
                raise Transient(f"Bluesky unreachable: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            _raise_mapped(response, creating_session=session)
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
