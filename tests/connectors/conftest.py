"""Fixtures for connector tests: the sandbox networks served over real HTTP on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from connectors.base import Token
from connectors.x import XConnector
from sandbox.runner import SandboxServer, start

REDIRECT_URI = "http://127.0.0.1:5000/accounts/x/callback"
CLIENT_ID = "advocacy-test"
TEST_TIMEOUT = 0.5  # seconds: every connector call in these tests gives up this fast


class XSandbox:
    """The X sandbox's control API, for arranging and inspecting what the network holds."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=5)
        assert response.ok, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def reset(self) -> None:
        self.control("POST", "reset")

    def fault(self, **spec: Any) -> dict[str, Any]:
        return self.control("POST", "faults", spec)["fault"]

    def config(self, **changes: Any) -> dict[str, Any]:
        return self.control("POST", "config", changes)["config"]

    def user(self, handle: str, **fields: Any) -> dict[str, Any]:
        return self.control("POST", "users", {"handle": handle, **fields})["user"]

    def posts(self) -> list[dict[str, Any]]:
        return self.control("GET", "posts")["posts"]

    def set_metrics(self, post_id: str, **metrics: Any) -> dict[str, Any]:
        return self.control("POST", f"posts/{post_id}/metrics", metrics)["post"]

    def expire_tokens(self, handle: str | None = None) -> int:
        return int(self.control("POST", "tokens/expire", {"handle": handle} if handle else {})["expired"])

    def revoke_tokens(self, handle: str) -> int:
        return int(self.control("POST", "tokens/revoke", {"handle": handle})["revoked"])


class _FormReader(HTMLParser):
    """Reads the first form of a page the way a browser would submit it."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}  # value -> (name, value)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action", "")
        elif tag == "input" and a.get("name"):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name"):
            self.buttons[a.get("value", "")] = (a["name"], a.get("value", ""))


class XFlow:
    """The connect flow as the app and a person's browser go through it (a fixture, so tests import nothing)."""

    redirect_uri = REDIRECT_URI
    client_id = CLIENT_ID

    @staticmethod
    def consent(url: str, *, username: str = "alice", decision: str = "authorize") -> requests.Response:
        """Open the consent page at ``url``, type the handle, press a button; returns the (unfollowed) answer."""
        with requests.Session() as browser:
            page = browser.get(url, timeout=5)
            assert page.status_code == 200, page.text
            form = _FormReader()
            form.feed(page.text)
            assert form.action is not None, "the consent page has no form"
            fields = dict(form.fields, username=username)
            name, value = form.buttons[decision]
            fields[name] = value
            return browser.post(urljoin(page.url, form.action), data=fields, allow_redirects=False, timeout=5)

    @staticmethod
    def callback_params(response: requests.Response) -> dict[str, str]:
        """The query of the redirect back to our callback."""
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert location.startswith(REDIRECT_URI + "?"), location
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    def connect(self, connector: XConnector, username: str = "alice") -> Token:
        """authorization_url, consent in the browser, the callback, exchange_code."""
        auth = connector.authorization_url(REDIRECT_URI)
        params = self.callback_params(self.consent(auth.url, username=username))
        assert params["state"] == auth.state
        return connector.exchange_code(params["code"], REDIRECT_URI, auth.code_verifier)


@pytest.fixture(scope="session")
def x_sandbox_server() -> Iterator[SandboxServer]:
    server = start("x")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def x_sandbox(x_sandbox_server: SandboxServer) -> Iterator[XSandbox]:
    sandbox = XSandbox(x_sandbox_server.url)
    sandbox.reset()
    yield sandbox
    sandbox.http.close()


@pytest.fixture
def x_flow() -> XFlow:
    return XFlow()


@pytest.fixture
def x_make_connector(x_sandbox: XSandbox) -> Callable[..., XConnector]:
    """Build an XConnector pointed at the sandbox; keywords override its settings."""

    def make(**overrides: Any) -> XConnector:
        url = x_sandbox.url
        settings: dict[str, Any] = {
            "api_base_url": url,
            "authorize_url": f"{url}/i/oauth2/authorize",
            "token_url": f"{url}/2/oauth2/token",
            "web_base_url": url,
            "client_id": CLIENT_ID,
            "timeout": TEST_TIMEOUT,
        }
        return XConnector(**(settings | overrides))

    return make


@pytest.fixture
def x_connector(x_make_connector: Callable[..., XConnector]) -> XConnector:
    return x_make_connector()


@pytest.fixture
def x_token(x_flow: XFlow, x_connector: XConnector) -> Token:
    return x_flow.connect(x_connector, "alice")


# ------------------------------------------------------------------------------------------------------ LinkedIn
LINKEDIN_REDIRECT_URI = "http://127.0.0.1:5000/accounts/callback/linkedin"
LINKEDIN_SECRET = "advocacy-test-secret"


class LinkedInSandbox(XSandbox):
    """The LinkedIn sandbox's control API (the same endpoints and JSON shapes as the X sandbox's)."""


class LinkedInFlow:
    """The LinkedIn connect flow as the app and a member's browser go through it."""

    redirect_uri = LINKEDIN_REDIRECT_URI
    client_id = CLIENT_ID

    @staticmethod
    def consent(url: str, *, username: str = "alice", decision: str = "authorize", analytics: bool = False,
                **extra: str) -> requests.Response:
        """Open the consent page, type the name, maybe grant post analytics, press a button."""
        with requests.Session() as browser:
            page = browser.get(url, timeout=5)
            assert page.status_code == 200, page.text
            form = _FormReader()
            form.feed(page.text)
            assert form.action is not None, "the consent page has no form"
            fields = dict(form.fields, username=username, **extra)
            if analytics:
                assert 'name="extra_scope"' in page.text
                fields["extra_scope"] = "r_member_postAnalytics"
            name, value = form.buttons[decision]
            fields[name] = value
            return browser.post(urljoin(page.url, form.action), data=fields, allow_redirects=False, timeout=5)

    @staticmethod
    def callback_params(response: requests.Response) -> dict[str, str]:
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert location.startswith(LINKEDIN_REDIRECT_URI + "?"), location
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    def connect(self, connector: Any, username: str = "alice", *, analytics: bool = False) -> Token:
        auth = connector.authorization_url(LINKEDIN_REDIRECT_URI)
        params = self.callback_params(self.consent(auth.url, username=username, analytics=analytics))
        assert params["state"] == auth.state
        return connector.exchange_code(params["code"], LINKEDIN_REDIRECT_URI, None)


@pytest.fixture(scope="session")
def linkedin_sandbox_server() -> Iterator[SandboxServer]:
    server = start("linkedin")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def linkedin_sandbox(linkedin_sandbox_server: SandboxServer) -> Iterator[LinkedInSandbox]:
    sandbox = LinkedInSandbox(linkedin_sandbox_server.url)
    sandbox.reset()
    yield sandbox
    sandbox.http.close()


@pytest.fixture
def linkedin_flow() -> LinkedInFlow:
    return LinkedInFlow()


@pytest.fixture
def linkedin_version() -> str:
    """A version the sandbox holds active today (its window moves with the calendar, as LinkedIn's does)."""
    import time

    return time.strftime("%Y%m", time.gmtime())


@pytest.fixture
def linkedin_make_connector(linkedin_sandbox: LinkedInSandbox, linkedin_version: str) -> Callable[..., Any]:
    """Build a LinkedInConnector pointed at the sandbox; keywords override its settings."""
    from connectors.linkedin import LinkedInConnector

    def make(**overrides: Any) -> LinkedInConnector:
        url = linkedin_sandbox.url
        settings: dict[str, Any] = {
            "api_base_url": url,
            "authorize_url": f"{url}/oauth/v2/authorization",
            "token_url": f"{url}/oauth/v2/accessToken",
            "web_base_url": url,
            "client_id": CLIENT_ID,
            "client_secret": LINKEDIN_SECRET,
            "version": linkedin_version,
            "timeout": TEST_TIMEOUT,
        }
        return LinkedInConnector(**(settings | overrides))

    return make


@pytest.fixture
def linkedin_connector(linkedin_make_connector: Callable[..., Any]) -> Any:
    return linkedin_make_connector()


@pytest.fixture
def linkedin_token(linkedin_flow: LinkedInFlow, linkedin_connector: Any) -> Token:
    return linkedin_flow.connect(linkedin_connector, "alice")


# ------------------------------------------------------------------------------------------------------ Mastodon
MASTODON_REDIRECT_URI = "http://127.0.0.1:5000/accounts/callback/mastodon"


class MastodonSandbox(XSandbox):
    """One Mastodon server's control API (the same endpoints and JSON shapes as the X sandbox's)."""


class MastodonFlow:
    """The Mastodon connect flow: register the app on the server, consent in the browser, exchange the code."""

    redirect_uri = MASTODON_REDIRECT_URI

    @staticmethod
    def consent(url: str, *, username: str = "alice", decision: str = "authorize") -> requests.Response:
        return XFlow.consent(url, username=username, decision=decision)

    @staticmethod
    def callback_params(response: requests.Response) -> dict[str, str]:
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        assert location.startswith(MASTODON_REDIRECT_URI + "?"), location
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

    def connect(self, connector: Any, username: str = "alice") -> Token:
        auth = connector.authorization_url(MASTODON_REDIRECT_URI)
        params = self.callback_params(self.consent(auth.url, username=username))
        assert params["state"] == auth.state
        return connector.exchange_code(params["code"], MASTODON_REDIRECT_URI, auth.code_verifier)


@pytest.fixture(scope="session")
def mastodon_sandbox_server() -> Iterator[SandboxServer]:
    server = start("mastodon")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mastodon_sandbox(mastodon_sandbox_server: SandboxServer) -> Iterator[MastodonSandbox]:
    sandbox = MastodonSandbox(mastodon_sandbox_server.url)
    sandbox.reset()
    yield sandbox
    sandbox.http.close()


@pytest.fixture
def mastodon_flow() -> MastodonFlow:
    return MastodonFlow()


@pytest.fixture
def mastodon_make_connector(mastodon_sandbox: MastodonSandbox) -> Callable[..., Any]:
    """Build a MastodonConnector for the sandbox server, its app registered there once; keywords override."""
    from connectors.mastodon import MastodonConnector

    registered: dict[str, str] = {}

    def make(**overrides: Any) -> MastodonConnector:
        settings: dict[str, Any] = {"instance_url": mastodon_sandbox.url, "timeout": TEST_TIMEOUT}
        if not registered:
            app = MastodonConnector(**settings).register_app(MASTODON_REDIRECT_URI)
            registered.update(client_id=app.client_id, client_secret=app.client_secret)
        return MastodonConnector(**(settings | registered | overrides))

    return make


@pytest.fixture
def mastodon_connector(mastodon_make_connector: Callable[..., Any]) -> Any:
    return mastodon_make_connector()


@pytest.fixture
def mastodon_token(mastodon_flow: MastodonFlow, mastodon_connector: Any) -> Token:
    return mastodon_flow.connect(mastodon_connector, "alice")


# ------------------------------------------------------------------------------------------------------- Bluesky
BLUESKY_HANDLE = "alice.bsky.social"
BLUESKY_APP_PASSWORD = "abcd-efgh-2345-wxyz"


class BlueskySandbox(XSandbox):
    """One Bluesky PDS's control API (the same endpoints and JSON shapes as the X sandbox's)."""


@pytest.fixture(scope="session")
def bluesky_sandbox_server() -> Iterator[SandboxServer]:
    server = start("bluesky")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bluesky_sandbox(bluesky_sandbox_server: SandboxServer) -> Iterator[BlueskySandbox]:
    sandbox = BlueskySandbox(bluesky_sandbox_server.url)
    sandbox.reset()
    sandbox.config(auto_create_accounts=False)  # accounts exist only when a test makes them, as on a real PDS
    sandbox.user(BLUESKY_HANDLE, app_password=BLUESKY_APP_PASSWORD)
    yield sandbox
    sandbox.http.close()


@pytest.fixture
def bluesky_make_connector(bluesky_sandbox: BlueskySandbox) -> Callable[..., Any]:
    """Build a BlueskyConnector pointed at the sandbox PDS; keywords override its settings."""
    from connectors.bluesky import BlueskyConnector

    def make(**overrides: Any) -> BlueskyConnector:
        settings: dict[str, Any] = {
            "pds_url": bluesky_sandbox.url,
            "web_base_url": bluesky_sandbox.url,
            "timeout": TEST_TIMEOUT,
        }
        return BlueskyConnector(**(settings | overrides))

    return make


@pytest.fixture
def bluesky_connector(bluesky_make_connector: Callable[..., Any]) -> Any:
    return bluesky_make_connector()


@pytest.fixture
def bluesky_token(bluesky_connector: Any) -> Token:
    return bluesky_connector.create_session(BLUESKY_HANDLE, BLUESKY_APP_PASSWORD)
