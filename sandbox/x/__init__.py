"""A local emulation of the X API v2, faithful enough that the real client (tweepy, requests-oauthlib) cannot tell.

Endpoints: the OAuth 2.0 consent page and token endpoints (Authorization Code with PKCE S256, rotating refresh
tokens, ``POST /2/oauth2/revoke``), ``POST /2/tweets`` (with ``media.media_ids``), ``DELETE /2/tweets/<id>``,
``GET /2/tweets``, ``GET /2/tweets/<id>``, ``GET /2/users/<id>/tweets``, ``GET /2/users/me`` (posts read back as X
gives them: every URL a ``https://t.co/…`` link, the URL as written in ``entities.urls``), image upload in one
request (``POST /2/media/upload``, kept per user until it expires) or in segments (``initialize``, ``append``,
``finalize``, then ``GET /2/media/upload`` while a GIF is processed), its alt text (``POST /2/media/metadata``),
a public page per post (``/i/web/status/<id>``, images at ``/i/media/<key>``), and a JSON control API under
``/_sandbox/`` for tests and the demo: see ``create_app`` for the list. State lives in memory behind one lock; run it
with ``sandbox.runner``.

Modules: ``core`` (constants, text length, t.co wrapping, error answers), ``state`` (what the network remembers),
``web`` (helpers the routes share), ``app`` (the Flask app: hooks, tokens, posts, timeline, control), ``media``
(uploads) and ``pages`` (HTML). This package re-exports their public names, so ``sandbox.x`` reads as one module.
"""

from __future__ import annotations

from sandbox.x.app import (  # noqa: F401 (the package's public names)
    create_app,
)
from sandbox.x.core import (  # noqa: F401 (the package's public names)
    CHALLENGE,
    DEFAULT_RATE_LIMITS,
    DISPLAY_URL_MAX,
    DUPLICATE_DETAIL,
    EMOJI_SEQUENCE,
    ENDPOINT_SCOPES,
    FIRST_MEDIA_ID,
    FIRST_TWEET_ID,
    HANDLE,
    JOURNAL_SIZE,
    MEDIA_IDS_INVALID,
    METRIC_NAMES,
    NUMERIC_ID,
    PROBLEMS,
    SCOPES,
    TCO_ALPHABET,
    TCO_PREFIX,
    TOO_LONG_DETAIL,
    TWEET_FIELDS,
    URL_IN_TEXT,
    USER_FIELDS,
    VERIFIER,
    ApiError,
    ControlError,
    invalid_request,
    media_not_found,
    not_found,
    problem,
    token_error,
    utc_iso,
    weighted_length,
    wrap_urls,
)
from sandbox.x.state import (  # noqa: F401 (the package's public names)
    AccessToken,
    Config,
    Fault,
    Grant,
    Post,
    RefreshToken,
    Upload,
    User,
    XState,
)
