"""A person who leaves, whichever way they are deactivated (Entra's PATCH, Okta's PATCH or PUT, a SCIM DELETE, or the
admin's people page): their scheduled and queued shares are cancelled, their tokens revoked at the sandbox networks and
deleted, they leave named-person targeting and the leaderboard, and their past post stays in the archive."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from advocacy.accounts.models import AccountStatus, ConnectedAccount
from advocacy.accounts.services import account_for, token_of
from advocacy.content.models import Target
from advocacy.delivery import services as delivery
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.models_base import utcnow
from advocacy.people import services as people
from advocacy.people.models import User
from advocacy.reach.services import leaderboard_opted_out
from tests.conftest import PASSWORD, run_jobs
from tests.delivery.support import Sandbox, approved, employee
from tests.people.test_disconnect import (
    connect_linkedin,
    connect_mastodon,
    linkedin_status,
    mastodon_status,
    x_status,
)
from tests.people.test_scim_provisioning import CORE, PATCH, Idp

EMMA = {"schemas": [CORE], "userName": "emma@acme.test", "externalId": "00u-emma", "active": True,
        "name": {"givenName": "Emma", "familyName": "Stone"}, "emails": [{"primary": True, "value": "emma@acme.test"}]}


def deactivate(way: str, idp: Idp, uid: str, browser: Any, make_user: Any) -> None:
    if way == "entra_patch":
        answer = idp.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"}]})
        assert answer.status_code == 200 and answer.get_json()["active"] is False
    elif way == "okta_patch":  # what Okta sends when the person is unassigned from the app
        answer = idp.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "value": {"active": False}}]})
        assert answer.status_code == 200 and answer.get_json()["active"] is False
    elif way == "okta_put":
        answer = idp.call("PUT", f"/Users/{uid}", EMMA | {"active": False})
        assert answer.status_code == 200 and answer.get_json()["active"] is False
    elif way == "scim_delete":
        assert idp.call("DELETE", f"/Users/{uid}").status_code == 204
        assert idp.call("GET", f"/Users/{uid}").status_code == 404
    else:
        make_user("admin@acme.test", "admin")
        browser.login("admin@acme.test")
        answer = browser.post(f"/admin/people/{uid}", {"role": "employee", "team_id": ""})  # "active" unticked
        assert answer.status_code == 302


@pytest.mark.parametrize("way", ["entra_patch", "okta_patch", "okta_put", "scim_delete", "admin_page"])
def test_deactivation_cancels_revokes_and_keeps_the_past(app: Any, sandbox: dict[str, str], policy: Any,
                                                         client: Any, browser: Any, make_user: Any,
                                                         way: str) -> None:
    emma = employee("emma@acme.test", handle="emma")
    emma_id = emma.id
    mastodon, linkedin = connect_mastodon(emma, sandbox["mastodon"], "emma"), connect_linkedin(emma, "emma_acme")
    tokens = {"x": token_of(account_for(emma, "x")), "mastodon": token_of(mastodon), "linkedin": token_of(linkedin)}
    past = delivery.create_share(emma, approved("Launch day"), "x")
    run_jobs(app)
    assert db.session.get(Share, past.id).status == "published"
    posts_before = len(Sandbox(sandbox["x"]).posts())
    emma = db.session.get(User, emma_id)  # the worker ran in this thread: load afresh

    named = approved("For Emma only")
    named.target_everyone = False
    db.session.add(Target(talking_point_id=named.id, user_id=emma.id))
    db.session.commit()
    scheduled = delivery.create_share(emma, named, "x", at=utcnow() + dt.timedelta(hours=2))
    queued = delivery.create_share(emma, approved("Queued"), "mastodon")  # its job waits in Redis

    idp = Idp(client, "Okta")
    answer = idp.call("POST", "/Users", EMMA)  # the identity provider takes over the person who exists already
    assert answer.status_code == 201
    uid = answer.get_json()["id"]
    assert uid == str(emma_id)

    deactivate(way, idp, uid, browser, make_user)
    db.session.expire_all()

    emma = db.session.get(User, emma_id)
    assert emma is not None and emma.active is False  # the row stays: the past stays attributed
    for share_id in (scheduled.id, queued.id):
        share = db.session.get(Share, share_id)
        assert share.status == "cancelled" and share.last_error == "your account was deactivated"
    run_jobs(app)  # the queued job runs and posts nothing
    assert len(Sandbox(sandbox["x"]).posts()) == posts_before
    assert db.session.get(Share, past.id).status == "published"  # the archive and the reports keep it

    assert x_status(sandbox, tokens["x"]) == (401, 400)  # revoked at X: the access and the refresh token
    assert mastodon_status(sandbox["mastodon"], tokens["mastodon"]) == 401
    assert linkedin_status(sandbox["linkedin"], tokens["linkedin"]) == 401
    for account in db.session.scalars(select(ConnectedAccount).where(ConnectedAccount.user_id == emma_id)):
        assert account.status == AccountStatus.DISCONNECTED and account.access_token_encrypted is None
        assert account.refresh_token_encrypted is None

    assert db.session.scalars(select(Target).where(Target.user_id == emma_id)).all() == []
    assert leaderboard_opted_out(db.session.get(User, emma_id))
    assert people.authenticate("emma@acme.test", PASSWORD) is None


def test_a_person_deleted_over_scim_comes_back_when_provisioned_again(app: Any, client: Any) -> None:
    idp = Idp(client, "Okta")
    uid = idp.call("POST", "/Users", EMMA).get_json()["id"]
    assert idp.call("DELETE", f"/Users/{uid}").status_code == 204
    assert idp.call("GET", "/Users", query={"filter": 'userName eq "emma@acme.test"'}).get_json()["totalResults"] == 0
    again = idp.call("POST", "/Users", EMMA)
    assert again.status_code == 201 and again.get_json()["id"] == uid and again.get_json()["active"] is True
