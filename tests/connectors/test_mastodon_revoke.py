"""MastodonConnector.revoke against the Mastodon sandbox over real HTTP: ``POST /oauth/revoke`` with the app's
``client_id``, ``client_secret`` and the ``token``, as Mastodon documents it; afterwards the token is dead there."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import AuthRevoked, ConfigurationError, Rejected, RevokesTokens, Token, Transient

pytestmark = pytest.mark.timeout(30)


def test_revoke_kills_the_token(mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token) -> None:
    assert isinstance(mastodon_connector, RevokesTokens)
    mastodon_connector.revoke(mastodon_token)
    with pytest.raises(AuthRevoked) as refused:
        mastodon_connector.profile(mastodon_token.access_token)
    assert refused.value.status == 401 and "revoked" in refused.value.message
    mastodon_connector.revoke(mastodon_token)  # again: Mastodon answers 200 {} (idempotent)


def test_an_unknown_client_or_another_apps_token_is_refused(
    mastodon_sandbox: Any, mastodon_make_connector: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    with pytest.raises(ConfigurationError) as unknown:
        mastodon_make_connector(client_secret="not-the-secret").revoke(mastodon_token)
    assert unknown.value.status == 401 and "invalid_client" in unknown.value.message
    from connectors.mastodon import MastodonConnector

    other = MastodonConnector(instance_url=mastodon_sandbox.url, timeout=2).register_app("http://other.test/cb")
    stranger = mastodon_make_connector(client_id=other.client_id, client_secret=other.client_secret)
    with pytest.raises(Rejected) as not_theirs:
        stranger.revoke(mastodon_token)
    assert not_theirs.value.status == 403
    assert mastodon_connector.profile(mastodon_token.access_token).handle.startswith("alice@")  # still alive


def test_a_server_that_is_down_is_transient(
    mastodon_sandbox: Any, mastodon_connector: Any, mastodon_token: Token
) -> None:
    mastodon_sandbox.fault(status=503, count=1, path_prefix="/oauth/revoke")
    with pytest.raises(Transient):
        mastodon_connector.revoke(mastodon_token)
    assert mastodon_connector.profile(mastodon_token.access_token).handle.startswith("alice@")
