"""Bluesky by OAuth through the app's own routes, on the sandbox over real HTTP: an employee connects with their
handle (the app is a loopback client: no public URL needed), shares, and a worker posts with the DPoP-bound token;
forged callbacks store nothing; refreshes of one account rotate once; disconnecting revokes the grant."""

from __future__ import annotations

import re
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import select, text

from advocacy.accounts import services
from advocacy.accounts.models import ConnectedAccount
from advocacy.delivery import tokens
from advocacy.delivery.models import Share
from advocacy.extensions import db
from connectors.bluesky_oauth import Credential
from tests.conftest import run_jobs
from tests.connectors.test_mastodon_app import write_and_approve
from tests.test_loop import opt_in

HANDLE = "emma.bsky.social"


def prepare(app: Any, sandbox: dict[str, str], browser_factory: Any, make_user: Any) -> Any:
    pds = sandbox["bluesky"]
    app.config["BLUESKY_PLC_URL"] = pds  # the sandbox serves the DID documents, as the PLC directory does
    requests.post(f"{pds}/_sandbox/users", json={"handle": HANDLE}, timeout=5).raise_for_status()
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    return emma


def sign_in(emma: Any, pds: str, *, as_handle: str = HANDLE) -> dict[str, str]:
    """Emma types her handle, and allows the app on Bluesky's consent page: the callback's parameters."""
    started = emma.post("/accounts/connect/bluesky", {"handle": "@" + HANDLE})
    assert started.status_code == 302, started.get_data(as_text=True)[-800:]
    location = started.headers["Location"]
    assert location.startswith(f"{pds}/oauth/authorize?client_id=http%3A%2F%2Flocalhost")  # a loopback client
    page = requests.get(location, timeout=5)
    request_uri = re.search(r'name="request_uri" value="([^"]+)"', page.text)
    assert page.status_code == 200 and request_uri
    answer = requests.post(f"{pds}/oauth/authorize", allow_redirects=False, timeout=5, data={
        "client_id": parse_qs(urlsplit(location).query)["client_id"][0], "request_uri": request_uri.group(1),
        "handle": as_handle, "decision": "allow"})
    back = answer.headers["Location"]
    assert back.startswith("http://127.0.0.1/accounts/bluesky/callback?"), back  # loopback redirect
    return {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}


def callback(emma: Any, params: dict[str, str]) -> Any:
    return emma.get("/accounts/bluesky/callback", query_string=params)


def test_the_connect_form_offers_oauth_first_and_app_passwords_as_a_labelled_fallback(
        app: Any, sandbox: dict[str, str], browser_factory: Any, make_user: Any, policy: Any) -> None:
    emma = prepare(app, sandbox, browser_factory, make_user)
    page = emma.get("/accounts/connect/bluesky").get_data(as_text=True)
    assert page.index('id="oauth-handle"') < page.index("Use an app password instead") < page.index('type="password"')
    answer = emma.post("/accounts/connect/bluesky", {"handle": "nobody.example.com"})  # resolves nowhere
    assert answer.status_code == 422
    assert "Handle: could not be signed in with OAuth" in answer.get_data(as_text=True)
    assert db.session.scalars(select(ConnectedAccount)).all() == []


def test_employee_connects_by_oauth_shares_and_the_worker_posts_once(
        app: Any, sandbox: dict[str, str], browser_factory: Any, make_user: Any, policy: Any) -> None:
    pds = sandbox["bluesky"]
    tp_id = write_and_approve(browser_factory, make_user)
    emma = prepare(app, sandbox, browser_factory, make_user)
    done = callback(emma, sign_in(emma, pds))
    assert done.status_code == 302 and done.headers["Location"] == "http://advocacy.test/feed"
    account = db.session.scalars(select(ConnectedAccount)).one()
    assert (account.network, account.handle, account.scope) == (
        "bluesky", HANDLE, "atproto repo:app.bsky.feed.post blob:image/*")
    credential = Credential.loads(services.token_of(account).access_token)
    row = db.session.execute(text("SELECT * FROM connected_accounts")).one()
    assert all(credential.dpop_key["d"] not in str(v) and credential.token not in str(v) for v in row)  # encrypted

    requests.post(f"{pds}/_sandbox/oauth/rotate-nonce", timeout=5).raise_for_status()  # mid-session rotation
    assert emma.post("/share", {"talking_point_id": tp_id, "network": "bluesky"}).status_code == 302
    run_jobs(app)
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "published", share.last_error
    (post,) = requests.get(f"{pds}/_sandbox/posts", timeout=5).json()["posts"]
    assert share.post_id == post["id"] and f"http://advocacy.test/r/{share.code}" in post["text"]


def test_a_callback_with_a_mismatched_state_iss_or_sub_is_refused_and_nothing_stored(
        app: Any, sandbox: dict[str, str], browser_factory: Any, make_user: Any, policy: Any) -> None:
    pds = sandbox["bluesky"]
    emma = prepare(app, sandbox, browser_factory, make_user)
    requests.post(f"{pds}/_sandbox/users", json={"handle": "bob.bsky.social"}, timeout=5).raise_for_status()
    cases = [
        (lambda p: p | {"state": "forged"}, "was not started here or was already used (state mismatch)"),
        (lambda p: p | {"iss": "https://evil.example"}, "(issuer mismatch)"),
    ]
    for tamper, message in cases:
        answer = callback(emma, tamper(sign_in(emma, pds)))
        assert answer.status_code == 302 and answer.headers["Location"] == "http://advocacy.test/accounts/"
        assert message in emma.get("/accounts/").get_data(as_text=True)
    answer = callback(emma, sign_in(emma, pds, as_handle="bob.bsky.social"))  # signed in as someone else
    assert "(account mismatch)" in emma.get("/accounts/").get_data(as_text=True)
    params = sign_in(emma, pds)
    assert callback(emma, params).headers["Location"] == "http://advocacy.test/feed"
    db.session.query(ConnectedAccount).delete()
    db.session.commit()
    callback(emma, params)  # the same answer again: its state was used once
    assert "was already used" in emma.get("/accounts/").get_data(as_text=True)
    assert db.session.scalars(select(ConnectedAccount)).all() == []


def test_two_refreshes_of_one_account_at_once_rotate_it_once(
        app: Any, sandbox: dict[str, str], browser_factory: Any, make_user: Any, policy: Any) -> None:
    pds = sandbox["bluesky"]
    emma = prepare(app, sandbox, browser_factory, make_user)
    callback(emma, sign_in(emma, pds))
    account_id = db.session.scalars(select(ConnectedAccount)).one().id
    stale = services.token_of(db.session.get(ConnectedAccount, account_id)).access_token
    barrier = threading.Barrier(2)
    results: list[str] = []
    errors: list[BaseException] = []

    def refresh() -> None:
        with app.app_context():
            try:
                account = db.session.get(ConnectedAccount, account_id)
                barrier.wait(timeout=10)
                results.append(tokens.refresh_locked(account, stale))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=refresh) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert not errors and len(results) == 2 and results[0] == results[1] != stale
    (grant,) = requests.get(f"{pds}/_sandbox/oauth", timeout=5).json()["grants"]
    assert (grant["rotations"], grant["refused_refreshes"], grant["alive"]) == (1, 0, True)


def test_disconnecting_revokes_the_grant_at_the_authorization_server(
        app: Any, sandbox: dict[str, str], browser_factory: Any, make_user: Any, policy: Any) -> None:
    pds = sandbox["bluesky"]
    emma = prepare(app, sandbox, browser_factory, make_user)
    callback(emma, sign_in(emma, pds))
    account = db.session.scalars(select(ConnectedAccount)).one()
    page = emma.get("/accounts/").get_data(as_text=True)
    assert "access at Bluesky (its tokens stop working there)" in page and "app password you gave" not in page
    assert emma.post(f"/accounts/{account.id}/disconnect").status_code == 302
    db.session.refresh(account)
    assert account.access_token_encrypted is None and account.last_error is None
    (grant,) = requests.get(f"{pds}/_sandbox/oauth", timeout=5).json()["grants"]
    assert grant["alive"] is False


def test_the_client_metadata_document_on_an_https_public_url(app: Any, sandbox: dict[str, str]) -> None:
    app.config["PUBLIC_URL"] = "https://advocacy.example"
    document = app.test_client().get("/accounts/bluesky/client-metadata.json").get_json()
    url = "https://advocacy.example/accounts/bluesky/client-metadata.json"
    assert document["client_id"] == url
    assert document["redirect_uris"] == ["https://advocacy.example/accounts/bluesky/callback"]
    assert document["dpop_bound_access_tokens"] is True and document["token_endpoint_auth_method"] == "none"
    assert document["scope"].split()[0] == "atproto" and "repo:app.bsky.feed.post" in document["scope"]
    assert document["grant_types"] == ["authorization_code", "refresh_token"]


def test_in_the_demo_any_handle_on_the_sandbox_domain_connects_by_oauth(
        app: Any, sandbox: dict[str, str], browser_factory: Any, make_user: Any, policy: Any) -> None:
    pds = sandbox["bluesky"]
    requests.post(f"{pds}/_sandbox/config", json={"auto_create_accounts": True}, timeout=5).raise_for_status()
    app.config["BLUESKY_PLC_URL"] = pds
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    assert callback(emma, sign_in(emma, pds)).headers["Location"] == "http://advocacy.test/feed"
    assert db.session.scalars(select(ConnectedAccount)).one().handle == HANDLE


def test_with_a_client_key_the_app_is_a_confidential_client(app: Any, sandbox: dict[str, str]) -> None:
    from joserfc.jwk import ECKey

    app.config["PUBLIC_URL"] = "https://advocacy.example"
    app.config["BLUESKY_OAUTH_CLIENT_KEY"] = ECKey.generate_key("P-256", private=True).as_pem(private=True).decode()
    document = app.test_client().get("/accounts/bluesky/client-metadata.json").get_json()
    assert document["token_endpoint_auth_method"] == "private_key_jwt"
    assert document["token_endpoint_auth_signing_alg"] == "ES256"
    (key,) = document["jwks"]["keys"]
    assert key["kty"] == "EC" and key["kid"] and "d" not in key  # the private half never leaves the app


def test_an_access_token_the_pds_calls_expired_is_refreshed_once_and_the_post_goes_out(
        app: Any, sandbox: dict[str, str], browser_factory: Any, make_user: Any, policy: Any) -> None:
    pds = sandbox["bluesky"]
    tp_id = write_and_approve(browser_factory, make_user)
    emma = prepare(app, sandbox, browser_factory, make_user)
    callback(emma, sign_in(emma, pds))
    expired = requests.post(f"{pds}/_sandbox/oauth/expire", json={"handle": HANDLE}, timeout=5).json()
    assert expired["expired"] >= 1  # the PDS now answers 401 ExpiredToken; the stored expiry is still ahead
    assert emma.post("/share", {"talking_point_id": tp_id, "network": "bluesky"}).status_code == 302
    run_jobs(app)
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "published", share.last_error
    assert len(requests.get(f"{pds}/_sandbox/posts", timeout=5).json()["posts"]) == 1
    (grant,) = requests.get(f"{pds}/_sandbox/oauth", timeout=5).json()["grants"]
    assert (grant["rotations"], grant["alive"]) == (1, True)
