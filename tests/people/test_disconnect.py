"""Disconnecting (and opting out) revokes the tokens at the network, not only here; a network that is down never
stops the disconnect, and the accounts page says what to do there.

Each network is the sandbox over real HTTP: after the disconnect, the token the app held is refused by the network.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from advocacy.accounts.models import AccountStatus
from advocacy.accounts.services import disconnect, token_of
from advocacy.extensions import db
from advocacy.people.services import opt_out
from connectors.base import RevokesTokens, Token
from tests.conftest import consent
from tests.delivery.support import Sandbox, connect, employee

MASTODON_CALLBACK = "http://advocacy.test/accounts/callback/mastodon"
LINKEDIN_CALLBACK = "http://advocacy.test/accounts/callback/linkedin"


def code_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["code"][0]


def connect_mastodon(user: Any, server: str, username: str) -> Any:
    from advocacy.accounts.services import finish_connect_mastodon, mastodon_authorization

    server_url, start = mastodon_authorization(server, MASTODON_CALLBACK)
    return finish_connect_mastodon(user, server_url, code_of(consent(start.url, username)), MASTODON_CALLBACK,
                                   start.code_verifier)


def connect_linkedin(user: Any, username: str) -> Any:
    from advocacy.accounts.networks import connector_for
    from advocacy.accounts.services import finish_connect

    start = connector_for("linkedin").authorization_url(LINKEDIN_CALLBACK)
    return finish_connect(user, "linkedin", code_of(consent(start.url, username)), LINKEDIN_CALLBACK,
                          start.code_verifier)


def x_status(sandbox: dict[str, str], token: Token) -> tuple[int, int]:
    """What X answers the access token (an API call) and the refresh token (a refresh) now."""
    me = requests.get(f"{sandbox['x']}/2/users/me", headers={"Authorization": f"Bearer {token.access_token}"},
                      timeout=5)
    refreshed = requests.post(f"{sandbox['x']}/2/oauth2/token", timeout=5, data={
        "grant_type": "refresh_token", "refresh_token": token.refresh_token, "client_id": "advocacy-tests"})
    return me.status_code, refreshed.status_code


def mastodon_status(server: str, token: Token) -> int:
    access = token.access_token.partition(" ")[2]
    return requests.get(f"{server}/api/v1/accounts/verify_credentials", timeout=5,
                        headers={"Authorization": f"Bearer {access}"}).status_code


def linkedin_status(server: str, token: Token) -> int:
    return requests.get(f"{server}/v2/userinfo", headers={"Authorization": f"Bearer {token.access_token}"},
                        timeout=5).status_code


def test_the_connectors_that_can_revoke_say_so(app: Any) -> None:
    from advocacy.accounts.networks import connector_for, mastodon_connector

    assert isinstance(connector_for("x"), RevokesTokens)
    assert isinstance(connector_for("linkedin"), RevokesTokens)
    assert isinstance(mastodon_connector("https://mastodon.example"), RevokesTokens)


def x_me(sandbox: dict[str, str], token: Token) -> int:
    return requests.get(f"{sandbox['x']}/2/users/me", headers={"Authorization": f"Bearer {token.access_token}"},
                        timeout=5).status_code


def test_disconnect_revokes_the_x_tokens_at_x(app: Any, sandbox: dict[str, str], policy: Any) -> None:
    from advocacy.accounts.services import account_for

    user = employee("emma@acme.test", handle="emma")
    account = account_for(user, "x")
    token = token_of(account)
    assert x_me(sandbox, token) == 200 and token.refresh_token
    assert disconnect(account) is None
    assert account.status == AccountStatus.DISCONNECTED and account.access_token_encrypted is None
    assert account.last_error is None
    assert x_status(sandbox, token) == (401, 400)  # the access token refused, the refresh token dead
    revokes = [r for r in Sandbox(sandbox["x"]).requests() if r["path"] == "/2/oauth2/revoke"]
    assert [r["status"] for r in revokes] == [200, 200]  # the refresh token, then the access token


def test_disconnect_revokes_at_mastodon_and_linkedin(app: Any, sandbox: dict[str, str], policy: Any) -> None:
    user = employee("emma@acme.test")
    mastodon = connect_mastodon(user, sandbox["mastodon"], "emma")
    linkedin = connect_linkedin(user, "emma_acme")
    mastodon_token, linkedin_token = token_of(mastodon), token_of(linkedin)
    assert mastodon_status(sandbox["mastodon"], mastodon_token) == 200
    assert linkedin_status(sandbox["linkedin"], linkedin_token) == 200

    assert disconnect(mastodon) is None and disconnect(linkedin) is None
    assert mastodon_status(sandbox["mastodon"], mastodon_token) == 401
    assert linkedin_status(sandbox["linkedin"], linkedin_token) == 401
    assert mastodon.access_token_encrypted is None and linkedin.access_token_encrypted is None


@pytest.mark.parametrize("fault", [{"status": 503}, {"delay": 30}])
def test_a_network_that_is_down_never_stops_the_disconnect(app: Any, sandbox: dict[str, str], policy: Any,
                                                           browser: Any, fault: dict[str, Any]) -> None:
    from advocacy.accounts.services import account_for

    user = employee("emma@acme.test", handle="emma")
    account = account_for(user, "x")
    token = token_of(account)
    x = Sandbox(sandbox["x"])
    x.fault(path_prefix="/2/oauth2/revoke", **fault)  # down (or too slow: the app's timeout is 2 s)

    browser.login("emma@acme.test")
    answer = browser.post(f"/accounts/{account.id}/disconnect")
    assert answer.status_code == 302
    x.clear_faults()
    db.session.expire_all()  # the disconnect ran in the request's own session
    account = account_for(user, "x")
    assert account.status == AccountStatus.DISCONNECTED and account.access_token_encrypted is None
    assert account.last_error == "could not revoke at X; revoke it in X's settings"
    page = browser.get("/accounts/").get_data(as_text=True)
    assert "could not revoke at X; revoke it in X&#39;s settings" in page
    assert x_me(sandbox, token) == 200  # X still honours it: the person is told to revoke it there

    connect(user, "emma")  # reconnecting clears the message
    db.session.expire_all()
    assert account_for(user, "x").last_error is None
    assert "could not revoke" not in browser.get("/accounts/").get_data(as_text=True)


def test_opt_out_revokes_every_account(app: Any, sandbox: dict[str, str], policy: Any) -> None:
    from advocacy.accounts.services import account_for

    user = employee("emma@acme.test", handle="emma")
    mastodon = connect_mastodon(user, sandbox["mastodon"], "emma")
    linkedin = connect_linkedin(user, "emma_acme")
    tokens = {"x": token_of(account_for(user, "x")), "mastodon": token_of(mastodon),
              "linkedin": token_of(linkedin)}

    opt_out(user)
    assert x_status(sandbox, tokens["x"]) == (401, 400)
    assert mastodon_status(sandbox["mastodon"], tokens["mastodon"]) == 401
    assert linkedin_status(sandbox["linkedin"], tokens["linkedin"]) == 401
    for network in ("x", "mastodon", "linkedin"):
        account = account_for(user, network)
        assert account.status == AccountStatus.DISCONNECTED and account.last_error is None, network


def test_the_accounts_page_says_what_disconnecting_does(app: Any, sandbox: dict[str, str], policy: Any,
                                                        browser: Any) -> None:
    employee("emma@acme.test", handle="emma")
    browser.login("emma@acme.test")
    page = browser.get("/accounts/").get_data(as_text=True)
    assert "revokes this app&#39;s access at X" in page and 'id="disconnect-x"' in page
