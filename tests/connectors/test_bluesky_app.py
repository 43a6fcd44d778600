"""Bluesky through the app's own routes: handle and app password, share, and the worker posts (refreshing first)."""

from __future__ import annotations

from typing import Any

import requests
from sqlalchemy import select, text

from advocacy.accounts.models import ConnectedAccount
from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.conftest import run_jobs
from tests.connectors.test_mastodon_app import write_and_approve
from tests.test_loop import opt_in

HANDLE = "emma.bsky.social"
APP_PASSWORD = "emma-2345-abcd-wxyz"


def test_connect_share_and_the_worker_posts(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                            make_user: Any, policy: Any) -> None:
    pds = sandbox["bluesky"]
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    assert emma.post("/accounts/connect/bluesky").headers["Location"].endswith("/accounts/connect/bluesky")
    form = emma.get("/accounts/connect/bluesky").get_data(as_text=True)
    assert 'name="handle"' in form and 'type="password"' in form and "App password" in form

    connected = emma.post("/accounts/connect/bluesky", {"handle": "@" + HANDLE, "app_password": APP_PASSWORD})
    assert connected.status_code == 302 and connected.headers["Location"].endswith("/feed")
    account = db.session.scalars(select(ConnectedAccount)).one()
    assert (account.network, account.handle) == ("bluesky", HANDLE)
    assert account.expires_at is not None and account.refresh_token_encrypted
    row = db.session.execute(text("SELECT * FROM connected_accounts")).one()
    assert all(APP_PASSWORD not in str(value) for value in row)  # the app password is never stored

    requests.post(f"{pds}/_sandbox/tokens/expire", json={"handle": HANDLE}, timeout=5).raise_for_status()
    assert "Share on Bluesky" in emma.get("/feed").get_data(as_text=True)
    assert emma.post("/share", {"talking_point_id": tp_id, "network": "bluesky"}).status_code == 302
    run_jobs(app)  # the access JWT has expired: the worker refreshes the session, then posts

    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "published", share.last_error
    (post,) = requests.get(f"{pds}/_sandbox/posts", timeout=5).json()["posts"]
    assert share.post_id == post["id"] and share.post_url == f"{pds}/profile/{post['author_id']}/post/{post['rkey']}"
    tracked = f"http://advocacy.test/r/{share.code}"
    assert tracked in post["text"] and "#iworkforacme" in post["text"]
    assert {"uri": tracked, "text": tracked}.items() <= next(
        link for link in post["links"] if link["uri"] == tracked).items()  # a link facet, in UTF-8 bytes
    page = requests.get(share.post_url, timeout=5)
    assert page.status_code == 200 and f'<a href="{tracked}"' in page.text


def test_bad_credentials_are_named_and_nothing_is_stored(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                                        make_user: Any, policy: Any) -> None:
    pds = sandbox["bluesky"]
    requests.post(f"{pds}/_sandbox/config", json={"auto_create_accounts": False}, timeout=5).raise_for_status()
    requests.post(f"{pds}/_sandbox/users", json={"handle": HANDLE, "app_password": APP_PASSWORD},
                  timeout=5).raise_for_status()
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    for fields, expected in [
        ({"handle": "", "app_password": APP_PASSWORD}, "Handle: is required"),
        ({"handle": HANDLE, "app_password": ""}, "App password: is required"),
        ({"handle": HANDLE, "app_password": "wron-gpas-swor-dxxx"},
         "App password: was not accepted by Bluesky (Invalid identifier or password)"),
        ({"handle": "nobody.bsky.social", "app_password": APP_PASSWORD}, "App password: was not accepted"),
    ]:
        answer = emma.post("/accounts/connect/bluesky", fields)
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422 and expected in page, (fields, page[-1500:])
        assert f'value="{fields["handle"]}"' in page  # what was typed stays, except the password
        assert not fields["app_password"] or fields["app_password"] not in page
    assert db.session.scalars(select(ConnectedAccount)).all() == []


def test_an_unreachable_pds_is_said_plainly(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                            make_user: Any, policy: Any) -> None:
    requests.post(f"{sandbox['bluesky']}/_sandbox/faults", json={"status": 503, "count": 1},
                  timeout=5).raise_for_status()
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    answer = emma.post("/accounts/connect/bluesky", {"handle": HANDLE, "app_password": APP_PASSWORD})
    assert answer.status_code == 422 and "Bluesky could not be reached" in answer.get_data(as_text=True)
    assert db.session.scalars(select(ConnectedAccount)).all() == []


def test_a_lost_answer_is_found_on_the_pds_not_posted_twice(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                                            make_user: Any, policy: Any) -> None:
    pds = sandbox["bluesky"]
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    emma.post("/accounts/connect/bluesky", {"handle": HANDLE, "app_password": APP_PASSWORD})
    fault = {"status": 502, "count": 1, "after": True, "path_prefix": "/xrpc/com.atproto.repo.createRecord"}
    requests.post(f"{pds}/_sandbox/faults", json=fault, timeout=5).raise_for_status()
    emma.post("/share", {"talking_point_id": tp_id, "network": "bluesky"})
    run_jobs(app)  # the post is made but its answer lost; the record is read back under the share's own key
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    posts = requests.get(f"{pds}/_sandbox/posts", timeout=5).json()["posts"]
    assert share.status == "published" and share.attempts == 1, share.last_error
    assert "already holds this post" in (share.last_error or "")
    assert [p["id"] for p in posts] == [share.post_id]  # one post, never two


def test_disconnecting_ends_the_session_at_the_pds(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                                    make_user: Any, policy: Any) -> None:
    from advocacy.accounts.networks import connector_for
    from advocacy.accounts.services import token_of
    from connectors.base import RevokesTokens

    pds = sandbox["bluesky"]
    assert isinstance(connector_for("bluesky"), RevokesTokens)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    emma.post("/accounts/connect/bluesky", {"handle": HANDLE, "app_password": APP_PASSWORD})
    account = db.session.scalars(select(ConnectedAccount)).one()
    token = token_of(account)
    assert emma.post(f"/accounts/{account.id}/disconnect").status_code == 302

    db.session.refresh(account)
    assert account.access_token_encrypted is None and account.last_error is None  # revoked there, forgotten here
    for nsid, jwt in (("com.atproto.server.refreshSession", token.refresh_token),
                      ("com.atproto.server.deleteSession", token.refresh_token)):
        answer = requests.post(f"{pds}/xrpc/{nsid}", headers={"Authorization": f"Bearer {jwt}"}, timeout=5)
        assert (answer.status_code, answer.json()["message"]) == (400, "Token has been revoked"), nsid
    profile = requests.get(f"{pds}/xrpc/app.bsky.actor.getProfile", params={"actor": HANDLE}, timeout=5,
                           headers={"Authorization": f"Bearer {token.access_token}"})
    assert (profile.status_code, profile.json()["message"]) == (400, "Token has been revoked")
