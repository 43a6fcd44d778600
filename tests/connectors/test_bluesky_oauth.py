"""Bluesky by atproto OAuth against the sandbox over real HTTP: discovery, PAR, PKCE, DPoP and its nonces, the
callback checks (state, iss, sub), refresh rotation, revocation, and posting with an image on a DPoP-bound token."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey

from connectors.base import AuthExpired, AuthRevoked, Media, Rejected
from connectors.bluesky import BlueskyConnector
from connectors.bluesky_oauth import (
    AtprotoOAuth,
    Client,
    Credential,
    Dpop,
    OAuthRefused,
    Pending,
    load_signing_key,
    new_dpop_key,
)
from tests.connectors.conftest import BLUESKY_HANDLE, BlueskySandbox

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
CLIENT = Client.for_public_url("http://127.0.0.1:8000")


@pytest.fixture
def oauth(bluesky_sandbox: BlueskySandbox) -> AtprotoOAuth:
    return AtprotoOAuth(resolver_url=bluesky_sandbox.url, plc_url=bluesky_sandbox.url, timeout=5)


def consent(pending: Pending, *, handle: str | None = None, decision: str = "allow") -> dict[str, str]:
    """The person on the authorization server's consent page: the callback's query parameters."""
    page = requests.get(pending.url, timeout=5)
    assert page.status_code == 200, page.text
    request_uri = re.search(r'name="request_uri" value="([^"]+)"', page.text)
    assert request_uri and f'value="{pending.handle}"' in page.text  # login_hint prefills the handle
    answer = requests.post(urlsplit(pending.url)._replace(query="").geturl(), timeout=5, allow_redirects=False, data={
        "client_id": pending.client_id, "request_uri": request_uri.group(1), "decision": decision,
        "handle": handle or pending.handle})
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(pending.redirect_uri + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def connect(oauth: AtprotoOAuth) -> tuple[Any, Any]:
    pending = oauth.start(BLUESKY_HANDLE, CLIENT)
    back = consent(pending)
    return oauth.finish(pending, state=back["state"], iss=back["iss"], code=back["code"])


def grants(sandbox: BlueskySandbox) -> dict[str, Any]:
    return requests.get(f"{sandbox.url}/_sandbox/oauth", timeout=5).json()


def rotate_nonce(sandbox: BlueskySandbox) -> None:
    requests.post(f"{sandbox.url}/_sandbox/oauth/rotate-nonce", timeout=5).raise_for_status()


def test_discovery_handle_did_document_pds_and_authorization_server(oauth: AtprotoOAuth,
                                                                    bluesky_sandbox: BlueskySandbox) -> None:
    did, handle, pds = oauth.resolve("@Alice.bsky.social")
    assert (did.startswith("did:plc:"), handle, pds) == (True, BLUESKY_HANDLE, bluesky_sandbox.url)
    meta = oauth.authorization_server(pds)
    assert meta["issuer"] == bluesky_sandbox.url and meta["require_pushed_authorization_requests"] is True
    assert "repo:app.bsky.feed.post" in meta["scopes_supported"]
    with pytest.raises(Rejected, match="could not be found"):
        oauth.resolve("nobody.bsky.social")


def test_connect_checks_sub_and_scope_and_the_token_is_dpop_bound(oauth: AtprotoOAuth,
                                                                  bluesky_sandbox: BlueskySandbox) -> None:
    access, refresh = connect(oauth)
    credential = Credential.loads(access.access_token)
    assert credential.did == oauth.resolve(BLUESKY_HANDLE)[0] and credential.pds == bluesky_sandbox.url
    assert access.scope == "atproto repo:app.bsky.feed.post blob:image/*" and access.expires_at is not None
    assert "d" in credential.dpop_key  # the session's private key travels with the (encrypted) credential
    (grant,) = grants(bluesky_sandbox)["grants"]
    assert grant["jkt"] == ECKey.import_key(credential.dpop_key).thumbprint()
    connector = BlueskyConnector(pds_url=bluesky_sandbox.url, web_base_url=bluesky_sandbox.url, timeout=5)
    assert connector.profile(access.access_token).handle == BLUESKY_HANDLE
    # the same token as Bearer (no proof) is refused, and so is a proof signed by another key
    bearer = requests.get(f"{bluesky_sandbox.url}/xrpc/app.bsky.actor.getProfile", timeout=5,
                          params={"actor": credential.did}, headers={"Authorization": f"Bearer {credential.token}"})
    assert bearer.status_code in (400, 401)
    with requests.Session() as http:
        stolen = Dpop(http, new_dpop_key()).request("GET", f"{bluesky_sandbox.url}/xrpc/app.bsky.actor.getProfile",
                                                    access_token=credential.token, params={"actor": credential.did})
    assert stolen.status_code == 401 and stolen.json()["message"] == "DPoP key mismatch"


def test_par_is_required_pkce_s256_only_and_the_proof_checked(oauth: AtprotoOAuth,
                                                              bluesky_sandbox: BlueskySandbox) -> None:
    url = bluesky_sandbox.url
    direct = requests.get(f"{url}/oauth/authorize", timeout=5, params={
        "client_id": CLIENT.client_id, "redirect_uri": CLIENT.redirect_uri, "scope": "atproto"})
    assert direct.status_code == 400 and "Pushed authorization request required" in direct.text
    form = {"client_id": CLIENT.client_id, "response_type": "code", "redirect_uri": CLIENT.redirect_uri,
            "scope": "atproto", "state": "s", "code_challenge": "abc", "code_challenge_method": "plain"}
    no_proof = requests.post(f"{url}/oauth/par", data=form, timeout=5)
    assert no_proof.status_code == 400 and no_proof.json()["error"] == "invalid_dpop_proof"
    with requests.Session() as http:
        plain = Dpop(http, new_dpop_key()).request("POST", f"{url}/oauth/par", data=form)
        assert plain.status_code == 400 and plain.json()["error_description"] == "PKCE with S256 is required"
        other_port = Dpop(http, new_dpop_key()).request("POST", f"{url}/oauth/par", data=form | {
            "client_id": "http://localhost:8000", "code_challenge_method": "S256"})
        assert other_port.json()["error"] == "invalid_client"  # a loopback client id is http://localhost exactly
        not_loopback = Dpop(http, new_dpop_key()).request("POST", f"{url}/oauth/par", data=form | {
            "client_id": "http://localhost?redirect_uri=http%3A%2F%2Flocalhost%2Fcb", "code_challenge_method": "S256",
            "redirect_uri": "http://localhost/cb"})
        assert not_loopback.json()["error_description"] == "Loopback redirect_uri must be on 127.0.0.1 or [::1]"
    pending = oauth.start(BLUESKY_HANDLE, CLIENT)
    back = consent(pending)
    wrong_verifier = Pending(**{**pending.__dict__, "verifier": "x" * 64})
    with pytest.raises(OAuthRefused, match="Invalid code_verifier"):
        oauth.finish(wrong_verifier, state=back["state"], iss=back["iss"], code=back["code"])
    with pytest.raises(OAuthRefused, match="Invalid code"):  # the code was spent by the failed attempt
        oauth.finish(pending, state=back["state"], iss=back["iss"], code=back["code"])


def test_a_replayed_or_stale_proof_is_refused(bluesky_sandbox: BlueskySandbox, oauth: AtprotoOAuth) -> None:
    access, _ = connect(oauth)
    credential = Credential.loads(access.access_token)
    url = f"{bluesky_sandbox.url}/xrpc/app.bsky.actor.getProfile"
    with requests.Session() as http:
        dpop = Dpop(http, credential.dpop_key)
        first = dpop.request("GET", url, access_token=credential.token, params={"actor": credential.did})
        assert first.status_code == 200
        nonce = first.headers["DPoP-Nonce"]
        proof = dpop.proof("GET", url, nonce=nonce, access_token=credential.token)
        headers = {"Authorization": f"DPoP {credential.token}", "DPoP": proof}
        assert http.get(url, params={"actor": credential.did}, headers=headers, timeout=5).status_code == 200
        replay = http.get(url, params={"actor": credential.did}, headers=headers, timeout=5)
        assert replay.status_code == 401 and "jti replayed" in replay.json()["message"]
        key = ECKey.import_key(credential.dpop_key)
        old = jwt.encode({"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=False)},
                         {"jti": "old-1", "htm": "GET", "htu": url, "iat": 1_000_000_000, "nonce": nonce}, key)
        stale = http.get(url, params={"actor": credential.did}, timeout=5,
                         headers={"Authorization": f"DPoP {credential.token}", "DPoP": old})
        assert stale.status_code == 401 and "iat" in stale.json()["message"]
        wrong_method = dpop.proof("POST", url, nonce=nonce, access_token=credential.token)
        assert http.get(url, params={"actor": credential.did}, timeout=5, headers={
            "Authorization": f"DPoP {credential.token}", "DPoP": wrong_method}).status_code == 401


def test_callback_with_mismatched_state_iss_or_sub_is_refused(oauth: AtprotoOAuth,
                                                              bluesky_sandbox: BlueskySandbox) -> None:
    pending = oauth.start(BLUESKY_HANDLE, CLIENT)
    back = consent(pending)
    with pytest.raises(OAuthRefused, match="state mismatch"):
        oauth.finish(pending, state="forged", iss=back["iss"], code=back["code"])
    with pytest.raises(OAuthRefused, match="issuer mismatch"):
        oauth.finish(pending, state=back["state"], iss="https://evil.example", code=back["code"])
    # the person signs in as another account on the consent page: the token names another DID
    bluesky_sandbox.user("bob.bsky.social")
    pending = oauth.start(BLUESKY_HANDLE, CLIENT)
    back = consent(pending, handle="bob.bsky.social")
    with pytest.raises(OAuthRefused, match="account mismatch"):
        oauth.finish(pending, state=back["state"], iss=back["iss"], code=back["code"])


def test_nonce_rotated_between_calls_a_post_with_an_image_still_goes_out_once(
        oauth: AtprotoOAuth, bluesky_sandbox: BlueskySandbox) -> None:
    access, _ = connect(oauth)
    connector = BlueskyConnector(pds_url=bluesky_sandbox.url, web_base_url=bluesky_sandbox.url, timeout=5)
    rotate_nonce(bluesky_sandbox)
    refusals = grants(bluesky_sandbox)["nonce_refusals"]
    post = connector.publish(access.access_token, "Our launch #news", "https://acme.test/r/abc",
                             idempotency_key="share-1", media=[Media(PNG, "image/png", "the launch")])
    assert grants(bluesky_sandbox)["nonce_refusals"] == refusals + 1  # the first call after rotation, retried once
    (stored,) = bluesky_sandbox.posts()
    assert stored["id"] == post.id and "https://acme.test/r/abc" in stored["text"]
    (image,) = stored["record"]["embed"]["images"]
    assert image["alt"] == "the launch" and image["image"]["mimeType"] == "image/png"


def test_scope_falls_back_where_the_server_has_no_granular_permissions(oauth: AtprotoOAuth,
                                                                       bluesky_sandbox: BlueskySandbox) -> None:
    bluesky_sandbox.config(granular_scopes=False)
    access, _ = connect(oauth)
    assert access.scope == "atproto transition:generic"
    assert [g["scope"] for g in grants(bluesky_sandbox)["grants"]] == ["atproto transition:generic"]


def test_the_pds_holds_a_token_to_its_scope(oauth: AtprotoOAuth, bluesky_sandbox: BlueskySandbox) -> None:
    access, _ = connect(oauth)
    credential = Credential.loads(access.access_token)
    with requests.Session() as http:
        pdf = Dpop(http, credential.dpop_key).request(
            "POST", f"{bluesky_sandbox.url}/xrpc/com.atproto.repo.uploadBlob", access_token=credential.token,
            data=b"%PDF-1.4", headers={"Content-Type": "application/pdf"})
    assert pdf.status_code == 403 and pdf.json()["error"] == "ScopeMissingError"  # blob:image/* only


def test_refresh_rotates_and_an_old_refresh_token_is_refused(oauth: AtprotoOAuth,
                                                             bluesky_sandbox: BlueskySandbox) -> None:
    access, _ = connect(oauth)
    connector = BlueskyConnector(pds_url=bluesky_sandbox.url, web_base_url=bluesky_sandbox.url, timeout=5)
    rotate_nonce(bluesky_sandbox)  # the token endpoint's nonce moved too: retried once, transparently
    renewed = connector.refresh(access)
    assert renewed.refresh_token and renewed.refresh_token != access.refresh_token
    assert connector.profile(renewed.access_token).handle == BLUESKY_HANDLE
    with pytest.raises(AuthRevoked, match="refused the refresh token"):
        connector.refresh(access)  # single use: the rotated-out refresh token is dead
    (grant,) = grants(bluesky_sandbox)["grants"]
    assert (grant["rotations"], grant["refused_refreshes"]) == (1, 1)


def test_revoke_ends_the_grant_at_the_authorization_server(oauth: AtprotoOAuth,
                                                           bluesky_sandbox: BlueskySandbox) -> None:
    access, _ = connect(oauth)
    connector = BlueskyConnector(pds_url=bluesky_sandbox.url, web_base_url=bluesky_sandbox.url, timeout=5)
    connector.revoke(access)
    assert [g["alive"] for g in grants(bluesky_sandbox)["grants"]] == [False]
    with pytest.raises(AuthExpired):
        connector.profile(access.access_token)
    connector.revoke(access)  # revoking again succeeds (RFC 7009)


class _Metadata(BaseHTTPRequestHandler):
    document: dict[str, Any] = {}

    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps(self.document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def metadata_server() -> Iterator[tuple[str, type[_Metadata]]]:
    handler = type("Handler", (_Metadata,), {"document": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


def test_a_client_metadata_document_is_fetched_and_checked(oauth: AtprotoOAuth, bluesky_sandbox: BlueskySandbox,
                                                           metadata_server: tuple[str, Any]) -> None:
    base, handler = metadata_server
    bluesky_sandbox.config(allow_http_client_ids=True)  # the document is served on plain http here
    client = Client(f"{base}/accounts/bluesky/client-metadata.json", f"{base}/accounts/bluesky/callback")
    handler.document = client.metadata()
    assert oauth.start(BLUESKY_HANDLE, client).url
    handler.document = client.metadata() | {"client_id": "https://other.example/meta.json"}
    with pytest.raises(OAuthRefused, match="client_id does not match"):
        oauth.start(BLUESKY_HANDLE, client)
    handler.document = client.metadata() | {"dpop_bound_access_tokens": False}
    with pytest.raises(OAuthRefused, match="dpop_bound_access_tokens"):
        oauth.start(BLUESKY_HANDLE, client)
    bluesky_sandbox.config(allow_http_client_ids=False)
    with pytest.raises(OAuthRefused, match="https"):
        oauth.start(BLUESKY_HANDLE, client)


def test_a_confidential_client_authenticates_with_its_key_on_every_token_call(
        bluesky_sandbox: BlueskySandbox, metadata_server: tuple[str, Any]) -> None:
    base, handler = metadata_server
    bluesky_sandbox.config(allow_http_client_ids=True)
    key = load_signing_key(ECKey.generate_key("P-256", private=True).as_pem(private=True).decode())
    client = Client(f"{base}/accounts/bluesky/client-metadata.json", f"{base}/accounts/bluesky/callback",
                    signing_key=key)
    handler.document = client.metadata()
    assert handler.document["token_endpoint_auth_method"] == "private_key_jwt"
    assert "d" not in handler.document["jwks"]["keys"][0]  # only the public half is published
    oauth = AtprotoOAuth(resolver_url=bluesky_sandbox.url, plc_url=bluesky_sandbox.url, timeout=5, client_key=key)
    pending = oauth.start(BLUESKY_HANDLE, client)
    back = consent(pending)
    access, _ = oauth.finish(pending, state=back["state"], iss=back["iss"], code=back["code"])
    assert [g["confidential"] for g in grants(bluesky_sandbox)["grants"]] == [True]
    keyless = BlueskyConnector(pds_url=bluesky_sandbox.url, timeout=5)
    with pytest.raises(AuthRevoked, match="no client key"):
        keyless.refresh(access)
    connector = BlueskyConnector(pds_url=bluesky_sandbox.url, timeout=5, oauth_client_key=json.dumps(key))
    renewed = connector.refresh(access)
    assert connector.profile(renewed.access_token).handle == BLUESKY_HANDLE
    # a metadata document listing another key: the assertion does not verify, PAR is refused
    handler.document = Client(client.client_id, client.redirect_uri, signing_key=new_dpop_key()).metadata()
    with pytest.raises(OAuthRefused, match="Invalid client assertion"):
        oauth.start(BLUESKY_HANDLE, client)
    connector.revoke(renewed)
    assert [g["alive"] for g in grants(bluesky_sandbox)["grants"]] == [False]
