"""XConnector.revoke against the X sandbox over real HTTP: ``POST /2/oauth2/revoke`` as X documents it (form ``token``
with ``client_id`` for a public client, HTTP Basic for a confidential one); afterwards the tokens are dead at X."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import AuthExpired, AuthRevoked, ConfigurationError, RevokesTokens, Token, Transient
from connectors.x import XConnector

pytestmark = pytest.mark.timeout(30)


def revokes(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.control("GET", "requests")["requests"] if r["path"] == "/2/oauth2/revoke"]


def test_revoke_kills_the_access_and_the_refresh_token(
    x_sandbox: Any, x_connector: XConnector, x_token: Token
) -> None:
    assert isinstance(x_connector, RevokesTokens)
    assert x_connector.revoke_url == f"{x_sandbox.url}/2/oauth2/revoke"
    x_connector.revoke(x_token)
    with pytest.raises(AuthExpired):  # X answers the revoked access token 401
        x_connector.profile(x_token.access_token)
    with pytest.raises(AuthRevoked):  # and the refresh token can mint no new one
        x_connector.refresh(x_token)
    assert [r["status"] for r in revokes(x_sandbox)] == [200, 200]
    x_connector.revoke(x_token)  # a token X no longer honours counts as revoked (RFC 7009: 200)


def test_a_confidential_client_revokes_with_basic_and_an_unknown_one_is_refused(
    x_sandbox: Any, x_flow: Any, x_make_connector: Any
) -> None:
    x_sandbox.config(clients={"advocacy-test": {"secret": "s3cret", "name": "Advocacy"}})
    connector = x_make_connector(client_secret="s3cret")
    token = x_flow.connect(connector)
    stranger = x_make_connector(client_id="someone-else")
    with pytest.raises(ConfigurationError) as refused:
        stranger.revoke(token)
    assert refused.value.status == 401 and "unauthorized_client" in refused.value.message
    wrong_secret = x_make_connector(client_secret="guess")
    with pytest.raises(ConfigurationError):
        wrong_secret.revoke(token)
    assert connector.profile(token.access_token).handle == "alice"  # nothing was revoked by them

    connector.revoke(token)
    with pytest.raises(AuthExpired):
        connector.profile(token.access_token)


def test_x_down_is_transient(x_sandbox: Any, x_connector: XConnector, x_token: Token, x_make_connector: Any) -> None:
    x_sandbox.fault(status=503, count=1, path_prefix="/2/oauth2/revoke")
    with pytest.raises(Transient):
        x_connector.revoke(x_token)
    unreachable = x_make_connector(token_url="http://127.0.0.1:9/2/oauth2/token")
    with pytest.raises(Transient):
        unreachable.revoke(x_token)
    assert x_connector.profile(x_token.access_token).handle == "alice"
