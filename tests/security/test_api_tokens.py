"""API tokens: scoped by role, never wider than the owner's, revocable, no CSRF needed (no cookie involved)."""

from __future__ import annotations

import re

from sqlalchemy import select

from advocacy.extensions import db
from advocacy.people.models import ApiToken


def create_token(browser, name: str, role: str) -> str:
    page = browser.post("/settings/tokens", {"name": name, "role": role})
    assert page.status_code == 200, page.get_data(as_text=True)[-500:]
    return re.search(r'<code id="new-token">([^<]+)</code>', page.get_data(as_text=True)).group(1)


def bearer(client, method: str, path: str, token: str, json=None):
    return client.open(path, method=method, json=json, headers={"Authorization": f"Bearer {token}"})


def test_a_token_works_without_cookie_or_csrf_and_only_its_hash_is_stored(app, client, browser_factory, make_user):
    make_user("chris@acme.test", "comms")
    chris = browser_factory("chris@acme.test")
    secret = create_token(chris, "publishing script", "comms")
    created = bearer(client, "POST", "/api/talking-points", secret,
                     {"title": "Launch", "link": "https://acme.test/launch", "text": "We launched!"})
    assert created.status_code == 201, created.get_json()
    stored = db.session.scalars(select(ApiToken)).one()
    assert stored.token_hash != secret and secret not in stored.token_hash and stored.last_used_at is not None
    assert '<td class="last-used">never</td>' not in chris.get("/settings/tokens").get_data(as_text=True)


def test_a_narrower_token_cannot_do_what_its_owner_can(app, client, browser_factory, make_user):
    make_user("ada@acme.test", "admin")
    ada = browser_factory("ada@acme.test")
    reader = create_token(ada, "dashboard", "analyst")
    assert bearer(client, "GET", "/api/reach/talking-points", reader).status_code == 200
    assert bearer(client, "GET", "/api/talking-points", reader).status_code == 403
    body = {"title": "x", "link": "https://a.test", "text": "y"}
    refused = bearer(client, "POST", "/api/talking-points", reader, body)
    assert refused.status_code == 403


def test_nobody_grants_a_token_more_than_their_role(app, browser_factory, make_user):
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    answer = emma.post("/settings/tokens", {"name": "sneaky", "role": "admin"})
    assert answer.status_code == 422 and "Role must be one of employee" in answer.get_data(as_text=True)
    assert emma.post("/settings/tokens", {"name": "", "role": "employee"}).status_code == 422
    assert db.session.scalars(select(ApiToken)).all() == []


def test_a_revoked_or_unknown_token_gets_401(app, client, browser_factory, make_user):
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    secret = create_token(emma, "phone shortcut", "employee")
    assert bearer(client, "GET", "/api/shares", secret).status_code == 200
    token = db.session.scalars(select(ApiToken)).one()
    assert emma.post(f"/settings/tokens/{token.id}/revoke").status_code == 302
    assert bearer(client, "GET", "/api/shares", secret).status_code == 401
    assert bearer(client, "GET", "/api/shares", "adv_not-a-real-token").status_code == 401


def test_tokens_open_the_api_only_not_the_pages(app, client, browser_factory, make_user):
    make_user("emma@acme.test")
    secret = create_token(browser_factory("emma@acme.test"), "script", "employee")
    page = client.get("/feed", headers={"Authorization": f"Bearer {secret}"})
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_cookie_sessions_still_need_the_csrf_token(app, browser_factory, make_user):
    make_user("chris@acme.test", "comms")
    chris = browser_factory("chris@acme.test")
    body = {"title": "Launch", "link": "https://acme.test/launch", "text": "We launched!"}
    no_token = chris.client.open("/api/talking-points", method="POST", json=body)
    assert no_token.status_code == 400
    form = chris.client.post("/studio/", data={"title": "Launch", "link": "https://acme.test", "text": "Hi"})
    assert form.status_code == 400 and "CSRF" in form.get_data(as_text=True)
    assert chris.api("GET", "/api/talking-points").get_json() == []
