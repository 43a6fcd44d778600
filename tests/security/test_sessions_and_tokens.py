"""Who is signed in holds afterwards: a token is never worth more than its owner now, signing out ends the session
cookie even replayed, and CSRF is skipped only for a request a valid bearer token authenticated."""

from __future__ import annotations

from sqlalchemy import select

from advocacy.extensions import db
from advocacy.people.models import User
from tests.security.test_api_tokens import bearer, create_token

TP = {"title": "Launch", "link": "https://acme.test/launch", "text": "We launched!"}
RULE = {"action": "block", "params": {"terms": ["moon"]}}


def _person(email: str) -> User:
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.email == email)).one()


def _change(admin, email: str, role: str, active: bool = True):
    person = _person(email)
    form = {"role": role, "team_id": ""} | ({"active": "1"} if active else {})
    answer = admin.post(f"/admin/people/{person.id}", form)
    assert answer.status_code == 302, answer.get_data(as_text=True)[-500:]


# ------------------------------------------------------------------------------------------------ token ≤ owner
def test_a_demoted_admins_admin_token_acts_as_employee_at_the_next_request(app, client, browser_factory, make_user):
    make_user("root@acme.test", "admin")
    make_user("ada@acme.test", "admin")
    root, ada = browser_factory("root@acme.test"), browser_factory("ada@acme.test")
    secret = create_token(ada, "automation", "admin")
    assert bearer(client, "PUT", "/api/screening/rules/banned_terms", secret, RULE).status_code == 200
    assert bearer(client, "POST", "/api/talking-points", secret, TP).status_code == 201

    _change(root, "ada@acme.test", "employee")
    assert bearer(client, "PUT", "/api/screening/rules/banned_terms", secret, RULE).status_code == 403
    assert bearer(client, "POST", "/api/talking-points", secret, TP).status_code == 403
    assert bearer(client, "GET", "/api/shares", secret).status_code == 200  # still worth what an employee is

    _change(root, "ada@acme.test", "comms")  # promoted back part way: the token acts as comms, not admin
    assert bearer(client, "POST", "/api/talking-points", secret, TP).status_code == 201
    assert bearer(client, "PUT", "/api/screening/rules/banned_terms", secret, RULE).status_code == 403


def test_a_deactivated_persons_tokens_are_refused(app, client, browser_factory, make_user):
    make_user("root@acme.test", "admin")
    make_user("ada@acme.test", "admin")
    root, ada = browser_factory("root@acme.test"), browser_factory("ada@acme.test")
    secret = create_token(ada, "automation", "admin")
    assert bearer(client, "GET", "/api/screening/rules", secret).status_code == 200
    _change(root, "ada@acme.test", "admin", active=False)
    assert bearer(client, "GET", "/api/screening/rules", secret).status_code == 401
    assert bearer(client, "PUT", "/api/screening/rules/banned_terms", secret, RULE).status_code == 401


def test_a_token_whose_role_the_owner_no_longer_covers_is_refused(app, client, browser_factory, make_user):
    make_user("root@acme.test", "admin")
    make_user("ada@acme.test", "admin")
    root, ada = browser_factory("root@acme.test"), browser_factory("ada@acme.test")
    reader = create_token(ada, "dashboard", "analyst")
    assert bearer(client, "GET", "/api/reach/talking-points", reader).status_code == 200
    _change(root, "ada@acme.test", "employee")  # an employee may not read reach reports: analyst ∧ employee = none
    assert bearer(client, "GET", "/api/reach/talking-points", reader).status_code == 401


# ------------------------------------------------------------------------------------------------ signing out
def test_a_session_cookie_replayed_after_sign_out_is_refused(app, browser_factory, make_user):
    make_user("chris@acme.test", "comms")
    chris = browser_factory("chris@acme.test")
    assert chris.get("/studio/").status_code == 200
    stolen = chris.client.get_cookie("session").value  # what an attacker copied while chris was signed in
    assert chris.post("/logout").status_code == 302
    assert chris.get("/studio/").status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", stolen)
    replayed = thief.get("/studio/")
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]
    assert thief.get("/api/talking-points").status_code == 401
    assert chris.login("chris@acme.test").status_code == 302  # signing in again works
    assert chris.get("/studio/").status_code == 200


def test_sign_out_everywhere_ends_every_browser_of_the_person(app, browser_factory, make_user):
    make_user("emma@acme.test")
    laptop, phone = browser_factory("emma@acme.test"), browser_factory("emma@acme.test")
    assert laptop.get("/feed").status_code == 200 and phone.get("/feed").status_code == 200
    page = laptop.get("/settings/tokens").get_data(as_text=True)
    assert 'action="/settings/sessions/end"' in page
    assert laptop.client.post("/settings/sessions/end").status_code == 400  # no CSRF token: refused
    assert phone.get("/feed").status_code == 200
    assert laptop.post("/settings/sessions/end").status_code == 302
    assert phone.get("/feed").status_code == 302 and laptop.get("/feed").status_code == 302


def test_an_admin_signs_a_person_out_everywhere(app, browser_factory, make_user):
    make_user("root@acme.test", "admin")
    make_user("emma@acme.test")
    root, emma = browser_factory("root@acme.test"), browser_factory("emma@acme.test")
    emma_id = _person("emma@acme.test").id
    assert f'action="/admin/people/{emma_id}/sign-out"' in root.get("/admin/people").get_data(as_text=True)
    assert emma.post(f"/admin/people/{emma_id}/sign-out").status_code == 403  # admins only
    assert emma.get("/feed").status_code == 200
    assert root.post(f"/admin/people/{emma_id}/sign-out").status_code == 302
    assert emma.get("/feed").status_code == 302
    assert root.get("/admin/people").status_code == 200  # the admin stays signed in
    assert "user_signed_out_everywhere" in root.get("/admin/audit/").get_data(as_text=True)


# ------------------------------------------------------------------------------------------------------- CSRF
def test_a_bogus_bearer_header_does_not_skip_csrf_for_a_cookie_session(app, browser_factory, make_user):
    make_user("chris@acme.test", "comms")
    make_user("ada@acme.test", "admin")
    chris, ada = browser_factory("chris@acme.test"), browser_factory("ada@acme.test")
    bogus = {"Authorization": "Bearer x"}
    api = chris.client.open("/api/talking-points", method="POST", json=TP, headers=bogus)
    assert api.status_code == 401, api.get_data(as_text=True)[:300]
    assert chris.client.open("/api/talking-points", method="POST", json=TP,
                             headers={"Authorization": "Bearer adv_forged"}).status_code == 401
    rule = ada.client.open("/api/screening/rules/banned_terms", method="PUT", json=RULE, headers=bogus)
    assert rule.status_code == 401
    form = chris.client.post("/studio/", data={"title": "Launch", "link": "https://acme.test", "text": "Hi"},
                             headers=bogus)
    assert form.status_code == 400 and "CSRF" in form.get_data(as_text=True)
    assert chris.get("/api/talking-points").get_json() == []  # nothing was created
    rules = {r["key"]: r for r in ada.get("/api/screening/rules").get_json()}
    assert rules["banned_terms"]["params"].get("terms") != ["moon"]


def test_a_valid_token_beside_a_cookie_acts_with_the_tokens_role(app, browser_factory, make_user):
    make_user("ada@acme.test", "admin")
    ada = browser_factory("ada@acme.test")
    reader = create_token(ada, "dashboard", "analyst")
    # the token authenticates the request, not the admin's cookie sent along with it
    answer = ada.client.open("/api/talking-points", method="POST", json=TP,
                             headers={"Authorization": f"Bearer {reader}"})
    assert answer.status_code == 403
