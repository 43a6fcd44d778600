"""Mastodon: any server. The app registers itself on each server once, then OAuth 2.0 through requests-oauthlib.

One ``MastodonConnector`` talks to one server (``instance_url``) with the client credentials that server issued
(``register_app``). Access tokens do not expire and come without a refresh token, so a 401 means the person (or the
server's admin) revoked the app: only the person can reconnect. ``publish`` sends an ``Idempotency-Key``, so a retry
after a lost answer gets the status the server already made instead of a second one; Mastodon keeps the key for
about an hour, so ``find_post`` reads the person's own statuses (``GET /api/v1/accounts/:id/statuses``) for a retry
that comes later. Images are uploaded first
(``POST /api/v2/media`` with their description), waited for while the server processes them (202, then
``GET /api/v1/media/:id`` until it stops answering 206), and attached by id.
Every failure leaves this module as one of the ``connectors.base`` exceptions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from html.parser import HTMLParser
from typing import Any, ClassVar, NoReturn, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import requests
from oauthlib.oauth2 import WebApplicationClient
from requests_oauthlib import OAuth2Session

from connectors.base import (
    DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT,
    IMAGE_TYPES,
    AppCredentials,
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
    utc_from_iso,
)
from connectors.netguard import Guard, protect
from connectors.oauth import oauth_call, oauth_session

log = logging.getLogger(__name__)

DEFAULT_SCOPES = ("read:accounts", "read:statuses", "write:statuses", "write:media")
MAX_IMAGES = 4  # attachments per status on Mastodon (the default of configuration.statuses.max_media_attachments)
POLL_FIRST, POLL_MAX = 0.05, 1.0  # seconds between checks of an image being processed: doubling, capped
NOT_READY_MARK = "not finished processing"
FIND_PAGE_SIZE = 40  # statuses per page of an account's statuses: Mastodon's maximum
FIND_PAGES = 10  # find_post reads at most this many pages (400 statuses) back to ``since``
T = TypeVar("T")


class _DropDebugRecords(logging.Filter):
    """requests-oauthlib puts token answers in its DEBUG lines: never let one out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_oauth_logger = logging.getLogger("requests_oauthlib.oauth2_session")
if not any(type(f).__name__ == "_DropDebugRecords" for f in _oauth_logger.filters):
    _oauth_logger.addFilter(_DropDebugRecords())


def normalize_instance_url(value: str) -> str:
    """``mastodon.social`` or ``https://mastodon.social/`` -> ``https://mastodon.social``; raises on junk.

    Args:
        value: what a person typed for their server: a host name, or a URL with or without a path.
    """
    value = (value or "").strip()
    if not value:
        raise ConfigurationError("no Mastodon server given")
    if "://" not in value:
        value = "https://" + value.lstrip("@").split("@")[-1]  # "@alice@mastodon.social" names the server last
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.query:
        raise ConfigurationError(f"{value!r} is not the address of a Mastodon server")
    host = parts.hostname.lower()
    port = f":{parts.port}" if parts.port else ""
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}{port}"


@register
class MastodonConnector:
    """A client of one Mastodon server for this app's registration there; holds no per-user state.

    Args:
        instance_url: the server (``https://mastodon.social``, or a sandbox).
        client_id: the client id the server issued in ``register_app`` (empty until registered).
        client_secret: the matching client secret.
        client_name: how the app is named on consent pages and under posts.
        website: the app's home page, shown by the server; optional.
        scopes: scopes asked for; ``write:statuses`` posts, ``write:media`` uploads images, ``read:accounts`` reads
            the profile, ``read:statuses`` reads the person's statuses (``find_post``, ``metrics``).
        timeout: seconds for connect and for read on every request, and at most this long waiting for the server to
            process an uploaded image.
        user_agent: sent on every request.
        guard: what this server may be reached at (``connectors.netguard``): a server a person named is fetched on
            their behalf, so the app passes its guard; None reaches anything (a server the operator configured).
    """

    name: ClassVar[str] = "mastodon"

    def __init__(
        self,
        *,
        instance_url: str,
        client_id: str = "",
        client_secret: str = "",
        client_name: str = "Advocacy",
        website: str | None = None,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = DEFAULT_USER_AGENT,
        guard: Guard | None = None,
    ) -> None:
        self.instance_url = normalize_instance_url(instance_url)
        self.guard = guard
        self.client_id = client_id
        self.client_secret = client_secret
        self.client_name = client_name
        self.website = website or None
        self.scopes = tuple(scopes)
        self.timeout = timeout
        self.user_agent = user_agent
        self.authorize_url = f"{self.instance_url}/oauth/authorize"
        self.token_url = f"{self.instance_url}/oauth/token"

    def __repr__(self) -> str:
        return f"MastodonConnector(instance_url={self.instance_url!r}, client_id={self.client_id!r})"

    # -------------------------------------------------------------------------------------- registration
    def register_app(self, redirect_uri: str) -> AppCredentials:
        """Register this app on the server (``POST /api/v1/apps``); keep the answer and reuse it for everyone there.

        Args:
            redirect_uri: our OAuth callback, exactly as the authorization requests will name it.
        """
        body: dict[str, Any] = {
            "client_name": self.client_name,
            "redirect_uris": [redirect_uri],
            "scopes": " ".join(self.scopes),
        }
        if self.website:
            body["website"] = self.website
        try:
            answer = self._call("POST", "/api/v1/apps", None, json=body)
        except Rejected as exc:
            if exc.status in (404, 405, 410):
                raise Rejected(
                    f"{self.instance_url} does not look like a Mastodon server (it has no app registration)",
                    status=exc.status,
                    raw=exc.raw,
                ) from None
            raise
        client_id, secret = answer.get("client_id"), answer.get("client_secret")
        if not isinstance(client_id, str) or not isinstance(secret, str) or not client_id or not secret:
            raise Transient("Mastodon answered the app registration without client credentials", raw=_dump(answer))
        log.info("mastodon.register_app ok instance=%s client_id=%s", self.instance_url, client_id)
        return AppCredentials(
            server_url=self.instance_url,
            client_id=client_id,
            client_secret=secret,
            redirect_uri=redirect_uri,
            scopes=" ".join(self.scopes),
        )

    # ------------------------------------------------------------------------------------------------- OAuth
    def authorization_url(self, redirect_uri: str) -> AuthRequest:
        """Where to send the person to consent on their server, with a fresh state and PKCE (S256) verifier.

        Args:
            redirect_uri: our callback, exactly as registered with ``register_app``.
        """
        self._require_client()
        pkce = WebApplicationClient(self.client_id)
        verifier = pkce.create_code_verifier(64)
        challenge = pkce.create_code_challenge(verifier, "S256")
        with self._oauth_session(redirect_uri=redirect_uri, scope=list(self.scopes)) as oauth:
            url, state = self._oauth_call(
                self.authorize_url,
                lambda: oauth.authorization_url(
                    self.authorize_url, code_challenge=challenge, code_challenge_method="S256"
                ),
            )
        return AuthRequest(url=url, state=state, code_verifier=verifier)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None) -> Token:
        """Trade the code from the callback for an access token (which does not expire).

        Args:
            code: the ``code`` query parameter of the callback.
            redirect_uri: the same callback URL the authorization request named.
            code_verifier: the verifier ``authorization_url`` returned.
        """
        self._require_client()
        extra = {"code_verifier": code_verifier} if code_verifier else {}
        with self._oauth_session(redirect_uri=redirect_uri) as oauth:
            oauth.register_compliance_hook("access_token_response", _check_token_answer)
            answer = self._oauth_call(
                self.token_url,
                lambda: oauth.fetch_token(
                    self.token_url,
                    code=code,
                    client_secret=self.client_secret,
                    include_client_id=True,
                    **extra,
                ),
            )
        log.info("mastodon.oauth exchanged instance=%s client_id=%s", self.instance_url, self.client_id)
        scope = answer.get("scope")
        if isinstance(scope, list):
            scope = " ".join(scope)
        return Token(access_token=str(answer["access_token"]), scope=str(scope or " ".join(self.scopes)))

    def refresh(self, token: Token) -> Token:
        """Mastodon tokens do not expire and have no refresh token: a rejected token needs the person.

        Args:
            token: the current token (unused).
        """
        raise AuthRevoked("Mastodon tokens cannot be refreshed: the person must reconnect")

    def revoke(self, token: Token) -> None:
        """End this app's access for the person on their server (``POST /oauth/revoke`` with the app's client id and
        secret, ``RevokesTokens``). Mastodon answers 200 for a token it no longer knows.

        Args:
            token: the person's token (its access token; Mastodon issues no refresh token).
        """
        self._require_client()

        def call() -> requests.Response:
            url, headers, body = WebApplicationClient(self.client_id).prepare_token_revocation_request(
                f"{self.instance_url}/oauth/revoke", token.access_token, client_id=self.client_id,
                client_secret=self.client_secret)
            with protect(http_session(timeout=self.timeout, user_agent=self.user_agent), self.guard,
                         timeout=self.timeout) as session:
                return session.post(url, data=body, headers=headers)

        response = self._oauth_call(f"{self.instance_url}/oauth/revoke", call)
        if not 200 <= response.status_code < 300:
            _raise_revoke_mapped(response)
        log.info("mastodon.oauth revoked instance=%s client_id=%s", self.instance_url, self.client_id)

    # -------------------------------------------------------------------------------------------------- API
    def profile(self, access_token: str) -> Profile:
        """The connected person's account id, ``username@server`` handle and follower count.

        Args:
            access_token: the person's access token on this server.
        """
        answer = self._call("GET", "/api/v1/accounts/verify_credentials", access_token)
        try:
            acct = str(answer.get("acct") or answer["username"])
            host = urlsplit(self.instance_url).netloc
            handle = acct if "@" in acct else f"{acct}@{host}"
            return Profile(id=str(answer["id"]), handle=handle, followers=_count(answer.get("followers_count")))
        except (KeyError, TypeError) as exc:
            raise Transient(f"Mastodon answered verify_credentials without {exc}", raw=_dump(answer)) from None

    def publish(
        self, access_token: str, text: str, link: str | None = None, *, idempotency_key: str | None = None,
        media: Sequence[Media] = (), link_title: str | None = None,
    ) -> PublishedPost:
        """Post a public status; ``link`` is appended after a space unless the text already holds it.

        Args:
            access_token: the person's access token on this server.
            text: the status text (Mastodon counts each URL as 23 characters of its 500).
            link: a URL to add at the end.
            idempotency_key: the same key on every attempt of one share: the server answers a repeat (within about
                an hour) with the status it already made.
            media: up to 4 images, each uploaded with its alt text as the description and waited for while the
                server processes it (at most ``timeout`` seconds: still processing after that is ``Transient``).
                A retry uploads them again (harmless); the status is made once, by the idempotency key.
        """
        _check_media(media)
        if link and link not in text:
            text = f"{text} {link}"
        media_ids = [self._upload(access_token, item, number) for number, item in enumerate(media, 1)]
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body: dict[str, Any] = {"status": text, "visibility": "public"}
        if media_ids:
            body["media_ids"] = media_ids
        try:
            answer = self._call("POST", "/api/v1/statuses", access_token, json=body, headers=headers)
        except Rejected as exc:
            if exc.status == 422 and NOT_READY_MARK in exc.message:  # processing outran our wait: worth a retry
                raise Transient(exc.message, status=exc.status, raw=exc.raw) from None
            raise
        post_id = answer.get("id")
        if not isinstance(post_id, str) or not post_id:
            raise Transient("Mastodon answered the status without an id", raw=_dump(answer))
        url = answer.get("url") or answer.get("uri")
        if not isinstance(url, str) or not url:
            url = f"{self.instance_url}/statuses/{post_id}"
        log.info("mastodon.publish ok instance=%s post_id=%s images=%s", self.instance_url, post_id, len(media_ids))
        return PublishedPost(id=post_id, url=url)

    def find_post(self, access_token: str, text: str, since: dt.datetime) -> PublishedPost | None:
        """The person's status holding ``text`` created since ``since``, if their account has one (newest first).

        How the delivery engine learns whether an attempt whose answer was lost did post, once the server may have
        forgotten the ``Idempotency-Key`` (about an hour): the account's statuses
        (``GET /api/v1/accounts/:id/statuses``, the id from ``verify_credentials``) are read page by page (``max_id``
        from the ``Link`` header), at most ``FIND_PAGES`` pages, stopping at the first status older than ``since``.
        A status matches when a link in its ``content`` HTML points at ``text`` (the share's tracked link) or its
        visible text holds it.

        Args:
            access_token: the person's access token on this server (with ``read:statuses``: without it the
                statuses cannot be read, which is ``AuthRevoked``, never "not found").
            text: what the status holds; pass something unique to one post, such as its tracked link.
            since: the earliest ``created_at`` to look at.
        """
        if not text:
            raise Rejected("find_post needs the text to look for (the share's tracked link)")
        account_id = self.profile(access_token).id
        path = f"/api/v1/accounts/{quote(account_id, safe='')}/statuses"
        params: dict[str, Any] = {"limit": FIND_PAGE_SIZE}
        for _ in range(FIND_PAGES):
            try:
                response = self._request("GET", path, access_token, params=params)
            except Rejected as exc:
                if exc.status == 403 and "outside the authorized scopes" in exc.message:  # never "not found"
                    raise AuthRevoked(f"Mastodon did not grant this app read:statuses: the person must reconnect "
                                      f"so an interrupted post can be looked for ({exc.message})", status=exc.status,
                                      raw=exc.raw) from None
                raise
            try:
                statuses = json.loads(response.text)
            except ValueError:
                statuses = None
            if not isinstance(statuses, list):
                raise Transient("Mastodon answered the account's statuses with something unreadable",
                                status=response.status_code, raw=response.text)
            for status in statuses:
                if not isinstance(status, dict) or not isinstance(status.get("id"), str):
                    continue
                created = utc_from_iso(str(status.get("created_at") or ""))
                if created is not None and created < since:
                    return None  # newest first: everything further is older
                if status.get("reblog") is None and _holds(str(status.get("content") or ""), text):
                    post_id = status["id"]
                    url = status.get("url") or status.get("uri") or f"{self.instance_url}/statuses/{post_id}"
                    log.info("mastodon.find_post found instance=%s post_id=%s", self.instance_url, post_id)
                    return PublishedPost(id=post_id, url=str(url))
            older = _next_max_id(response, statuses, FIND_PAGE_SIZE)
            if older is None:
                return None
            params = {"limit": FIND_PAGE_SIZE, "max_id": older}
        log.info("mastodon.find_post gave_up instance=%s pages=%s", self.instance_url, FIND_PAGES)
        return None

    def delete(self, access_token: str, post_id: str) -> None:
        """Delete one of the person's statuses (a 404 is raised as ``Rejected`` with ``status`` 404).

        Args:
            access_token: the person's access token on this server.
            post_id: the id ``publish`` returned.
        """
        self._call("DELETE", f"/api/v1/statuses/{quote(post_id, safe='')}", access_token)
        log.info("mastodon.delete ok instance=%s post_id=%s", self.instance_url, post_id)

    def metrics(self, access_token: str, post_ids: Sequence[str]) -> list[PostMetrics]:
        """Counts of statuses, one request each. Statuses the server no longer has are left out of the answer.

        Args:
            access_token: the person's access token on this server.
            post_ids: ids of statuses on this server.
        """
        found: list[PostMetrics] = []
        for post_id in dict.fromkeys(str(i) for i in post_ids):
            try:
                answer = self._call("GET", f"/api/v1/statuses/{quote(post_id, safe='')}", access_token)
            except Rejected as exc:
                if exc.status in (404, 410):
                    continue
                raise
            found.append(_post_metrics(post_id, answer))
        return found

    # ----------------------------------------------------------------------------------------------- helpers
    def _upload(self, access_token: str, item: Media, number: int) -> str:
        """Upload one image (``POST /api/v2/media``), wait until it is processed; returns its media id."""
        data = {"description": item.alt} if item.alt else {}
        files = {"file": (item.filename or "image", item.data, item.content_type)}
        response = self._request("POST", "/api/v2/media", access_token, files=files, data=data, image=number)
        answer = _json_object(response.text)
        media_id = answer.get("id") if answer else None
        if not isinstance(media_id, str) or not media_id:
            raise Transient("Mastodon answered the upload without a media id", status=response.status_code,
                            raw=response.text)
        if response.status_code == 202:
            self._wait_processed(access_token, media_id, number)
        log.info("mastodon.media uploaded instance=%s media_id=%s bytes=%s async=%s", self.instance_url, media_id,
                 len(item.data), response.status_code == 202)
        return media_id

    def _wait_processed(self, access_token: str, media_id: str, number: int) -> None:
        """Check ``GET /api/v1/media/:id`` (206 while processing, 200 when done) for at most ``timeout`` seconds."""
        deadline = time.monotonic() + self.timeout
        delay = POLL_FIRST
        while True:
            response = self._request("GET", f"/api/v1/media/{quote(media_id, safe='')}", access_token, image=number)
            if response.status_code == 200:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Transient(f"Mastodon was still processing image {number} after {self.timeout:g} s",
                                status=response.status_code)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, POLL_MAX)

    def _require_client(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ConfigurationError(f"no app registered on {self.instance_url} yet (call register_app first)")

    def _oauth_session(self, **kw: Any) -> AbstractContextManager[OAuth2Session]:
        return oauth_session(self.client_id, timeout=self.timeout, user_agent=self.user_agent, guard=self.guard, **kw)

    def _oauth_call(self, url: str, call: Callable[[], T]) -> T:
        return oauth_call("Mastodon", url, call)

    def _call(
        self,
        method: str,
        path: str,
        access_token: str | None,
        *,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One API request; the answer's JSON object, or the mapped exception."""
        response = self._request(method, path, access_token, json=json, headers=headers)
        body = _json_object(response.text)
        if body is None:
            raise Transient("Mastodon answered something unreadable", status=response.status_code, raw=response.text)
        return body


    def _request(
        self, method: str, path: str, access_token: str | None, *, headers: Mapping[str, str] | None = None,
        image: int | None = None, **kw: Any,
    ) -> requests.Response:
        """One API request; the 2xx answer, or the mapped exception (``image``: the number of the image it is for)."""
        sent = dict(headers or {})
        if access_token is not None:
            if not access_token:
                raise AuthRevoked("no access token: the person must reconnect")
            sent["Authorization"] = f"Bearer {access_token}"
        with protect(http_session(timeout=self.timeout, user_agent=self.user_agent), self.guard,
                     timeout=self.timeout) as session:
            try:
                response = session.request(method, self.instance_url + path, headers=sent, **kw)
            except requests.RequestException as exc:  # timeouts, refused connections
                raise Transient(f"Mastodon unreachable: {type(exc).__name__}") from None
        if not 200 <= response.status_code < 300:
            if image is not None:
                _raise_media_mapped(response, image)
            _raise_mapped(response)
        return response


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


class _ContentReader(HTMLParser):
    """A status's ``content`` HTML: the targets of its links, and its text as a reader sees it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value for name, value in attrs if name == "href" and value]
        elif tag in ("br", "p"):
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _holds(content: str, text: str) -> bool:
    """Whether a status's ``content`` links to ``text`` or shows it whole (not as the start of a longer URL)."""
    reader = _ContentReader()
    reader.feed(content)
    reader.close()
    if any(href == text or href.rstrip("/") == text.rstrip("/") for href in reader.hrefs):
        return True
    pattern = re.escape(text) + r"(?![\w/?#&=%~+-])"
    return re.search(pattern, "".join(reader.parts)) is not None


def _next_max_id(response: requests.Response, page: list[Any], size: int) -> str | None:
    """The ``max_id`` of the next (older) page: from the ``Link`` header's ``rel="next"``, else the last id of a
    full page; ``None`` when there is no older page."""
    nxt = response.links.get("next", {}).get("url")
    if nxt:
        found = parse_qs(urlsplit(nxt).query).get("max_id")
        return found[0] if found else None
    if "next" not in response.links and len(page) >= size and isinstance(page[-1], dict):
        last = page[-1].get("id")
        return last if isinstance(last, str) and last else None
    return None


def _post_metrics(post_id: str, answer: Mapping[str, Any]) -> PostMetrics:
    if str(answer.get("id")) != post_id:
        raise Transient(f"Mastodon answered status {post_id} with another one", raw=_dump(answer))
    return PostMetrics(
        post_id=post_id,
        likes=_count(answer.get("favourites_count")),
        reposts=_count(answer.get("reblogs_count")),
        replies=_count(answer.get("replies_count")),
        quotes=_count(answer.get("quotes_count")),  # null on servers older than 4.5: unknown, not zero
        impressions=None,  # Mastodon does not count views
    )


def _message(body: Mapping[str, Any] | None, status: int) -> str:
    if body is None:
        return f"Mastodon answered {status}"
    error = str(body.get("error") or f"Mastodon answered {status}")
    description = body.get("error_description")
    return f"{error}: {description}" if description else error


def _check_media(media: Sequence[Media]) -> None:
    """Refuse, before anything is uploaded, what no Mastodon server takes (``Rejected`` naming the limit).

    Sizes are each server's own (16 MB for images by default): the server's refusal names its limit.
    """
    if len(media) > MAX_IMAGES:
        raise Rejected(f"Mastodon attaches at most {MAX_IMAGES} images to a status, not {len(media)}")
    for number, item in enumerate(media, 1):
        if item.content_type not in IMAGE_TYPES:
            raise Rejected(f"image {number} is {item.content_type or 'of no type'}: Mastodon takes "
                           f"{', '.join(t.removeprefix('image/').upper() for t in IMAGE_TYPES)} images here")
        if not item.data:
            raise Rejected(f"image {number} is empty")


def _raise_media_mapped(response: requests.Response, number: int) -> NoReturn:
    """Raise the ``connectors.base`` exception for a failed upload or status check of image ``number``."""
    status, raw = response.status_code, response.text
    message = _message(_json_object(raw), status)
    if status == 403 and "outside the authorized scopes" in message:  # connected before images were asked for
        raise AuthRevoked(f"Mastodon did not grant this app write:media: the person must reconnect to share images "
                          f"({message})", status=status, raw=raw)
    if status == 413:  # the server's proxy refused the body's size
        raise Rejected(f"Mastodon refused image {number} as too large (HTTP 413)", status=status, raw=raw)
    if status == 422:
        raise Rejected(f"Mastodon refused image {number}: {message}", status=status, raw=raw)
    _raise_mapped(response)


def _raise_mapped(response: requests.Response) -> NoReturn:
    """Raise the ``connectors.base`` exception for a failed Mastodon API answer."""
    status, raw = response.status_code, response.text
    body = _json_object(raw)
    message = _message(body, status)
    if status == 429:
        reset_at = retry_after(response.headers, utc_from_iso(response.headers.get("X-RateLimit-Reset")))
        raise RateLimited(message, reset_at=reset_at, status=status, raw=raw)
    if status >= 500 or (body is None and status not in (404, 405, 410)):  # 5xx, or a proxy's HTML/empty page
        raise Transient(message, status=status, raw=raw, retry_at=retry_after(response.headers))
    if status == 401:  # tokens never expire on Mastodon: a refused token was revoked (or the account is gone)
        raise AuthRevoked(message, status=status, raw=raw)
    raise Rejected(message, status=status, raw=raw)  # 403 scope, 404/410 gone, 422 validation


def _raise_revoke_mapped(response: requests.Response) -> NoReturn:
    """Raise the ``connectors.base`` exception for a failed ``POST /oauth/revoke``."""
    status, raw = response.status_code, response.text
    body = _json_object(raw)
    message = f"Mastodon revoke endpoint: {_message(body, status)}"
    if status == 429:
        reset_at = retry_after(response.headers, utc_from_iso(response.headers.get("X-RateLimit-Reset")))
        raise RateLimited(message, reset_at=reset_at, status=status, raw=raw)
    if status >= 500 or body is None:
        raise Transient(message, status=status, raw=raw, retry_at=retry_after(response.headers))
    if status == 401 or body.get("error") == "invalid_client":  # our registration is gone
        raise ConfigurationError(message, status=status, raw=raw)
    raise Rejected(message, status=status, raw=raw)  # 403 unauthorized_client: the token is not this app's


def _check_token_answer(response: requests.Response) -> requests.Response:
    """A requests-oauthlib hook: map a failed token answer before oauthlib tries to parse it."""
    status, raw = response.status_code, response.text
    body = _json_object(raw)
    if 200 <= status < 300:
        if body is None or not body.get("access_token"):
            raise Transient("Mastodon token endpoint answered without a token", status=status, raw=raw)
        if not body.get("token_type"):
            body["token_type"] = "Bearer"  # oauthlib insists; Mastodon always means Bearer
            response._content = json.dumps(body).encode()
        return response
    if status == 429:
        reset_at = retry_after(response.headers, utc_from_iso(response.headers.get("X-RateLimit-Reset")))
        raise RateLimited("Mastodon token endpoint: too many requests", reset_at=reset_at, status=status, raw=raw)
    if status >= 500 or body is None:
        raise Transient(f"Mastodon token endpoint answered {status}", status=status, raw=raw)
    message = f"Mastodon token endpoint: {_message(body, status)}"
    if body.get("error") in ("invalid_client", "unauthorized_client"):  # our stored registration is gone
        raise ConfigurationError(message, status=status, raw=raw)
    raise Rejected(message, status=status, raw=raw)

