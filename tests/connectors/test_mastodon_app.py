"""Mastodon through the app's own routes: name a server, consent there, share, and a real worker posts it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import select

from advocacy.accounts.models import ConnectedAccount, MastodonApp
from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.conftest import consent, run_jobs, run_worker_process
from tests.test_loop import opt_in


def write_and_approve(browser_factory: Any, make_user: Any) -> int:
    """A talking point for everyone, written by one comms person and approved by another (four eyes)."""
    make_user("author@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    author = browser_factory("author@acme.test")
    created = author.post("/studio/", {"title": "We are hiring", "link": "https://acme.test/jobs?team=platform",
                                       "text": "Come build the platform with us.", "hashtags": "#hiring",
                                       "disclosure": "#iworkforacme", "target_everyone": "1"})
    assert created.status_code == 302, created.get_data(as_text=True)[-2000:]
    tp_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
    assert author.post(f"/studio/{tp_id}/submit").status_code == 302
    assert browser_factory("reviewer@acme.test").post(f"/studio/{tp_id}/approve").status_code == 302
    return tp_id


def connect_mastodon(browser: Any, server: str, username: str) -> Any:
    """The connect form, the server's consent page, and the callback, as a person goes through them."""
    start = browser.post("/accounts/connect/mastodon", {"instance": server})
    assert start.status_code == 302, start.get_data(as_text=True)[-1500:]
    assert start.headers["Location"].startswith(server.split("/@")[0] + "/oauth/authorize?")
    back = urlsplit(consent(start.headers["Location"], username))
    return browser.get(f"{back.path}?{back.query}")


def test_connect_share_and_a_worker_posts(app: Any, settings: dict[str, Any], sandbox: dict[str, str],
                                          browser_factory: Any, make_user: Any, policy: Any) -> None:
    server = sandbox["mastodon"]
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)

    accounts = emma.get("/accounts/").get_data(as_text=True)
    assert "Mastodon" in accounts and "Bluesky" in accounts
    assert emma.post("/accounts/connect/mastodon").headers["Location"].endswith("/accounts/connect/mastodon")
    form = emma.get("/accounts/connect/mastodon").get_data(as_text=True)
    assert f'value="{server}"' in form  # the configured default server is suggested

    connected = connect_mastodon(emma, server, "emma")
    assert connected.status_code == 302 and connected.headers["Location"].endswith("/feed")
    account = db.session.scalars(select(ConnectedAccount)).one()
    host = urlsplit(server).netloc
    assert (account.network, account.handle, account.server_url) == ("mastodon", f"emma@{host}", server)
    registration = db.session.scalars(select(MastodonApp)).one()
    assert registration.instance_url == server
    registered = requests.get(f"{server}/_sandbox/apps", timeout=5).json()["apps"]
    assert [a["client_id"] for a in registered] == [registration.client_id]
    for stored in (registration.client_secret_encrypted, account.access_token_encrypted):
        assert stored and stored.startswith("gAAAA")  # Fernet tokens, never the secret itself

    make_user("liam@acme.test")
    liam = browser_factory("liam@acme.test")
    opt_in(liam)
    assert connect_mastodon(liam, f"{server}/@liam/", "liam").status_code == 302  # a profile URL: the same server
    assert len(requests.get(f"{server}/_sandbox/apps", timeout=5).json()["apps"]) == 1  # registered once, reused

    assert "Share on Mastodon" in emma.get("/feed").get_data(as_text=True)
    shared = emma.post("/share", {"talking_point_id": tp_id, "network": "mastodon"})
    assert shared.status_code == 302
    worker = run_worker_process(settings)  # a real `advocacy worker --burst` process
    assert worker.returncode == 0, worker.stderr[-2000:]

    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "published" and share.post_url and share.post_url.startswith(f"{server}/@emma/")
    (post,) = requests.get(f"{server}/_sandbox/posts", timeout=5).json()["posts"]
    assert post["id"] == share.post_id and post["author_handle"] == "emma"
    assert f"http://advocacy.test/r/{share.code}" in post["text"] and "#iworkforacme" in post["text"]
    assert post["idempotency_key"] and str(share.id) in post["idempotency_key"]  # every attempt sends the same key
    page = requests.get(share.post_url, timeout=5)
    assert page.status_code == 200 and "Come build the platform with us." in page.text


def test_a_revoked_mastodon_token_pauses_the_share(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                                  make_user: Any, policy: Any) -> None:
    server = sandbox["mastodon"]
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    connect_mastodon(emma, server, "emma")
    requests.post(f"{server}/_sandbox/tokens/revoke", json={"handle": "emma"}, timeout=5).raise_for_status()
    emma.post("/share", {"talking_point_id": tp_id, "network": "mastodon"})
    run_jobs(app)
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    assert share.status == "paused" and "reconnect" in (share.last_error or "")
    account = db.session.scalars(select(ConnectedAccount)).one()
    db.session.refresh(account)
    assert account.status == "revoked"
    assert requests.get(f"{server}/_sandbox/posts", timeout=5).json()["posts"] == []


def test_bad_server_input_is_named_and_kept(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                          make_user: Any, policy: Any) -> None:
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    for typed, expected in [
        ("", "Server: is required"),
        ("ftp://files.example", "Server: is not the address of a server"),
        (sandbox["x"], "Server: could not reach that server"),  # not Mastodon: the one neutral message
    ]:
        answer = emma.post("/accounts/connect/mastodon", {"instance": typed})
        page = answer.get_data(as_text=True)
        assert answer.status_code == 422 and expected in page, (typed, page[-1500:])
        assert f'value="{typed}"' in page and 'aria-invalid="true"' in page
    assert db.session.scalars(select(MastodonApp)).all() == []
    assert db.session.scalars(select(ConnectedAccount)).all() == []


def test_a_mastodon_share_over_the_json_api(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                            make_user: Any, policy: Any) -> None:
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    connect_mastodon(emma, sandbox["mastodon"], "emma")
    created = emma.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "mastodon"})
    assert created.status_code == 201, created.get_json()
    bad = emma.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "myspace"})
    assert bad.status_code == 422 and "network" in str(bad.get_json())
    run_jobs(app)
    assert emma.api("GET", f"/api/shares/{created.get_json()['id']}").get_json()["status"] == "published"


def test_a_lost_answer_is_answered_by_the_idempotency_key(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                                          make_user: Any, policy: Any) -> None:
    server = sandbox["mastodon"]
    tp_id = write_and_approve(browser_factory, make_user)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    connect_mastodon(emma, server, "emma")
    fault = {"status": 503, "count": 1, "after": True, "method": "POST", "path_prefix": "/api/v1/statuses"}
    requests.post(f"{server}/_sandbox/faults", json=fault, timeout=5).raise_for_status()
    emma.post("/share", {"talking_point_id": tp_id, "network": "mastodon"})
    run_jobs(app)  # the status is made but its answer lost; the retry sends the same key and gets the same status
    share = db.session.scalars(select(Share)).one()
    db.session.refresh(share)
    posts = requests.get(f"{server}/_sandbox/posts", timeout=5).json()["posts"]
    assert share.status == "published" and share.attempts == 2, share.last_error
    assert [p["id"] for p in posts] == [share.post_id]


def test_a_registration_made_before_images_is_replaced(app: Any, sandbox: dict[str, str], browser_factory: Any,
                                                        make_user: Any, policy: Any) -> None:
    """A server registered when the app did not ask for write:media would refuse the wider consent: register anew."""
    from advocacy.accounts import crypto
    from connectors.mastodon import MastodonConnector

    server = sandbox["mastodon"]
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    opt_in(emma)
    connect_mastodon(emma, server, "emma")
    stored = db.session.scalars(select(MastodonApp)).one()
    old_scopes = ("read:accounts", "read:statuses", "write:statuses")
    old = MastodonConnector(instance_url=server, scopes=old_scopes).register_app(stored.redirect_uri)
    stored.client_id, stored.client_secret_encrypted = old.client_id, crypto.encrypt(old.client_secret) or ""
    stored.scopes = " ".join(old_scopes)
    db.session.commit()

    make_user("liam@acme.test")
    liam = browser_factory("liam@acme.test")
    opt_in(liam)
    assert connect_mastodon(liam, server, "liam").status_code == 302
    db.session.refresh(stored)
    assert stored.client_id != old.client_id and "write:media" in stored.scopes.split()
    assert len(requests.get(f"{server}/_sandbox/apps", timeout=5).json()["apps"]) == 3
    assert db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.handle.like("liam@%"))).one()
