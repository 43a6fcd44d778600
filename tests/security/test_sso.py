"""Single sign-on with OpenID Connect against the local identity-provider emulator."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.people.models import User


@pytest.fixture()
def settings(settings, sandbox):
    requests.post(f"{sandbox['oidc']}/_sandbox/reset", timeout=5).raise_for_status()
    return settings | {"OIDC_ISSUER": sandbox["oidc"], "OIDC_CLIENT_ID": "advocacy-tests",
                       "OIDC_CLIENT_SECRET": "s3cret", "OIDC_ROLE_MAP": "advocacy-comms=comms,marketing=analyst"}


def sso_login(client, username: str, groups: str = "", department: str = "", state: str | None = None):
    start = client.get("/login/sso")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = urlsplit(consent_with(authorize, username, groups, department))
    back_query = back.query if state is None else back.query.replace(query["state"][0], state)
    return client.get(f"{back.path}?{back_query}")


def consent_with(authorize: str, username: str, groups: str, department: str) -> str:
    page = requests.get(authorize, timeout=5)
    assert page.status_code == 200 and "Sign in to continue" in page.text
    import re

    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    import html

    fields = {k: html.unescape(v) for k, v in fields.items()}
    fields.update(username=username, groups=groups, department=department)
    answer = requests.post(authorize.split("?")[0], data=fields, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def test_first_sso_sign_in_creates_the_person_with_role_and_team_from_claims(app, client):
    login = client.get("/login").get_data(as_text=True)
    assert "Single sign-on" in login
    done = sso_login(client, "carla", groups="staff,advocacy-comms", department="Communications")
    assert done.status_code == 302 and done.headers["Location"].endswith("/")
    assert client.get("/studio/").status_code == 200  # comms, from the group mapping
    user = db.session.scalars(select(User).where(User.email == "carla@example.com")).one()
    assert user.role == "comms" and user.team.name == "Communications" and user.sso_subject


def test_the_next_sign_in_finds_the_same_person(app, client, browser_factory):
    sso_login(client, "dev", department="Engineering")
    client.post("/logout", data={"csrf_token": ""})
    other = app.test_client()
    from tests.conftest import _Isolated

    sso_login(_Isolated(other), "dev", department="Engineering")
    people = db.session.scalars(select(User).where(User.email == "dev@example.com")).all()
    assert len(people) == 1 and people[0].role == "employee"  # the default role


def test_an_existing_local_account_with_the_verified_email_is_linked(app, client, make_user):
    local = make_user("mia@example.com", "analyst")
    sso_login(client, "mia")
    db.session.refresh(local)
    assert local.sso_subject and db.session.scalars(select(User)).all() == [local]
    assert client.get("/reach").status_code == 200


def test_a_forged_state_is_refused(app, client):
    answer = sso_login(client, "mallory", state="forged-state")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    assert "Single sign-on failed" in client.get("/login").get_data(as_text=True)
    assert db.session.scalars(select(User)).all() == []


def test_without_an_issuer_there_is_no_sso(app, client, sandbox):
    app.config["OIDC_ISSUER"] = ""
    assert client.get("/login/sso").status_code == 404
    assert "Single sign-on" not in client.get("/login").get_data(as_text=True)
