"""LinkedIn: 3-legged OAuth 2.0 through requests-oauthlib, then the versioned REST API (``/rest/posts``).

Posting as a member takes ``w_member_social``; the member id comes from the OpenID Connect ``/v2/userinfo``. Every
``/rest/`` call carries ``LinkedIn-Version: YYYYMM`` (pinned in settings) and ``X-Restli-Protocol-Version: 2.0.0``;
when LinkedIn retires the pinned version it answers 426, raised here as ``ConfigurationError`` (an operator must
move the pin), never as a failed share. Access tokens live 60 days; refresh tokens come only to apps in LinkedIn's
partner programmes, so ``Token.expires_at`` is what reminders to reconnect are built on. Post figures need
``r_member_postAnalytics``; without it ``metrics`` answers ``PostMetrics.unavailable`` (every figure None), never
zeros. Images go through the Images API (``initializeUpload``, a ``PUT`` of the bytes to the upload URL LinkedIn
answers, then the image's status until it is AVAILABLE) and the post names them in ``content.media`` (one) or
``content.multiImage`` (two or more); a post carries an article card or media, so with images the link goes into the
commentary. The commentary is sent in LinkedIn's little-text format (``commentary``) and measured as sent against
its 3,000-character limit (``commentary_length``), so screening can count exactly what goes out; the article card's
title is the linked page's own (``article_title``). A 429 naming a DAY limit waits for midnight UTC (the whole app's
posts when it is the APPLICATION's); any other 429 or a 5xx waits for its ``Retry-After`` when one is sent. Every
failure leaves this module as one of the ``connectors.base`` exceptions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, NoReturn, TypeVar
from urllib.parse import quote, urlsplit

import requests
from requests_oauthlib import OAuth2Session

from connectors.base import (
    DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT,
    AuthExpired,
    AuthRequest,
    AuthRevoked,
    ConfigurationError,
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
)
from connectors.media import image_info
from connectors.oauth import oauth_call, oauth_session

log = logging.getLogger(__name__)

DEFAULT_VERSION = "202610"
RESTLI_PROTOCOL_VERSION = "2.0.0"
POST_URN = re.compile(r"^urn:li:(share|ugcPost):[0-9]+$")
DUPLICATE_OF = re.compile(r"\bduplicate of (urn:li:(?:share|ugcPost):[0-9]+)\b", re.IGNORECASE)  # in the 422
ANALYTICS_SCOPE = "r_member_postAnalytics"
# queryTypes of memberCreatorPostAnalytics read per post: likes, reposts, replies, impressions; members reached in extra
QUERY_TYPES = ("REACTION", "RESHARE", "COMMENT", "IMPRESSION", "MEMBERS_REACHED")
LITTLE_TEXT_RESERVED = set("\\|{}@[]()<>#*_~")
HASHTAG = re.compile(r"(?<![\w#])#(\w+)")
# LinkedIn refuses a commentary over 3,000 characters with a 400 "ShareCommentary text length (N characters) exceeded
# the maximum allowed (3000 characters)" (PLATFORMS-2026.md §4, n8n-io/n8n#22899). Whether its little-text escapes and
# hashtag templates count is not documented (PLATFORMS-2026.md: "Whether escapes count: NF"); LinkedIn counts the
# commentary it receives, and one third-party client records a refusal counted after escaping (yohimik/crier,
# "counted after escaping"), as did issue 13 (3,011 sent against 3,000). So the limit is applied here to the commentary
# exactly as sent, escapes and templates included: never refused for length by LinkedIn, at the cost of a few
# characters' headroom. "Characters" are counted as LinkedIn's Java services count a string's length, in UTF-16 code
# units (an emoji outside the BMP is 2), our inference and the stricter count.
MAX_COMMENTARY = 3000
# A 429 naming a DAY limit ("Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
# "... APPLICATION_AND_MEMBER DAY limit ..."; the bodies third-party clients record, PLATFORMS-2026.md §4) is one of
# LinkedIn's documented daily limits, which reset at midnight UTC; any other 429 is its infrastructure protection,
# which "will return to normal automatically" (learn.microsoft.com/linkedin/shared/api-guide/concepts/rate-limits).
DAY_LIMIT = re.compile(r"\b(APPLICATION_AND_MEMBER|APPLICATION|MEMBER)\s+DAY\s+limit\b", re.IGNORECASE)
MAX_TITLE = 200
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}  # what the Images API takes
IMAGE_MAX_PIXELS = 36_152_320  # the Images API's limit
MAX_IMAGES = 20  # a multiImage post holds 2 to 20 images
MAX_ALT_TEXT = 4086  # characters of an image's altText
T = TypeVar("T")


class _DropDebugRecords(logging.Filter):
    """requests-oauthlib puts token answers in its DEBUG lines: never let one out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_oauth_logger = logging.getLogger("requests_oauthlib.oauth2_session")
if not any(type(f).__name__ == "_DropDebugRecords" for f in _oauth_logger.filters):
    _oauth_logger.addFilter(_DropDebugRecords())


def little_text(text: str) -> str:
    """``text`` in LinkedIn's "little text" format: reserved characters escaped, ``#word`` as a hashtag template.

    LinkedIn silently drops what follows an unescaped reserved character (``(``, ``@``, ``_``…) in commentary.

    Args:
        text: the plain text of the post.
    """
    out: list[str] = []
    pos = 0
    for match in HASHTAG.finditer(text):
        out.append(_escape(text[pos : match.start()]))
        out.append("{hashtag|\\#|" + _escape(match.group(1)) + "}")
        pos = match.end()
    out.append(_escape(text[pos:]))
    return "".join(out)


def _escape(chunk: str) -> str:
    return "".join("\\" + ch if ch in LITTLE_TEXT_RESERVED else ch for ch in chunk)


def commentary(text: str, link: str | None = None, *, media: bool = False) -> str:
    """The ``commentary`` exactly as ``LinkedInConnector.publish`` sends it: with images the link joins the text (a
    post carries an article card or media, not both), without them it goes in the article card and not here; then
    the whole is escaped to little text.

    Args:
        text: the plain text of the post.
        link: the post's link.
        media: whether the post carries images.
    """
    if media and link and link not in text:
        text = f"{text} {link}"
    return little_text(text)


def commentary_length(sent: str) -> int:
    """The length of a commentary as LinkedIn measures it against ``MAX_COMMENTARY`` (UTF-16 code units).

    Args:
        sent: the commentary as sent (``commentary(...)``), escapes included.
    """
    return len(sent.encode("utf-16-le")) // 2


def next_midnight_utc(now: dt.datetime | None = None) -> dt.datetime:
    """When LinkedIn's daily limits reset (it sends no rate-limit headers).

    Args:
        now: the current time (aware); defaults to now.
    """
    now = now or dt.datetime.now(dt.UTC)
    return dt.datetime.combine(now.astimezone(dt.UTC).date() + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


@register
class LinkedInConnector:
    """A client of the LinkedIn API for one app (client id and secret); holds no per-user state.

    Args:
        api_base_url: where the API lives (``https://api.linkedin.com``, or a sandbox).
        authorize_url: the consent page people are sent to.
        token_url: the OAuth 2.0 token endpoint (``accessToken``).
        web_base_url: where post pages live, for the URL of a published post.
        client_id: the app's client id.
        client_secret: the app's client secret (LinkedIn web apps are confidential clients).
        version: the ``LinkedIn-Version`` sent on every ``/rest/`` call, ``YYYYMM``.
        scopes: scopes asked for; add ``r_member_postAnalytics`` when the app holds it, to read post figures.
        timeout: seconds for connect and for read on every request.
        user_agent: sent on every request.
        media_wait: seconds to wait, at most, for an uploaded image to be processed (AVAILABLE) before posting.
    """

    name: ClassVar[str] = "linkedin"
    uses_link_title: ClassVar[bool] = True  # the article card's title (``publish(link_title=…)``)

    def __init__(
        self,
        *,
        api_base_url: str = "https://api.linkedin.com",
        authorize_url: str = "https://www.linkedin.com/oauth/v2/authorization",
        token_url: str = "https://www.linkedin.com/oauth/v2/accessToken",
        web_base_url: str = "https://www.linkedin.com",
        client_id: str = "",
        client_secret: str | None = None,
        version: str = DEFAULT_VERSION,
        scopes: Sequence[str] = ("openid", "profile", "w_member_social"),
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = DEFAULT_USER_AGENT,
        media_wait: float = 10.0,
    ) -> None:
        for setting, url in (("api_base_url", api_base_url), ("token_url", token_url)):
            if urlsplit(url).scheme not in ("http", "https"):
                raise ConfigurationError(f"LinkedIn {setting} must be an http(s) URL, not {url!r}")
        if not re.fullmatch(r"20[0-9]{2}(0[1-9]|1[0-2])(\.[0-9]{2})?", version or ""):
            raise ConfigurationError(f"LinkedIn version must look like 202610 (YYYYMM), not {version!r}")
        self.api_base_url = api_base_url.rstrip("/")
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.web_base_url = web_base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret or None
        self.version = version
        self.scopes = tuple(scopes)
        self.timeout = timeout
        self.user_agent = user_agent
        self.media_wait = media_wait

    def __repr__(self) -> str:
        return f"LinkedInConnector(api_base_url={self.api_base_url!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------------------------------------- OAuth
    def authorization_url(self, redirect_uri: str) -> AuthRequest:
        """Where to send the person to consent, with a fresh state (LinkedIn web apps use no PKCE).

        Args:
            redirect_uri: our callback, exactly as registered with the LinkedIn app.
        """
        self._require_client()
        with self._oauth_session(redirect_uri=redirect_uri, scope=list(self.scopes)) as oauth:
            url, state = self._oauth_call(self.authorize_url, lambda: oauth.authorization_url(self.authorize_url))
        return AuthRequest(url=url, state=state, code_verifier=None)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> Token:
        """Trade the code from the callback for a 60-day token (and a refresh token, for partner apps).

        Args:
            code: the ``code`` query parameter of the callback.
            redirect_uri: the same callback URL the authorization request named.
            code_verifier: unused (LinkedIn web apps use no PKCE); accepted for the protocol.
        """
        self._require_client()
        with self._oauth_session(redirect_uri=redirect_uri) as oauth:
            oauth.register_compliance_hook("access_token_response", self._check_token_answer(refreshing=False))
            answer = self._oauth_call(
                self.token_url,
                lambda: oauth.fetch_token(
                    self.token_url, code=code, client_secret=self.client_secret, include_client_id=True
                ),
            )
        log.info("linkedin.oauth exchanged client_id=%s", self.client_id)
        return self._token(answer)

    def refresh(self, token: Token) -> Token:
        """A new access token from the refresh token (LinkedIn keeps the same refresh token, not extended).

        Args:
            token: the current token set; without a refresh token the person must reconnect (``AuthRevoked``).
        """
        self._require_client()
        if not token.refresh_token:
            raise AuthRevoked("LinkedIn issued no refresh token to this app: the person must reconnect")
        with self._oauth_session() as oauth:
            oauth.register_compliance_hook("refresh_token_response", self._check_token_answer(refreshing=True))
            answer = self._oauth_call(
                self.token_url,
                lambda: oauth.refresh_token(
                    self.token_url,
                    refresh_token=token.refresh_token,
                    client_id=self.client_id,
                    client_secret=self.client_secret,
                ),
            )
        log.info("linkedin.oauth refreshed client_id=%s", self.client_id)
        return self._token(answer, previous=token)

    def revoke(self, token: Token) -> None:
        """End this app's access for the member (``POST /oauth/v2/revoke``, ``RevokesTokens``).

        Args:
            token: the member's token set (its access token is revoked).
        """
        self._require_client()
        revoke_access_token(self.token_url.rsplit("/", 1)[0] + "/revoke", self.client_id, self.client_secret or "",
                            token.access_token, timeout=self.timeout, user_agent=self.user_agent)

    # -------------------------------------------------------------------------------------------------- API
    def profile(self, access_token: str) -> Profile:
        """The member's id (``sub``) and name from ``/v2/userinfo``; LinkedIn gives no follower count here.

        Args:
            access_token: the member's access token (with ``openid`` and ``profile``).
        """
        body = self._json(self._call("GET", "/v2/userinfo", access_token, versioned=False), dict)
        sub, name = body.get("sub"), body.get("name")
        if not isinstance(sub, str) or not sub:
            raise Transient("LinkedIn answered /v2/userinfo without a member id", status=200, raw=json.dumps(body))
        return Profile(id=sub, handle=str(name) if isinstance(name, str) and name else sub, followers=None)

    def author_urn(self, access_token: str) -> str:
        """``urn:li:person:{sub}``, the author of the member's posts.

        Args:
            access_token: the member's access token.
        """
        return f"urn:li:person:{self.profile(access_token).id}"

    def publish(
        self, access_token: str, text: str, link: str | None = None, *, idempotency_key: str | None = None,
        media: Sequence[Media] = (), link_title: str | None = None,
    ) -> PublishedPost:
        """Post as the member, publicly; ``link`` becomes the post's article card, or, with images, joins the text.

        A commentary LinkedIn would refuse as too long (over ``MAX_COMMENTARY`` as sent, see ``commentary``) is
        refused here first (``Rejected``), before anything is uploaded.

        Images are checked first (JPEG, PNG or GIF, at most 36,152,320 pixels, at most 20), so a refused image
        uploads nothing and posts nothing; each is then uploaded through the Images API and waited for until LinkedIn
        has processed it. A retry uploads the images again; the repeated text is refused as a duplicate (422 naming
        the post LinkedIn already holds, kept as the ``Duplicate``'s ``existing``), which the delivery engine records as
        our own post.

        Args:
            access_token: the member's access token (with ``w_member_social``).
            text: the post commentary, plain text (escaped to little text here).
            link: a URL for the article card (without images) or for the end of the text (with images).
            idempotency_key: ignored: LinkedIn has no idempotency header; a repeat is refused as a duplicate (422,
                naming the post it already holds) instead.
            media: images to attach, with their alt text.
            link_title: the title of the page ``link`` leads to, for the article card; without it, the link's host
                name (never the post's text).
        """
        media = tuple(media)
        check_images(media)
        sent = commentary(text, link, media=bool(media))
        if (length := commentary_length(sent)) > MAX_COMMENTARY:
            raise Rejected(f"LinkedIn takes a commentary of at most {MAX_COMMENTARY:,} characters as sent (little-text "
                           f"escapes included); this one is {length:,}")
        author = self.author_urn(access_token)
        images = [(self._upload_image(access_token, author, m), m.alt) for m in media]
        body: dict[str, Any] = {
            "author": author,
            "commentary": sent,
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if len(images) == 1:
            body["content"] = {"media": _media_item(*images[0])}
        elif images:
            body["content"] = {"multiImage": {"images": [_media_item(urn, alt) for urn, alt in images]}}
        elif link:
            body["content"] = {"article": {"source": link, "title": article_title(link, link_title)}}
        try:
            response = self._call("POST", "/rest/posts", access_token, json_body=body)
        except Duplicate as exc:
            raise self._naming_existing(exc) from None
        urn = response.headers.get("x-restli-id", "")
        if not POST_URN.match(urn):
            raise Transient("LinkedIn answered the post without its id (x-restli-id)", status=response.status_code,
                            raw=response.text)
        log.info("linkedin.publish ok post_id=%s images=%d", urn, len(images))
        return PublishedPost(id=urn, url=self.post_url(urn))

    def post_url(self, post_id: str) -> str:
        """Where a person sees the post.

        Args:
            post_id: the post URN.
        """
        return f"{self.web_base_url}/feed/update/{post_id}/"

    def _naming_existing(self, exc: Duplicate) -> Duplicate:
        """The duplicate refusal with the post LinkedIn already holds (``existing``), when its message names it
        ("Content is a duplicate of urn:li:share:…"); as it was otherwise."""
        match = DUPLICATE_OF.search(exc.message)
        if match is None:
            return exc
        urn = match.group(1)
        log.info("linkedin.publish duplicate_of post_id=%s", urn)
        return Duplicate(exc.message, existing=PublishedPost(id=urn, url=self.post_url(urn)), status=exc.status,
                         raw=exc.raw)

    def delete(self, access_token: str, post_id: str) -> None:
        """Delete one of the member's posts (a 404 is raised as ``Rejected`` with ``status`` 404).

        Args:
            access_token: the member's access token.
            post_id: the URN ``publish`` returned.
        """
        if not POST_URN.match(post_id):
            raise Rejected(f"{post_id!r} is not a LinkedIn post URN")
        self._call("DELETE", f"/rest/posts/{quote(post_id, safe='')}", access_token)
        log.info("linkedin.delete ok post_id=%s", post_id)

    def metrics(self, access_token: str, post_ids: Sequence[str]) -> list[PostMetrics]:
        """Figures of the member's posts from Member Post Analytics, one call per post and figure.

        Without ``r_member_postAnalytics`` every post answers ``PostMetrics.unavailable`` (never zeros). Posts
        LinkedIn no longer has are left out of the answer.

        Args:
            access_token: the member's access token.
            post_ids: post URNs.
        """
        found: list[PostMetrics] = []
        for post_id in dict.fromkeys(str(i) for i in post_ids):
            if not POST_URN.match(post_id):
                log.warning("linkedin.metrics skipped post_id=%s reason=not_a_post_urn", post_id)
                continue
            figures: dict[str, int | None] = {}
            try:
                for query_type in QUERY_TYPES:
                    figures[query_type] = self._analytics(access_token, post_id, query_type)
            except _Unavailable:
                return [PostMetrics.unavailable(p) for p in dict.fromkeys(str(i) for i in post_ids)
                        if POST_URN.match(p)]
            except _Gone:
                continue
            extra = {"members_reached": r} if (r := figures.get("MEMBERS_REACHED")) is not None else {}
            found.append(PostMetrics(post_id=post_id, likes=figures.get("REACTION"), reposts=figures.get("RESHARE"),
                                     replies=figures.get("COMMENT"), impressions=figures.get("IMPRESSION"),
                                     extra=extra))
        return found

    # ----------------------------------------------------------------------------------------------- helpers
    def _upload_image(self, access_token: str, owner: str, media: Media) -> str:
        """initializeUpload, the PUT of the bytes to the upload URL LinkedIn answered, then wait for AVAILABLE."""
        answer = self._json(self._call("POST", "/rest/images?action=initializeUpload", access_token,
                                       json_body={"initializeUploadRequest": {"owner": owner}}), dict)  # fmt: skip
        value = answer.get("value")
        upload_url = value.get("uploadUrl") if isinstance(value, dict) else None
        image = value.get("image") if isinstance(value, dict) else None
        if (not isinstance(upload_url, str) or urlsplit(upload_url).scheme not in ("http", "https")
                or not isinstance(image, str) or not image.startswith("urn:li:image:")):  # fmt: skip
            raise Transient("LinkedIn answered initializeUpload without an upload URL and image URN", status=200,
                            raw=json.dumps(answer))  # fmt: skip
        self._call("PUT", upload_url, access_token, data=media.data, content_type=media.content_type,
                   versioned=False, absolute=True)  # fmt: skip
        log.info("linkedin.image uploaded image=%s size=%d", image, len(media.data))
        self._wait_available(access_token, image)
        return image

    def _wait_available(self, access_token: str, image: str) -> None:
        """Read the image's status until LinkedIn has processed it; ``Transient`` if it takes longer than
        ``media_wait``, ``Rejected`` if processing failed."""
        deadline = time.monotonic() + self.media_wait
        pause = 0.2
        while True:
            response = self._call("GET", f"/rest/images/{quote(image, safe='')}", access_token)
            status = self._json(response, dict).get("status")
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise Rejected(f"LinkedIn could not process image {image} (JPEG, PNG or GIF within "
                               f"{IMAGE_MAX_PIXELS:,} pixels)", status=200, raw=response.text)  # fmt: skip
            if time.monotonic() + pause > deadline:
                raise Transient(f"LinkedIn is still processing image {image} (status {status})", status=200,
                                raw=response.text)  # fmt: skip
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    def _analytics(self, access_token: str, post_id: str, query_type: str) -> int | None:
        kind = post_id.split(":")[2]
        entity = f"({kind}:{quote(post_id, safe='')})"  # Rest.li 2.0: structure bare, the URN encoded
        path = f"/rest/memberCreatorPostAnalytics?q=entity&entity={entity}&queryType={query_type}&aggregation=TOTAL"
        try:
            response = self._call("GET", path, access_token)
        except Rejected as exc:
            if exc.status == 403:
                raise _Unavailable from None
            if exc.status == 404:
                raise _Gone from None
            raise
        elements = self._json(response, dict).get("elements")
        if not isinstance(elements, list):
            raise Transient("LinkedIn answered analytics without elements", status=200, raw=response.text)
        counts = [e.get("count") for e in elements if isinstance(e, dict)]
        known = [c for c in counts if isinstance(c, int) and not isinstance(c, bool)]
        return sum(known) if known else None

    def _require_client(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ConfigurationError("no LinkedIn client id and secret configured (set those of your LinkedIn app)")

    def _oauth_session(self, **kw: Any) -> AbstractContextManager[OAuth2Session]:
        return oauth_session(self.client_id, timeout=self.timeout, user_agent=self.user_agent, **kw)

    def _oauth_call(self, url: str, call: Callable[[], T]) -> T:
        return oauth_call("LinkedIn", url, call)

    @staticmethod
    def _check_token_answer(*, refreshing: bool) -> Callable[[requests.Response], requests.Response]:
        """A requests-oauthlib hook: map a failed token answer before oauthlib parses it; normalise the scope.

        LinkedIn lists granted scopes comma-separated (``openid,profile``); OAuth 2.0 separates them with spaces.
        """

        def check(response: requests.Response) -> requests.Response:
            status, raw = response.status_code, response.text
            body = _json_object(raw)
            if 200 <= status < 300:
                if body is None or not body.get("access_token"):
                    raise Transient("LinkedIn token endpoint answered without a token", status=status, raw=raw)
                if isinstance(body.get("scope"), str):
                    body["scope"] = " ".join(s for s in re.split(r"[,\s]+", body["scope"]) if s)
                    response._content = json.dumps(body).encode()
                return response
            if status == 429:
                raise _rate_limited("LinkedIn token endpoint: too many requests", response, body)
            if status >= 500 or body is None:
                raise Transient(f"LinkedIn token endpoint answered {status}", status=status, raw=raw,
                                retry_at=retry_after(response.headers))
            error = str(body.get("error") or "")
            message = f"LinkedIn token endpoint: {error or status}: {body.get('error_description') or ''}".rstrip(": ")
            if error in ("invalid_client", "unauthorized_client"):  # our client id or secret: an operator must act
                raise ConfigurationError(message, status=status, raw=raw)
            if refreshing and status in (400, 401):
                raise AuthRevoked(message, status=status, raw=raw)
            raise Rejected(message, status=status, raw=raw)

        return check

    def _token(self, answer: Mapping[str, Any], previous: Token | None = None) -> Token:
        now = dt.datetime.now(dt.UTC)
        try:
            expires_at: dt.datetime | None = now + dt.timedelta(seconds=float(answer["expires_in"]))
        except (KeyError, TypeError, ValueError, OverflowError):
            expires_at = None  # LinkedIn always says; None means "unknown", never "now"
        scope = answer.get("scope")
        if isinstance(scope, list):
            scope = " ".join(scope)
        refresh = answer.get("refresh_token") or (previous.refresh_token if previous else None)
        return Token(
            access_token=str(answer["access_token"]),
            refresh_token=refresh or None,
            expires_at=expires_at,
            scope=str(scope or (previous.scope if previous else "") or " ".join(self.scopes)),
        )

    def _call(
        self,
        method: str,
        path: str,
        access_token: str,
        *,
        json_body: Any = None,
        versioned: bool = True,
        data: bytes | None = None,
        content_type: str | None = None,
        absolute: bool = False,
    ) -> requests.Response:
        """One API request with the member's token (and the version headers on ``/rest/``); failures mapped.

        ``absolute``: ``path`` is a whole URL LinkedIn answered (an image's upload URL), used as given.
        """
        if not access_token:
            raise AuthExpired("no access token")
        headers = {"Authorization": f"Bearer {access_token}"}
        if versioned:
            headers |= {"LinkedIn-Version": self.version, "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION}
        if content_type:
            headers["Content-Type"] = content_type
        url = path if absolute else self.api_base_url + path
        with http_session(timeout=self.timeout, user_agent=self.user_agent) as session:
            try:
                response = session.request(method, url, headers=headers, json=json_body, data=data)
            except requests.RequestException as exc:  # timeouts, refused connections
                raise Transient(f"LinkedIn unreachable: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            _raise_mapped(response)
        return response

    @staticmethod
    def _json(response: requests.Response, kind: type) -> Any:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, kind):
            raise Transient("LinkedIn answered something unreadable", status=response.status_code, raw=response.text)
        return body


class _Unavailable(Exception):
    """Analytics refused (403): the app was not granted ``r_member_postAnalytics``."""


class _Gone(Exception):
    """LinkedIn has no such post (any more)."""


def check_images(media: Sequence[Media]) -> None:
    """Refuse, before anything is uploaded, images LinkedIn would refuse: ``Rejected`` naming the limit.

    Args:
        media: the images of one post.
    """
    if len(media) > MAX_IMAGES:
        raise Rejected(f"LinkedIn takes at most {MAX_IMAGES} images per post, not {len(media)}")
    for i, item in enumerate(media, 1):
        if item.content_type not in IMAGE_FORMATS:
            raise Rejected(f"image {i}: LinkedIn takes {', '.join(IMAGE_FORMATS.values())} images, not "
                           f"{item.content_type!r}")  # fmt: skip
        if not item.data:
            raise Rejected(f"image {i} is empty")
        info = image_info(item.data)
        if info is not None and info.pixels is not None and info.pixels > IMAGE_MAX_PIXELS:
            raise Rejected(f"image {i} is {info.width}x{info.height}, {info.pixels:,} pixels; LinkedIn takes images "
                           f"of at most {IMAGE_MAX_PIXELS:,} pixels")  # fmt: skip
        if len(item.alt) > MAX_ALT_TEXT:
            raise Rejected(f"image {i}: its alt text is {len(item.alt):,} characters; LinkedIn takes at most "
                           f"{MAX_ALT_TEXT:,}")  # fmt: skip


def _media_item(urn: str, alt: str) -> dict[str, str]:
    return {"id": urn, "altText": alt} if alt else {"id": urn}


def article_title(link: str, title: str | None = None) -> str:
    """The title of a post's article card: the linked page's own title, else the link's host name.

    Args:
        link: the article's URL.
        title: the page's title (its Open Graph or ``<title>``, as comms edited it), if known.
    """
    chosen = " ".join((title or "").split()) or urlsplit(link).hostname or link
    return chosen if len(chosen) <= MAX_TITLE else chosen[: MAX_TITLE - 1].rstrip() + "…"


def _json_object(raw: str) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _rate_limited(message: str, response: requests.Response, body: Mapping[str, Any] | None) -> RateLimited:
    """A 429 as ``RateLimited``: a documented daily limit (its message names a DAY limit) frees at midnight UTC, for
    the whole app when it is the APPLICATION's; any other 429 (infrastructure protection) when ``Retry-After`` says,
    else unknown (``reset_at`` None: a short backoff). LinkedIn documents no rate-limit headers and no Retry-After;
    one is honoured wherever it is sent."""
    said = retry_after(response.headers)
    day = DAY_LIMIT.search(str(body.get("message") or "")) if body else None
    if day is not None:
        scope = day.group(1).upper()
        return RateLimited(message, reset_at=max(next_midnight_utc(), said or next_midnight_utc()),
                           app_wide=scope == "APPLICATION", status=429, raw=response.text)
    return RateLimited(message, reset_at=said, status=429, raw=response.text)


def _raise_mapped(response: requests.Response) -> NoReturn:
    """Raise the ``connectors.base`` exception for a failed LinkedIn API answer."""
    status, raw = response.status_code, response.text
    body = _json_object(raw)
    code = str(body.get("code") or "") if body else ""
    message = str(body.get("message") or "") if body else ""
    message = f"LinkedIn: {message or code or f'answered {status}'}"
    if status == 401:
        if code in ("REVOKED_ACCESS_TOKEN", "INVALID_ACCESS_TOKEN"):
            raise AuthRevoked(message, status=status, raw=raw)
        raise AuthExpired(message, status=status, raw=raw)
    if status == 426 or code in ("VERSION_MISSING", "INVALID_VERSION", "NONEXISTENT_VERSION"):
        raise ConfigurationError(f"{message} (move the pinned LinkedIn-Version to a supported month)",
                                 status=status, raw=raw)
    if status == 429:
        raise _rate_limited(message, response, body)
    if status >= 500 or body is None:  # 5xx, or an HTML/empty page from something in front of LinkedIn
        raise Transient(message, status=status, raw=raw, retry_at=retry_after(response.headers))
    if status == 422 and "duplicate" in message.lower():
        raise Duplicate(message, status=status, raw=raw)
    if 400 <= status < 500:
        raise Rejected(message, status=status, raw=raw)
    raise Transient(message, status=status, raw=raw)


def revoke_access_token(url: str, client_id: str, client_secret: str, access_token: str, *, timeout: float,
                        user_agent: str) -> None:
    """``POST https://www.linkedin.com/oauth/v2/revoke`` (form ``client_id``, ``client_secret``, ``token``): 200 when
    done; otherwise the ``connectors.base`` exception (an unknown client is LinkedIn's 401 ``invalid_client``).

    Args:
        url: the revoke endpoint.
        client_id: the app's client id.
        client_secret: the app's client secret.
        access_token: the token to revoke.
        timeout: seconds for connect and read.
        user_agent: sent with the request.
    """
    form = {"client_id": client_id, "client_secret": client_secret, "token": access_token}
    with http_session(timeout=timeout, user_agent=user_agent) as session:
        try:
            response = session.post(url, data=form)
        except requests.RequestException as exc:
            raise Transient(f"LinkedIn revoke endpoint unreachable: {type(exc).__name__}") from None
    status, raw = response.status_code, response.text
    if 200 <= status < 300:
        log.info("linkedin.oauth revoked client_id=%s", client_id)
        return
    body = _json_object(raw) or {}
    message = f"LinkedIn revoke endpoint: {body.get('error') or status}: {body.get('error_description') or ''}"
    if status == 429:
        raise RateLimited(message.rstrip(": "), reset_at=retry_after(response.headers), status=status, raw=raw)
    if status >= 500 or not body:
        raise Transient(message.rstrip(": "), status=status, raw=raw, retry_at=retry_after(response.headers))
    if status == 401 or body.get("error") == "invalid_client":
        raise ConfigurationError(message.rstrip(": "), status=status, raw=raw)
    raise Rejected(message.rstrip(": "), status=status, raw=raw)
