"""Threads (Meta's Threads API, graph.threads.net): OAuth, the two-step publish, insights, delete.

Connecting: the person consents on ``threads.com/oauth/authorize`` (scopes comma-separated), the code is traded for a
short-lived token (one hour, ``POST /oauth/access_token``), and that at once for a long-lived one (60 days,
``GET /access_token?grant_type=th_exchange_token``). A long-lived token refreshes itself
(``GET /refresh_access_token?grant_type=th_refresh_token``) once it is 24 hours old and until it expires, for
another 60 days; so ``Token.refresh_token`` is the access token itself, and the app's token upkeep refreshes it ahead
of its expiry like any other. An expired or revoked token cannot be refreshed: the person must reconnect.

Publishing is two calls: a media container (``POST /me/threads``: ``TEXT`` with the tracked link as its
``link_attachment``, or ``IMAGE`` fetched by Threads from a public ``image_url`` with its ``alt_text``), then, once
its ``status`` is ``FINISHED``, ``POST /me/threads_publish?creation_id=…``. Exactly once: the container id is kept
per share (``containers``, keyed by the share's idempotency key), so a retry after a lost answer reads that
container's status and publishes the same container, or recognises it ``PUBLISHED`` and finds the post by its link
in the person's recent posts, instead of making a second container. A container that ends ``ERROR`` or ``EXPIRED``
fails the share with Threads' message.

Graph errors (``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``) are mapped by their code,
not the HTTP status: 190 is an expired (subcode 463) or revoked token, 4/17/32/613 are rate limits. Tokens travel in
query strings on the token endpoints only; API calls send them as a bearer header, and no URL reaches an error.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NoReturn, Protocol
from urllib.parse import urlencode

import regex
import requests

from connectors.base import (
    DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT,
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
)

log = logging.getLogger(__name__)

DEFAULT_SCOPES = ("threads_basic", "threads_content_publish", "threads_manage_insights", "threads_delete")
MAX_CHARACTERS = 500  # text, emoji counted as their UTF-8 bytes
MAX_LINKS = 5  # unique URLs in the text plus a different link_attachment
TOPIC_TAG_MAX = 50
IMAGE_MAX_BYTES = 8 * 1024 * 1024  # Threads' image limit (8 MB)
IMAGE_FORMATS = ("image/jpeg", "image/png")  # what Threads fetches for IMAGE containers
MAX_IMAGES = 1  # one IMAGE container per post here (a carousel is not built)
RATE_CODES = frozenset({4, 17, 32, 613})
APP_RATE_CODES = frozenset({4, 32})
EXPIRED_SUBCODE = 463
POLL_FIRST, POLL_MAX = 0.1, 5.0  # seconds between container status checks: doubling, capped
FIND_PAGE_SIZE = 50
FIND_PAGES = 6
QUOTA_RECHECK = dt.timedelta(hours=1)  # a moving 24 h window names no reset time: look again in an hour
URL_RE = regex.compile(r"https?://[^\s<>\"]+", regex.IGNORECASE)
EMOJI_RE = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}]")


class _RedactSecrets(logging.Filter):
    """urllib3 logs each request line at DEBUG, query string included: Threads' token calls carry the token and the
    app secret there (and Graph's ``paging.next`` URLs the token). Blank them in every record."""

    PATTERN = regex.compile(r"((?:access_token|client_secret|code)=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "access_token=" in message or "client_secret=" in message:
            record.msg, record.args = self.PATTERN.sub(r"\1[redacted]", message), None
        return True


_urllib3_logger = logging.getLogger("urllib3.connectionpool")
if not any(type(f).__name__ == "_RedactSecrets" for f in _urllib3_logger.filters):
    _urllib3_logger.addFilter(_RedactSecrets())


# ------------------------------------------------------------------------------------------------------ counting
def text_length(text: str) -> int:
    """The length of ``text`` as Threads counts it against its 500: one per character, an emoji as its UTF-8 bytes.

    A grapheme holding an emoji (a family, a flag, a skin tone) counts all its bytes; any other grapheme counts its
    code points.

    Args:
        text: the text as sent.
    """
    total = 0
    for grapheme in regex.findall(r"\X", text):
        total += len(grapheme.encode("utf-8")) if EMOJI_RE.search(grapheme) else len(grapheme)
    return total


def links_in(text: str, link: str | None = None) -> list[str]:
    """The unique URLs Threads counts against its 5: those in the text, plus ``link`` when it is a different one."""
    found = list(dict.fromkeys(m.rstrip(".,;:!?)") for m in URL_RE.findall(text)))
    if link and link not in found:
        found.append(link)
    return found


def post_text(text: str, link: str | None, *, media: bool = False) -> str:
    """The text ``publish`` sends: a text post carries the link as its ``link_attachment`` card, outside the text; an
    image post cannot, so the link is appended to the text (unless the text holds it already)."""
    if media and link and link not in text:
        return f"{text} {link}"
    return text


class ContainerStore(Protocol):
    """Where the container made for each share is kept (the app keeps it, keyed by the share's idempotency key)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, container_id: str) -> None: ...


@register
class ThreadsConnector:
    """A client of the Threads API for this app; holds no per-user state.

    Args:
        client_id: the Threads app id (not the Facebook app id).
        client_secret: the Threads app secret.
        api_base_url: ``https://graph.threads.net`` (or a sandbox); the API version is added to it.
        authorize_url: the consent page.
        token_url: the code exchange (``POST``).
        web_base_url: where Threads shows a post, when the API gives no permalink.
        version: the Graph API version path.
        scopes: asked of the person.
        containers: keeps the container id of each share between attempts (None: not kept; a retry after a lost
            answer then relies on ``find_post`` alone).
        image_url: turns an image into a public URL Threads can fetch (``media`` needs one).
        container_wait: seconds a publish waits for a container to be processed before it gives up (``Transient``:
            the next attempt checks the same container).
        topic_tag: the topic every post carries unless ``publish`` names one.
        timeout: seconds for connect and read on every request.
        user_agent: sent on every request.
    """

    name: ClassVar[str] = "threads"

    def __init__(
        self, *, client_id: str = "", client_secret: str | None = None,
        api_base_url: str = "https://graph.threads.net", authorize_url: str = "https://threads.com/oauth/authorize",
        token_url: str = "https://graph.threads.net/oauth/access_token", web_base_url: str = "https://www.threads.com",
        version: str = "v1.0", scopes: Sequence[str] = DEFAULT_SCOPES, containers: ContainerStore | None = None,
        image_url: Callable[[Media, str], str] | None = None, container_wait: float = 60.0,
        topic_tag: str | None = None, timeout: float = DEFAULT_TIMEOUT, user_agent: str = DEFAULT_USER_AGENT,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret or ""
        self.api_base_url = api_base_url.rstrip("/")
        self.api_url = f"{self.api_base_url}/{version}" if version else self.api_base_url
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.web_base_url = web_base_url.rstrip("/")
        self.scopes = tuple(scopes)
        self.containers = containers
        self.image_url = image_url
        self.container_wait = container_wait
        self.topic_tag = topic_tag or None
        self.timeout = timeout
        self.user_agent = user_agent
        self._session = http_session(timeout=timeout, user_agent=user_agent)

    def __repr__(self) -> str:
        return f"ThreadsConnector(api_base_url={self.api_base_url!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------------------------------------- OAuth
    def authorization_url(self, redirect_uri: str) -> AuthRequest:
        """Threads' consent page for this app's scopes, with a fresh ``state`` (Threads takes no PKCE).

        Args:
            redirect_uri: our callback, exactly as registered in the Threads app.
        """
        self._require_client()
        state = secrets.token_urlsafe(32)
        query = urlencode({"client_id": self.client_id, "redirect_uri": redirect_uri,
                           "scope": ",".join(self.scopes), "response_type": "code", "state": state})
        return AuthRequest(url=f"{self.authorize_url}?{query}", state=state)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> Token:
        """Trade the callback's code for a short-lived token, and that at once for a long-lived (60-day) one.

        Args:
            code: the callback's ``code``.
            redirect_uri: the callback URL the authorization request named.
            code_verifier: unused (Threads takes no PKCE).
        """
        self._require_client()
        short = self._token_call("POST", self.token_url, data={
            "client_id": self.client_id, "client_secret": self.client_secret, "grant_type": "authorization_code",
            "redirect_uri": redirect_uri, "code": code})
        long = self._token_call("GET", f"{self.api_base_url}/access_token", params={
            "grant_type": "th_exchange_token", "client_secret": self.client_secret,
            "access_token": str(short["access_token"])})
        log.info("threads.oauth exchanged client_id=%s", self.client_id)
        return self._token(long)

    def refresh(self, token: Token) -> Token:
        """A new 60-day token for a long-lived one at least 24 hours old and not expired (``th_refresh_token``).

        Threads refuses an expired or revoked token (190): that is ``AuthRevoked``, the person must reconnect.

        Args:
            token: the stored token (its access token is what Threads refreshes).
        """
        current = token.refresh_token or token.access_token
        try:
            answer = self._token_call("GET", f"{self.api_base_url}/refresh_access_token",
                                      params={"grant_type": "th_refresh_token", "access_token": current})
        except AuthExpired as exc:
            raise AuthRevoked(f"Threads will not refresh an expired token: the person must reconnect ({exc.message})",
                              status=exc.status, raw=exc.raw) from None
        log.info("threads.oauth refreshed client_id=%s", self.client_id)
        return self._token(answer, scope=token.scope)

    def _token(self, answer: Mapping[str, Any], scope: str | None = None) -> Token:
        access = answer.get("access_token")
        if not isinstance(access, str) or not access:
            raise Transient("Threads answered the token call without a token", raw=_dump(answer))
        lifetime = answer.get("expires_in")
        expires_at = None
        if isinstance(lifetime, int | float) and not isinstance(lifetime, bool):
            expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(lifetime))
        return Token(access_token=access, refresh_token=access, expires_at=expires_at,
                     scope=scope or ",".join(self.scopes))

    # -------------------------------------------------------------------------------------------------- API
    def profile(self, access_token: str) -> Profile:
        """The person's Threads user id and username (``GET /me``); followers only with the insights scope.

        Args:
            access_token: the person's long-lived token.
        """
        answer = self._call("GET", "/me", access_token, params={"fields": "id,username"})
        if not isinstance(answer.get("id"), str) or not isinstance(answer.get("username"), str):
            raise Transient("Threads answered /me without an id and username", raw=_dump(answer))
        followers = None
        try:
            insight = self._call("GET", "/me/threads_insights", access_token, params={"metric": "followers_count"})
            for item in insight.get("data") or []:
                if isinstance(item, dict) and item.get("name") == "followers_count":
                    followers = _count((item.get("total_value") or {}).get("value"))
        except (Rejected, AuthRevoked):  # no threads_manage_insights: followers are unknown, not zero
            followers = None
        return Profile(id=answer["id"], handle=answer["username"], followers=followers)

    def publishing_limit(self, access_token: str) -> tuple[int, int, int]:
        """The person's publishing quota: (posts in the last window, posts allowed, window seconds).

        Args:
            access_token: the person's token.
        """
        answer = self._call("GET", "/me/threads_publishing_limit", access_token,
                            params={"fields": "quota_usage,config"})
        try:
            row = answer["data"][0]
            config = row["config"]
            return int(row["quota_usage"]), int(config["quota_total"]), int(config["quota_duration"])
        except (KeyError, IndexError, TypeError, ValueError):
            raise Transient("Threads answered the publishing limit unreadably", raw=_dump(answer)) from None

    def publish(
        self, access_token: str, text: str, link: str | None = None, *, idempotency_key: str | None = None,
        media: Sequence[Media] = (), link_title: str | None = None, topic_tag: str | None = None,
    ) -> PublishedPost:
        """Make a container, wait until Threads has processed it, publish it; the same container on every attempt.

        Args:
            access_token: the person's token.
            text: the post's text (at most 500 as Threads counts, at most 5 links).
            link: the tracked link: the ``link_attachment`` of a text post, appended to an image post's text.
            idempotency_key: the same for every attempt of one share: the key its container is kept under.
            media: at most one JPEG or PNG image, fetched by Threads from ``image_url(media, key)``, with alt text.
            link_title: unused (Threads reads the link's page itself).
            topic_tag: one topic (1 to 50 characters, no ``.`` or ``&``).
        """
        sent = post_text(text, link, media=bool(media))
        topic_tag = topic_tag or self.topic_tag
        _check(sent, link, media, topic_tag)
        key = idempotency_key
        container = self.containers.get(key) if self.containers is not None and key else None
        if container is not None:
            try:
                status, message = self._status(access_token, container)
            except Rejected:  # not this person's (they reconnected as another profile) or unknown: make a new one
                status, message, container = "", "", None
            if status == "PUBLISHED" and container is not None:
                return self._published_before(access_token, container, link or sent)
            if status == "EXPIRED":
                container = None  # never published, and never will be: a new container is the only way
            elif status == "ERROR":
                raise Rejected(f"Threads could not process the post: {message or 'ERROR'}")
        if container is None:
            container = self._create(access_token, sent, link, media, topic_tag, key or "")
            if self.containers is not None and key:
                self.containers.put(key, container)
        self._wait_finished(access_token, container)
        try:
            answer = self._call("POST", "/me/threads_publish", access_token, params={"creation_id": container})
        except Rejected as exc:  # published already (our lost answer), or the quota is spent
            status, _ = self._status(access_token, container)
            if status == "PUBLISHED":
                return self._published_before(access_token, container, link or sent)
            self._raise_if_quota(access_token, exc)
            raise
        post_id = answer.get("id")
        if not isinstance(post_id, str) or not post_id:
            raise Transient("Threads answered threads_publish without an id", raw=_dump(answer))
        url = self._permalink(access_token, post_id)
        log.info("threads.publish ok post_id=%s container=%s image=%s", post_id, container, bool(media))
        return PublishedPost(id=post_id, url=url)

    def _create(self, access_token: str, text: str, link: str | None, media: Sequence[Media],
                topic_tag: str | None, key: str) -> str:
        body: dict[str, str] = {"text": text}
        if media:
            if self.image_url is None:
                raise ConfigurationError("Threads fetches images by URL: this app has no public image URL set up")
            body |= {"media_type": "IMAGE", "image_url": self.image_url(media[0], key)}
            if media[0].alt:
                body["alt_text"] = media[0].alt
        else:
            body["media_type"] = "TEXT"
            if link:
                body["link_attachment"] = link
        if topic_tag:
            body["topic_tag"] = topic_tag
        answer = self._call("POST", "/me/threads", access_token, data=body)
        container = answer.get("id")
        if not isinstance(container, str) or not container:
            raise Transient("Threads answered the container without an id", raw=_dump(answer))
        return container

    def _status(self, access_token: str, container: str) -> tuple[str, str]:
        answer = self._call("GET", f"/{container}", access_token, params={"fields": "id,status,error_message"})
        return str(answer.get("status") or ""), str(answer.get("error_message") or "")

    def _wait_finished(self, access_token: str, container: str) -> None:
        deadline = time.monotonic() + self.container_wait
        delay = POLL_FIRST
        while True:
            status, message = self._status(access_token, container)
            if status in ("FINISHED", "PUBLISHED"):
                return
            if status == "ERROR":
                raise Rejected(f"Threads could not process the post: {message or 'ERROR'}")
            if status == "EXPIRED":
                raise Rejected(f"Threads let the post's container expire: {message or 'EXPIRED'}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Transient(f"Threads was still processing the post after {self.container_wait:g} s")
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, POLL_MAX)

    def _published_before(self, access_token: str, container: str, needle: str) -> PublishedPost:
        since = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
        found = self.find_post(access_token, needle, since)
        if found is None:
            raise Transient(f"Threads says container {container} is published but the post is not listed yet")
        log.info("threads.publish recognised post_id=%s container=%s", found.id, container)
        return found

    def _raise_if_quota(self, access_token: str, exc: Rejected) -> None:
        try:
            used, total, _ = self.publishing_limit(access_token)
        except Rejected:
            return
        if used >= total:
            raise RateLimited(f"Threads' publishing quota is spent ({used} of {total} posts in 24 hours)",
                              reset_at=dt.datetime.now(dt.UTC) + QUOTA_RECHECK, status=exc.status, raw=exc.raw)

    def _permalink(self, access_token: str, post_id: str) -> str:
        try:
            answer = self._call("GET", f"/{post_id}", access_token, params={"fields": "id,permalink"})
            link = answer.get("permalink")
            if isinstance(link, str) and link:
                return link
        except (Transient, Rejected):
            pass
        return f"{self.web_base_url}/post/{post_id}"

    def find_post(self, access_token: str, text: str, since: dt.datetime) -> PublishedPost | None:
        """The person's post holding ``text`` (a tracked link: in its text or as its link attachment) since ``since``.

        Args:
            access_token: the person's token.
            text: what to look for, usually the share's tracked link.
            since: posts older than this are not looked at.
        """
        params: dict[str, Any] = {"fields": "id,permalink,text,timestamp,link_attachment_url",
                                  "limit": FIND_PAGE_SIZE, "since": int(since.timestamp())}
        for _ in range(FIND_PAGES):
            answer = self._call("GET", "/me/threads", access_token, params=params)
            rows = answer.get("data")
            if not isinstance(rows, list):
                raise Transient("Threads answered the posts list unreadably", raw=_dump(answer))
            for row in rows:
                if not isinstance(row, dict) or not isinstance(row.get("id"), str):
                    continue
                when = _timestamp(row.get("timestamp"))
                if when is not None and when < since:
                    return None
                if _holds(row, text):
                    url = row.get("permalink") or f"{self.web_base_url}/post/{row['id']}"
                    log.info("threads.find_post found post_id=%s", row["id"])
                    return PublishedPost(id=row["id"], url=str(url))
            after = ((answer.get("paging") or {}).get("cursors") or {}).get("after")
            if not rows or not after or not (answer.get("paging") or {}).get("next"):
                return None
            params = {**params, "after": after}
        return None

    def delete(self, access_token: str, post_id: str) -> None:
        """Delete one of the person's posts (``DELETE /{media-id}``, needs ``threads_delete``).

        Args:
            access_token: the person's token.
            post_id: the id ``publish`` returned.
        """
        self._call("DELETE", f"/{post_id}", access_token)
        log.info("threads.delete ok post_id=%s", post_id)

    def metrics(self, access_token: str, post_ids: Sequence[str]) -> list[PostMetrics]:
        """Views, likes, replies, reposts and quotes of each post (``GET /{media-id}/insights``); posts Threads no
        longer has are left out.

        Args:
            access_token: the person's token.
            post_ids: ids of the person's posts.
        """
        found: list[PostMetrics] = []
        for post_id in dict.fromkeys(str(i) for i in post_ids):
            try:
                answer = self._call("GET", f"/{post_id}/insights", access_token,
                                    params={"metric": "views,likes,replies,reposts,quotes"})
            except Rejected as exc:
                if exc.status in (400, 404):
                    continue
                raise
            values: dict[str, int | None] = {}
            for item in answer.get("data") or []:
                if isinstance(item, dict) and isinstance(item.get("values"), list) and item["values"]:
                    values[str(item.get("name"))] = _count(item["values"][0].get("value"))
            found.append(PostMetrics(post_id=post_id, likes=values.get("likes"), reposts=values.get("reposts"),
                                     replies=values.get("replies"), quotes=values.get("quotes"),
                                     impressions=values.get("views")))
        return found

    # ----------------------------------------------------------------------------------------------- helpers
    def _require_client(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ConfigurationError("no Threads app id and secret set (ADVOCACY_THREADS_CLIENT_ID, _SECRET)")

    def _token_call(self, method: str, url: str, **kw: Any) -> dict[str, Any]:
        try:
            response = self._session.request(method, url, **kw)
        except requests.RequestException as exc:
            raise Transient(f"Threads token endpoint unreachable: {type(exc).__name__}") from None
        return _answer(response, token_call=True)

    def _call(self, method: str, path: str, access_token: str, **kw: Any) -> dict[str, Any]:
        if not access_token:
            raise AuthRevoked("no Threads token: the person must reconnect")
        headers = {"Authorization": f"Bearer {access_token}"}
        try:
            response = self._session.request(method, self.api_url + path, headers=headers, **kw)
        except requests.RequestException as exc:
            raise Transient(f"Threads unreachable: {type(exc).__name__}") from None
        return _answer(response)


# ---------------------------------------------------------------------------------------------- answer reading
def _check(text: str, link: str | None, media: Sequence[Media], topic_tag: str | None) -> None:
    """Refuse, before anything is sent, what Threads refuses (``Rejected`` naming the limit)."""
    size = text_length(text)
    if size > MAX_CHARACTERS:
        raise Rejected(f"the text is {size} characters as Threads counts them (emoji as their bytes); "
                       f"Threads takes at most {MAX_CHARACTERS}")
    links = links_in(text, None if media else link)
    if len(links) > MAX_LINKS:
        raise Rejected(f"the post holds {len(links)} links; Threads takes at most {MAX_LINKS}")
    if len(media) > MAX_IMAGES:
        raise Rejected(f"Threads posts at most {MAX_IMAGES} image here, not {len(media)}")
    for item in media:
        if item.content_type not in IMAGE_FORMATS:
            raise Rejected(f"the image is {item.content_type or 'of no type'}: Threads takes JPEG and PNG images")
        if len(item.data) > IMAGE_MAX_BYTES:
            raise Rejected(f"the image is {len(item.data):,} bytes; Threads takes at most {IMAGE_MAX_BYTES:,}")
    if topic_tag is not None and (not 1 <= len(topic_tag) <= TOPIC_TAG_MAX or "." in topic_tag or "&" in topic_tag):
        raise Rejected(f"a Threads topic is 1 to {TOPIC_TAG_MAX} characters without '.' or '&'")


def _holds(row: Mapping[str, Any], needle: str) -> bool:
    attached = str(row.get("link_attachment_url") or "")
    if attached and attached.rstrip("/") == needle.rstrip("/"):
        return True
    body = str(row.get("text") or "")
    return any(u.rstrip("/") == needle.rstrip("/") for u in links_in(body)) or (
        not needle.startswith("http") and needle in body)


def _timestamp(value: Any) -> dt.datetime | None:
    """``2026-04-15T14:30:00+0000`` (no colon in the offset) as an aware datetime."""
    if not isinstance(value, str):
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S%z",):
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _dump(answer: Any) -> str:
    return json.dumps(answer)[:2000]


def _json_object(raw: str) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _answer(response: requests.Response, *, token_call: bool = False) -> dict[str, Any]:
    body = _json_object(response.text)
    if 200 <= response.status_code < 300:
        if body is None:
            raise Transient("Threads answered something unreadable", status=response.status_code, raw=response.text)
        return body
    _raise_mapped(response, body, token_call=token_call)


def _raise_mapped(response: requests.Response, body: dict[str, Any] | None, *, token_call: bool) -> NoReturn:
    """Raise the ``connectors.base`` exception for a Graph error, by its code (the status says little)."""
    status, raw = response.status_code, response.text
    error = body.get("error") if body is not None else None
    if not isinstance(error, dict):
        if status == 429:
            raise RateLimited("Threads: too many requests", reset_at=retry_after(response.headers), status=status,
                              raw=raw)
        if status >= 500 or body is None:
            raise Transient(f"Threads answered {status}", status=status, raw=raw,
                            retry_at=retry_after(response.headers))
        raise Rejected(f"Threads answered {status}", status=status, raw=raw)
    code, subcode = error.get("code"), error.get("error_subcode")
    message = str(error.get("error_user_msg") or error.get("message") or f"Threads answered {status}")
    message = f"{message} (code {code}{f', subcode {subcode}' if subcode else ''})"
    if code == 190:
        if subcode == EXPIRED_SUBCODE:
            raise AuthExpired(f"Threads token expired: {message}", status=status, raw=raw)
        raise AuthRevoked(f"Threads no longer accepts this token: {message}", status=status, raw=raw)
    if code in RATE_CODES or status == 429:
        raise RateLimited(f"Threads rate limit: {message}", reset_at=retry_after(response.headers),
                          app_wide=code in APP_RATE_CODES, status=status, raw=raw)
    if token_call and (code in (101, 191) or (code == 1 and "client secret" in message)):  # our app id or secret
        raise ConfigurationError(f"Threads refused this app: {message}", status=status, raw=raw)
    if error.get("is_transient") is True or code in (1, 2) or status >= 500:
        raise Transient(f"Threads: {message}", status=status, raw=raw, retry_at=retry_after(response.headers))
    if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
        raise AuthRevoked(f"Threads did not grant this app the permission: {message}", status=status, raw=raw)
    raise Rejected(f"Threads refused: {message}", status=status, raw=raw)
