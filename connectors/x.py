"""X (API v2): OAuth 2.0 Authorization Code with PKCE through requests-oauthlib, everything else through tweepy.

tweepy's ``Client`` hard-codes ``https://api.twitter.com``; a transport adapter mounted on its session sends each
request to ``api_base_url`` instead (the real API, or the sandbox), so tweepy is used as released, not forked.
tweepy 4 has no v2 media upload: images go up as multipart/form-data on the same session (``POST /2/media/upload``,
as X documents it; GIFs in segments: ``initialize``, ``append``, ``finalize``, then the status until X has processed
them), their alt text through ``Client.request`` (``POST /2/media/metadata``), and the post through
``create_tweet(media_ids=...)``. Every failure leaves this module as one of the ``connectors.base`` exceptions.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar, NoReturn, TypeVar
from urllib.parse import urlsplit

import requests
import tweepy
from oauthlib.oauth2 import WebApplicationClient
from requests.adapters import BaseAdapter, HTTPAdapter
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
    utc_from_epoch,
)
from connectors.oauth import oauth_call, oauth_session

log = logging.getLogger(__name__)

TWEEPY_HOST = "https://api.twitter.com"  # what tweepy.Client puts in front of every route
LOOKUP_BATCH = 100  # GET /2/tweets takes at most 100 ids
FIND_PAGES = 5  # find_post reads at most this many pages of 100 of the person's timeline
DUPLICATE_MARK = "duplicate content"
MAX_IMAGES = 4  # media.media_ids takes 1 to 4 ids
IMAGE_MAX_BYTES = 5 * 1024 * 1024  # X's limit for an image (media_category tweet_image)
GIF_MAX_BYTES = 15 * 1024 * 1024  # X's limit for a GIF (tweet_gif, uploaded in segments)
IMAGE_FORMATS = ("image/jpeg", "image/png", "image/webp", "image/gif")  # what X takes for posts
SEGMENT_BYTES = 4 * 1024 * 1024  # one appended segment of a chunked upload (X takes up to 5 MB)
ALT_TEXT_MAX = 1000  # characters of alt text X keeps per image
MEDIA_SCOPE = "media.write"
T = TypeVar("T")


class _DropDebugRecords(logging.Filter):
    """tweepy and requests-oauthlib put bearer tokens and token answers in their DEBUG lines: never let one out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


for _name in ("tweepy.client", "requests_oauthlib.oauth2_session"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, _DropDebugRecords) for f in _logger.filters):
        _logger.addFilter(_DropDebugRecords())


class _RouteToBase(HTTPAdapter):
    """Send requests tweepy addressed to ``https://api.twitter.com`` to the configured base URL."""

    def __init__(self, base_url: str, inner: BaseAdapter) -> None:
        super().__init__()
        self._base = base_url.rstrip("/")
        self._inner = inner

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:  # type: ignore[override]
        url = request.url or ""
        if url.startswith(TWEEPY_HOST + "/"):
            request.url = self._base + url[len(TWEEPY_HOST) :]
        return self._inner.send(request, **kw)

    def close(self) -> None:
        self._inner.close()
        super().close()


@register
class XConnector:
    """A client of the X API v2 for one app (client id); holds no per-user state.

    Args:
        api_base_url: where the API lives (``https://api.x.com``, or a sandbox).
        authorize_url: the consent page people are sent to.
        token_url: the OAuth 2.0 token endpoint.
        web_base_url: where post pages live, for the URL of a published post.
        client_id: the app's OAuth 2.0 client id.
        client_secret: the app's secret for a confidential client (HTTP Basic); None for a public client.
        scopes: scopes asked for; ``offline.access`` is what brings a refresh token, ``media.write`` lets images be
            uploaded.
        timeout: seconds for connect and for read on every request.
        user_agent: sent on every request.
        revoke_url: the OAuth 2.0 revocation endpoint; by default the token endpoint's sibling ``.../revoke``.
    """

    name: ClassVar[str] = "x"

    def __init__(
        self,
        *,
        api_base_url: str = "https://api.x.com",
        authorize_url: str = "https://x.com/i/oauth2/authorize",
        token_url: str = "https://api.x.com/2/oauth2/token",
        web_base_url: str = "https://x.com",
        client_id: str = "",
        client_secret: str | None = None,
        scopes: Sequence[str] = ("tweet.read", "tweet.write", "users.read", "offline.access", MEDIA_SCOPE),
        timeout: float = DEFAULT_TIMEOUT,
        user_agent: str = DEFAULT_USER_AGENT,
        revoke_url: str | None = None,
    ) -> None:
        revoke_url = revoke_url or token_url.rstrip("/").rsplit("/", 1)[0] + "/revoke"
        for setting, url in (("api_base_url", api_base_url), ("token_url", token_url), ("revoke_url", revoke_url)):
            if urlsplit(url).scheme not in ("http", "https"):
                raise ConfigurationError(f"X {setting} must be an http(s) URL, not {url!r}")
        self.api_base_url = api_base_url.rstrip("/")
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.revoke_url = revoke_url
        self.web_base_url = web_base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret or None
        self.scopes = tuple(scopes)
        self.timeout = timeout
        self.user_agent = user_agent
        self._local = threading.local()  # one tweepy Client (and HTTP session) per thread, see _client

    def __repr__(self) -> str:
        return f"XConnector(api_base_url={self.api_base_url!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------------------------------------- OAuth
    def authorization_url(self, redirect_uri: str) -> AuthRequest:
        """Where to send the person to consent, with a fresh state and PKCE (S256) code verifier.

        Args:
            redirect_uri: our callback, exactly as registered with the X app.
        """
        self._require_client_id()
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
        """Trade the code from the callback for a token set.

        Args:
            code: the ``code`` query parameter of the callback.
            redirect_uri: the same callback URL the authorization request named.
            code_verifier: the verifier ``authorization_url`` returned.
        """
        self._require_client_id()
        if not code_verifier:
            raise ConfigurationError("X needs the PKCE code verifier to exchange a code")
        with self._oauth_session(redirect_uri=redirect_uri) as oauth:
            oauth.register_compliance_hook("access_token_response", self._check_token_answer(refreshing=False))
            answer = self._oauth_call(
                self.token_url,
                lambda: oauth.fetch_token(
                    self.token_url, code=code, code_verifier=code_verifier, **self._client_auth()
                ),
            )
        log.info("x.oauth exchanged client_id=%s", self.client_id)
        return self._token(answer)

    def refresh(self, token: Token) -> Token:
        """A new token set from the refresh token (X rotates it: the old refresh token stops working).

        Args:
            token: the current token set; its ``refresh_token`` is used.
        """
        self._require_client_id()
        if not token.refresh_token:
            raise AuthRevoked("no refresh token (offline.access not granted): the person must reconnect")
        auth = self._client_auth()
        body = {"client_id": self.client_id} if auth.get("include_client_id") else {}
        with self._oauth_session() as oauth:
            oauth.register_compliance_hook("refresh_token_response", self._check_token_answer(refreshing=True))
            answer = self._oauth_call(
                self.token_url,
                lambda: oauth.refresh_token(
                    self.token_url, refresh_token=token.refresh_token, auth=auth.get("auth"), **body
                ),
            )
        log.info("x.oauth refreshed client_id=%s", self.client_id)
        return self._token(answer, previous_scope=token.scope)

    def revoke(self, token: Token) -> None:
        """End this app's access for the person at X (``POST /2/oauth2/revoke``, ``RevokesTokens``): the refresh token
        first (it could mint new access tokens), then the access token. A token X no longer knows counts as revoked.

        Args:
            token: the person's token set.
        """
        self._require_client_id()
        for value, hint in ((token.refresh_token, "refresh_token"), (token.access_token, "access_token")):
            if value:
                self._revoke_one(value, hint)
        log.info("x.oauth revoked client_id=%s", self.client_id)

    def _revoke_one(self, value: str, hint: str) -> None:
        """One RFC 7009 request, prepared by oauthlib; confidential clients authenticate with HTTP Basic."""
        auth = self._client_auth()
        extra = {"client_id": self.client_id} if auth.get("include_client_id") else {}

        def call() -> requests.Response:
            url, headers, body = WebApplicationClient(self.client_id).prepare_token_revocation_request(
                self.revoke_url, value, token_type_hint=hint, **extra)
            with http_session(timeout=self.timeout, user_agent=self.user_agent) as session:
                return session.post(url, data=body, headers=headers, auth=auth.get("auth"))

        _check_revoke_answer(self._oauth_call(self.revoke_url, call))

    # -------------------------------------------------------------------------------------------------- API
    def profile(self, access_token: str) -> Profile:
        """The connected person's id, handle and follower count.

        Args:
            access_token: the person's OAuth 2.0 user access token.
        """
        with self._api(access_token) as client:
            answer = client.get_me(user_fields=["public_metrics"], user_auth=False)
        data = _data(answer, dict)
        try:
            followers = (data.get("public_metrics") or {}).get("followers_count")
            return Profile(id=str(data["id"]), handle=str(data["username"]), followers=_count(followers))
        except (KeyError, TypeError, AttributeError) as exc:
            raise Transient(f"X answered /2/users/me without {exc}", raw=json.dumps(answer)) from None

    def publish(
        self, access_token: str, text: str, link: str | None = None, *, idempotency_key: str | None = None,
        media: Sequence[Media] = (), link_title: str | None = None,
    ) -> PublishedPost:
        """Post as the person; ``link`` is appended after a space unless the text already holds it.

        Args:
            access_token: the person's OAuth 2.0 user access token.
            text: the post text.
            link: a URL to add at the end (X counts any URL as 23 characters).
            idempotency_key: ignored: X has no idempotency header; a repeat is refused as a duplicate instead.
            media: up to 4 images (JPEG, PNG or WebP up to 5 MB, GIF up to 15 MB), each uploaded and given its alt
                text before the post is made (a GIF waited for while X processes it, at most ``timeout`` seconds).
                A retry uploads them again (harmless: unused uploads expire); the post itself is never made twice,
                X refuses the repeat as a duplicate.
        """
        _check_media(media)
        if link and link not in text:
            text = f"{text} {link}"
        with self._api(access_token) as client:
            media_ids = [self._upload(client, item, number) for number, item in enumerate(media, 1)]
            answer = client.create_tweet(text=text, media_ids=media_ids or None, user_auth=False)
        data = _data(answer, dict)
        post_id = data.get("id")
        if not isinstance(post_id, str) or not post_id:
            raise Transient("X answered the post without an id", raw=json.dumps(answer))
        log.info("x.publish ok post_id=%s images=%s", post_id, len(media_ids))
        return PublishedPost(id=post_id, url=f"{self.web_base_url}/i/web/status/{post_id}")

    def find_post(self, access_token: str, text: str, since: dt.datetime) -> PublishedPost | None:
        """The person's post holding ``text`` made since ``since``, if X has one (newest pages first).

        X gives every URL in a post's text back as a ``https://t.co/…`` link: a URL is found in the post's
        ``entities.urls`` (``expanded_url`` as written, or ``unwound_url`` where X resolved it), anything else in the
        text.

        Args:
            access_token: the person's OAuth 2.0 user access token.
            text: what the post holds; pass something unique to one post, such as its tracked link.
            since: the earliest creation time to look at (X keeps a user timeline of recent posts).
        """
        with self._api(access_token) as client:
            me = _data(client.get_me(user_auth=False), dict)
            token: str | None = None
            start = since.astimezone(dt.UTC) - dt.timedelta(seconds=1)  # X takes whole seconds
            for _ in range(FIND_PAGES):
                answer = client.get_users_tweets(me["id"], start_time=start, max_results=100,
                                                 tweet_fields=["entities", "created_at"], pagination_token=token,
                                                 user_auth=False)
                for item in _data(answer, list, missing_ok=True):
                    if isinstance(item, dict) and item.get("id") and _holds(item, text):
                        post_id = str(item["id"])
                        log.info("x.find_post found post_id=%s", post_id)
                        return PublishedPost(id=post_id, url=f"{self.web_base_url}/i/web/status/{post_id}")
                token = (answer.get("meta") or {}).get("next_token") if isinstance(answer, dict) else None
                if not token:
                    break
        return None

    def delete(self, access_token: str, post_id: str) -> None:
        """Delete one of the person's posts (a 404 is raised as ``Rejected`` with ``status`` 404).

        Args:
            access_token: the person's OAuth 2.0 user access token.
            post_id: the id ``publish`` returned.
        """
        with self._api(access_token) as client:
            answer = client.delete_tweet(post_id, user_auth=False)
        if _data(answer, dict).get("deleted") is not True:
            raise Rejected(f"X did not delete post {post_id}", status=200, raw=json.dumps(answer))
        log.info("x.delete ok post_id=%s", post_id)

    def metrics(self, access_token: str, post_ids: Sequence[str]) -> list[PostMetrics]:
        """Public counts of posts, 100 per request. Posts X no longer has are left out of the answer.

        Args:
            access_token: a user access token (any connected person's will do for public metrics).
            post_ids: ids of posts.
        """
        ids = list(dict.fromkeys(str(i) for i in post_ids))
        found: list[PostMetrics] = []
        if not ids:
            return found
        with self._api(access_token) as client:
            for start in range(0, len(ids), LOOKUP_BATCH):
                batch = ids[start : start + LOOKUP_BATCH]
                answer = client.get_tweets(ids=batch, tweet_fields=["public_metrics"], user_auth=False)
                found += [_post_metrics(item) for item in _data(answer, list, missing_ok=True)]
        return found

    # ----------------------------------------------------------------------------------------------- helpers
    def _upload(self, client: tweepy.Client, item: Media, number: int) -> str:
        """Upload one image (in one request; a GIF in segments), set its alt text; returns the media id."""
        if item.content_type == "image/gif":
            media_id = self._upload_in_segments(client, item, number)
        else:
            answer = self._media_call(
                client, "POST", "/2/media/upload", number,
                files={"media": (item.filename or "image", item.data, item.content_type)},
                data={"media_category": "tweet_image", "media_type": item.content_type},
            )
            media_id = _media_id(answer)
        if item.alt:
            metadata = {"id": media_id, "metadata": {"alt_text": {"text": item.alt}}}
            client.request("POST", "/2/media/metadata", json=metadata, user_auth=False)
        log.info("x.media uploaded media_id=%s bytes=%s alt=%s", media_id, len(item.data), bool(item.alt))
        return media_id

    def _upload_in_segments(self, client: tweepy.Client, item: Media, number: int) -> str:
        """``initialize``, ``append`` each segment, ``finalize``; then wait while X processes the GIF."""
        init = {"media_type": item.content_type, "total_bytes": len(item.data), "media_category": "tweet_gif"}
        media_id = _media_id(self._media_call(client, "POST", "/2/media/upload/initialize", number, json=init))
        for index, start in enumerate(range(0, len(item.data), SEGMENT_BYTES)):
            segment = item.data[start : start + SEGMENT_BYTES]
            self._media_call(client, "POST", f"/2/media/upload/{media_id}/append", number,
                             files={"media": (item.filename or "image", segment, "application/octet-stream")},
                             data={"segment_index": str(index)})
        answer = self._media_call(client, "POST", f"/2/media/upload/{media_id}/finalize", number)
        deadline = time.monotonic() + self.timeout
        while True:
            data = answer.get("data")
            info = data.get("processing_info") if isinstance(data, dict) else None
            state = info.get("state") if isinstance(info, dict) else None
            if state in (None, "succeeded"):
                return media_id
            if state == "failed":
                raise Rejected(f"X could not process image {number}", raw=json.dumps(answer))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Transient(f"X was still processing image {number} after {self.timeout:g} s",
                                raw=json.dumps(answer))
            wait = info.get("check_after_secs") if isinstance(info, dict) else None
            time.sleep(min(max(float(wait) if isinstance(wait, int | float) else 1.0, 0.05), remaining))
            answer = self._media_call(client, "GET", "/2/media/upload", number,
                                      params={"command": "STATUS", "media_id": media_id})

    def _media_call(self, client: tweepy.Client, method: str, path: str, number: int, **kw: Any) -> dict[str, Any]:
        """One media request on tweepy's session with the person's token; the JSON answer, or the mapped error."""
        response = client.session.request(method, f"{self.api_base_url}{path}",
                                           headers={"Authorization": f"Bearer {client.bearer_token}"}, **kw)
        if not 200 <= response.status_code < 300:
            _raise_media_mapped(response, number)
        answer = _json_object(response.text)
        if answer is None:
            raise Transient(f"X answered {path} with something unreadable", status=response.status_code,
                            raw=response.text)
        return answer

    def _require_client_id(self) -> None:
        if not self.client_id:
            raise ConfigurationError("no X client id configured (set the client id of your X app)")

    def _client_auth(self) -> dict[str, Any]:
        """Confidential clients authenticate with HTTP Basic; public ones send client_id in the body."""
        if self.client_secret:
            return {"auth": requests.auth.HTTPBasicAuth(self.client_id, self.client_secret), "include_client_id": False}
        return {"include_client_id": True}

    def _oauth_session(self, **kw: Any) -> AbstractContextManager[OAuth2Session]:
        return oauth_session(self.client_id, timeout=self.timeout, user_agent=self.user_agent, **kw)

    def _oauth_call(self, url: str, call: Callable[[], T]) -> T:
        return oauth_call("X", url, call)

    @staticmethod
    def _check_token_answer(*, refreshing: bool) -> Callable[[requests.Response], requests.Response]:
        """A requests-oauthlib hook: map a failed token answer before oauthlib tries to parse it."""

        def check(response: requests.Response) -> requests.Response:
            status, raw = response.status_code, response.text
            body = _json_object(raw)
            if 200 <= status < 300:
                if body is None or not body.get("access_token"):
                    raise Transient("X token endpoint answered without a token", status=status, raw=raw)
                return response
            if status == 429:
                reset_at = retry_after(response.headers, _reset_at(response.headers))
                raise RateLimited("X token endpoint: too many requests", reset_at=reset_at, status=status, raw=raw)
            if status >= 500 or body is None:
                raise Transient(f"X token endpoint answered {status}", status=status, raw=raw)
            error = str(body.get("error") or "")
            message = f"X token endpoint: {error or status}: {body.get('error_description') or ''}".rstrip(": ")
            if error in ("invalid_client", "unauthorized_client"):  # our client id or secret: an operator must act
                raise ConfigurationError(message, status=status, raw=raw)
            if refreshing and status in (400, 401):
                raise AuthRevoked(message, status=status, raw=raw)
            raise Rejected(message, status=status, raw=raw)

        return check

    def _token(self, answer: Mapping[str, Any], previous_scope: str | None = None) -> Token:
        try:
            expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(answer["expires_in"]))
        except (KeyError, TypeError, ValueError, OverflowError):
            expires_at = None  # X always says; None means "unknown", never "now"
        scope = answer.get("scope")
        if isinstance(scope, list):
            scope = " ".join(scope)
        return Token(
            access_token=str(answer["access_token"]),
            refresh_token=answer.get("refresh_token") or None,
            expires_at=expires_at,
            scope=str(scope or previous_scope or " ".join(self.scopes)),
        )

    @contextmanager
    def _api(self, access_token: str) -> Iterator[tweepy.Client]:
        """A tweepy Client for one user token, routed to ``api_base_url``, with every failure mapped."""
        if not access_token:
            raise AuthExpired("no access token")
        client = self._client()
        client.bearer_token = access_token
        try:
            yield client
        except tweepy.HTTPException as exc:
            _raise_mapped(exc.response)
        except requests.RequestException as exc:  # timeouts, refused connections, a 2xx body that is not JSON
            raise Transient(f"X unreachable or unreadable: {type(exc).__name__}") from None
        except ValueError as exc:  # tweepy could not read x-rate-limit-reset on a 429
            raise Transient(f"X answered something unreadable: {exc}") from None
        finally:
            client.bearer_token = None  # the next caller sets its own; never left for another person

    def _client(self) -> tweepy.Client:
        """This thread's tweepy Client and its HTTP session, built once and kept (keep-alive, no per-call setup).

        A Client carries the bearer token of the call in progress, so each thread has its own.
        """
        client: tweepy.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = tweepy.Client(return_type=dict, wait_on_rate_limit=False)
            client.user_agent = self.user_agent  # tweepy sends its own User-Agent header on each request
            session = http_session(timeout=self.timeout, user_agent=self.user_agent, session=client.session)
            session.mount(TWEEPY_HOST + "/", _RouteToBase(self.api_base_url, session.get_adapter(self.api_base_url)))
            weakref.finalize(client, session.close)  # sockets closed when the thread (or the connector) goes
            self._local.client = client
        return client


# ---------------------------------------------------------------------------------------------- answer reading
def _json_object(raw: str) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _data(answer: Any, kind: type, *, missing_ok: bool = False) -> Any:
    """``answer["data"]`` when it is of ``kind``; a 2xx answer without it is unreadable (Transient)."""
    if isinstance(answer, dict):
        data = answer.get("data")
        if isinstance(data, kind):
            return data
        if data is None and missing_ok:
            return kind()
    raise Transient("X answered without the expected data", raw=json.dumps(answer)[:2000])


def _holds(item: Mapping[str, Any], wanted: str) -> bool:
    """Whether a post as X gives it holds ``wanted``: in its text, or (a URL, which X wraps in t.co) as one of its
    links' ``expanded_url`` or ``unwound_url``."""
    if wanted in str(item.get("text", "")):
        return True
    entities = item.get("entities")
    urls = entities.get("urls") if isinstance(entities, dict) else None
    target = wanted.strip().rstrip("/")
    for entity in urls if isinstance(urls, list) else []:
        if isinstance(entity, dict) and any(
            isinstance(entity.get(name), str) and entity[name].rstrip("/") == target
            for name in ("expanded_url", "unwound_url")
        ):
            return True
    return False


def _check_revoke_answer(response: requests.Response) -> None:
    """Raise the ``connectors.base`` exception for a failed revocation (any 2xx but ``revoked: false`` is done)."""
    status, raw = response.status_code, response.text
    body = _json_object(raw)
    if 200 <= status < 300:
        if body is not None and body.get("revoked") is False:
            raise Rejected("X did not revoke the token", status=status, raw=raw)
        return
    if status == 429:
        raise RateLimited("X revoke endpoint: too many requests", status=status, raw=raw,
                          reset_at=retry_after(response.headers, _reset_at(response.headers)))
    if status >= 500 or body is None:
        raise Transient(f"X revoke endpoint answered {status}", status=status, raw=raw,
                        retry_at=retry_after(response.headers))
    error = str(body.get("error") or "")
    message = f"X revoke endpoint: {error or status}: {body.get('error_description') or ''}".rstrip(": ")
    if status == 401 or error in ("invalid_client", "unauthorized_client"):  # our client id or secret
        raise ConfigurationError(message, status=status, raw=raw)
    raise Rejected(message, status=status, raw=raw)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _post_metrics(item: Any) -> PostMetrics:
    if not isinstance(item, dict) or not item.get("id"):
        raise Transient("X answered a post without an id", raw=json.dumps(item)[:2000])
    public = item.get("public_metrics")
    figures: Mapping[str, Any] = public if isinstance(public, dict) else {}
    extra = {"bookmarks": b} if (b := _count(figures.get("bookmark_count"))) is not None else {}
    return PostMetrics(
        post_id=str(item["id"]),
        likes=_count(figures.get("like_count")),
        reposts=_count(figures.get("retweet_count")),
        replies=_count(figures.get("reply_count")),
        quotes=_count(figures.get("quote_count")),
        impressions=_count(figures.get("impression_count")),
        extra=extra,
    )


def _reset_at(headers: Mapping[str, str]) -> dt.datetime | None:
    """When a 429 frees: ``x-rate-limit-reset``, or a later 24-hour reset when that cap is the one used up."""
    candidates = [utc_from_epoch(headers.get("x-rate-limit-reset"))]
    for prefix in ("x-user-limit-24hour", "x-app-limit-24hour"):
        if headers.get(f"{prefix}-remaining", "").strip() == "0":
            candidates.append(utc_from_epoch(headers.get(f"{prefix}-reset")))
    known = [c for c in candidates if c is not None]
    return max(known) if known else None


def _problem_message(body: Mapping[str, Any] | None, status: int) -> str:
    """X's own words: each ``errors[].message`` (or ``detail``), else the problem's ``detail`` or ``title``."""
    if body is None:
        return f"X answered {status}"
    errors = body.get("errors")
    if not isinstance(errors, list):
        errors = []
    messages = [str(m) for e in errors if isinstance(e, dict) and (m := e.get("message") or e.get("detail"))]
    return "; ".join(messages) or str(body.get("detail") or body.get("title") or f"X answered {status}")


def _check_media(media: Sequence[Media]) -> None:
    """Refuse, before anything is uploaded, images X would refuse (``Rejected`` naming the limit)."""
    if len(media) > MAX_IMAGES:
        raise Rejected(f"X attaches at most {MAX_IMAGES} images to a post, not {len(media)}")
    for number, item in enumerate(media, 1):
        if item.content_type not in IMAGE_FORMATS:
            raise Rejected(f"image {number} is {item.content_type or 'of no type'}: X takes JPEG, PNG, WebP or GIF "
                           "images")
        if not item.data:
            raise Rejected(f"image {number} is empty")
        gif = item.content_type == "image/gif"
        limit = GIF_MAX_BYTES if gif else IMAGE_MAX_BYTES
        if len(item.data) > limit:
            raise Rejected(f"image {number} is {len(item.data):,} bytes: X takes {'GIFs' if gif else 'images'} up "
                           f"to {limit // 2**20} MB ({limit:,} bytes)")
        if len(item.alt) > ALT_TEXT_MAX:
            raise Rejected(f"the alt text of image {number} is {len(item.alt):,} characters: X keeps up to "
                           f"{ALT_TEXT_MAX:,}")


def _media_id(answer: Mapping[str, Any]) -> str:
    data = answer.get("data")
    media_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(media_id, str) or not media_id.isdigit():
        raise Transient("X answered the image upload without a media id", raw=json.dumps(answer))
    return media_id


def _raise_media_mapped(response: requests.Response, number: int) -> NoReturn:
    """Raise the ``connectors.base`` exception for a failed image upload."""
    status, raw = response.status_code, response.text
    message = _problem_message(_json_object(raw), status)
    if status == 403 and MEDIA_SCOPE in message:  # connected before images were asked for: only consent adds it
        raise AuthRevoked(f"X did not grant this app {MEDIA_SCOPE}: the person must reconnect to share images "
                          f"({message})", status=status, raw=raw)
    if status == 413:  # something in front of X refused the body's size
        raise Rejected(f"X refused image {number} as too large (HTTP 413)",
                       status=status, raw=raw)
    if status == 400:
        raise Rejected(f"X refused image {number}: {message}", status=status, raw=raw)
    _raise_mapped(response)


def _raise_mapped(response: requests.Response) -> NoReturn:
    """Raise the ``connectors.base`` exception for a failed X API answer."""
    status, raw = response.status_code, response.text
    body = _json_object(raw)
    message = _problem_message(body, status)
    if status == 401:
        raise AuthExpired(message, status=status, raw=raw)
    if status == 429:
        raise RateLimited(message, reset_at=retry_after(response.headers, _reset_at(response.headers)), status=status,
                          raw=raw)
    if status >= 500 or body is None:  # 5xx, or an HTML/empty page from something in front of X
        raise Transient(message, status=status, raw=raw, retry_at=retry_after(response.headers))
    if status == 403 and DUPLICATE_MARK in message.lower():
        raise Duplicate(message, status=status, raw=raw)
    if 400 <= status < 500:
        raise Rejected(message, status=status, raw=raw)
    raise Transient(message, status=status, raw=raw)

