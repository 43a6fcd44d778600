"""SCIM provisioning as Okta and Microsoft Entra do it: 1,000 people and 20 groups, both PATCH dialects and Okta's
PUT, the filters and paging they send, and the errors that change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.people import scim
from advocacy.people.models import Team, TeamMembership, User

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class Idp:
    """An identity provider calling /scim/v2 with its token, as application/scim+json."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        _, self.secret = scim.create_token(None, name)

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None,
             content_type: str = "application/scim+json") -> Any:
        import json

        return self.client.open(f"/scim/v2{path}", method=method, query_string=query,
                                data=None if body is None else json.dumps(body),
                                headers={"Authorization": f"Bearer {self.secret}", "Content-Type": content_type})


def okta_user(n: int, active: bool = True) -> dict[str, Any]:
    """What Okta sends to create a person (its SCIM 2.0 template)."""
    return {"schemas": [CORE], "userName": f"okta{n}@acme.test",
            "name": {"givenName": f"Okta{n}", "familyName": "Person"},
            "emails": [{"primary": True, "value": f"okta{n}@acme.test", "type": "work"}],
            "displayName": f"Okta{n} Person", "locale": "en-US", "externalId": f"00u{n:06d}", "groups": [],
            "password": "not stored", "active": active}


def entra_user(n: int) -> dict[str, Any]:
    """What Microsoft Entra sends to create a person (its default attribute mappings)."""
    return {"schemas": [CORE, ENTERPRISE], "externalId": f"entra{n}", "userName": f"entra{n}@acme.onmicrosoft.com",
            "active": True, "displayName": f"Entra {n}",
            "emails": [{"primary": True, "type": "work", "value": f"entra{n}@acme.test"}],
            "meta": {"resourceType": "User"}, "name": {"formatted": f"Entra {n}", "familyName": "Entra",
                                                       "givenName": str(n)},
            "title": "Engineer", "preferredLanguage": "en-GB", "addresses": [{"type": "work", "country": "GB"}],
            ENTERPRISE: {"department": "Sales", "employeeNumber": str(n)}}


@pytest.fixture()
def okta(app: Any, client: Any) -> Idp:
    return Idp(client, "Okta")


@pytest.fixture()
def entra(app: Any, client: Any) -> Idp:
    return Idp(client, "Microsoft Entra")


def test_a_thousand_people_and_twenty_groups_in_both_dialects(app: Any, okta: Idp, entra: Idp) -> None:
    ids: dict[str, list[str]] = {"okta": [], "entra": []}
    for n in range(500):
        answer = okta.call("POST", "/Users", okta_user(n))
        assert answer.status_code == 201, answer.get_json()
        ids["okta"].append(answer.get_json()["id"])
        answer = entra.call("POST", "/Users", entra_user(n), content_type="application/json")
        assert answer.status_code == 201, answer.get_json()
        ids["entra"].append(answer.get_json()["id"])
    assert answer.headers["Content-Type"].startswith("application/scim+json")
    assert answer.headers["Location"].endswith(f"/scim/v2/Users/{ids['entra'][-1]}")

    groups: dict[str, list[str]] = {"okta": [], "entra": []}
    for g in range(10):
        # Okta: create the group empty, then push its members with a standard PATCH add
        answer = okta.call("POST", "/Groups", {"schemas": [GROUP], "displayName": f"Okta team {g}", "members": []})
        assert answer.status_code == 201
        gid = answer.get_json()["id"]
        groups["okta"].append(gid)
        members = [{"value": i} for i in ids["okta"][g * 50:(g + 1) * 50]]
        answer = okta.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": members}]})
        assert answer.status_code == 200, answer.get_json()
        # Entra: Filter first, then create, then "Add" members in batches, capitalised
        found = entra.call("GET", "/Groups", query={"filter": f'displayName eq "Entra team {g}"',
                                                     "excludedAttributes": "members"})
        assert found.get_json()["totalResults"] == 0
        answer = entra.call("POST", "/Groups", {"schemas": [GROUP], "externalId": f"grp{g}",
                                                "displayName": f"Entra team {g}", "members": []})
        gid = answer.get_json()["id"]
        groups["entra"].append(gid)
        for batch in range(0, 50, 25):
            members = [{"value": i} for i in ids["entra"][g * 50 + batch:g * 50 + batch + 25]]
            answer = entra.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
                {"op": "Add", "path": "members", "value": members}]})
            assert answer.status_code == 200, answer.get_json()

    assert db.session.scalar(select(func.count()).select_from(User)) == 1000
    assert db.session.scalar(select(func.count()).select_from(Team).where(Team.scim_managed.is_(True))) == 20
    assert db.session.scalar(select(func.count()).select_from(TeamMembership)) == 1000
    person = db.session.scalar(select(User).where(User.email == "entra7@acme.test"))
    assert person.name == "Entra 7" and person.external_id == "entra7" and person.active
    assert person.scim_user_name == "entra7@acme.onmicrosoft.com" and person.team.name == "Entra team 0"
    assert "Engineer" not in (person.scim_attributes or "") and "Sales" not in (person.scim_attributes or "")

    # what both send to find a person, and to page through everyone
    found = okta.call("GET", "/Users", query={"filter": 'userName eq "OKTA42@acme.test"', "startIndex": 1,
                                              "count": 100}).get_json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == ids["okta"][42]
    found = entra.call("GET", "/Users", query={"filter": 'externalId eq "entra9"'}).get_json()
    assert [r["userName"] for r in found["Resources"]] == ["entra9@acme.onmicrosoft.com"]
    page = okta.call("GET", "/Users", query={"startIndex": 101, "count": 50}).get_json()
    assert page["totalResults"] == 1000 and page["startIndex"] == 101 and page["itemsPerPage"] == 50
    seen = set()
    for start in range(1, 1001, 200):
        seen |= {r["id"] for r in okta.call("GET", "/Users", query={"startIndex": start, "count": 200})
                 .get_json()["Resources"]}
    assert len(seen) == 1000
    group = entra.call("GET", "/Groups", query={"filter": 'externalId eq "grp3"'}).get_json()["Resources"][0]
    assert group["displayName"] == "Entra team 3" and len(group["members"]) == 50


def test_entra_patch_dialect(app: Any, entra: Idp) -> None:
    uid = entra.call("POST", "/Users", entra_user(1)).get_json()["id"]
    other = entra.call("POST", "/Users", entra_user(2)).get_json()["id"]
    answer = entra.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Ana Entra"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ana@acme.test"},
        {"op": "Add", "path": "name.givenName", "value": "Ana"},
        {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
         "value": "Marketing"}]})
    assert answer.status_code == 200, answer.get_json()
    person = db.session.get(User, int(uid))
    assert (person.name, person.email) == ("Ana Entra", "ana@acme.test")

    gid = entra.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Sales", "members": [
        {"value": uid}, {"value": other}]}).get_json()["id"]
    answer = entra.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
        {"op": "Remove", "path": "members", "value": [{"value": uid}]}]})
    assert answer.status_code == 200, answer.get_json()
    assert [m["value"] for m in answer.get_json()["members"]] == [other]
    db.session.expire_all()
    assert db.session.get(User, int(uid)).team is None and db.session.get(User, int(other)).team.name == "Sales"

    answer = entra.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]})
    assert answer.status_code == 200 and answer.get_json()["active"] is False
    db.session.expire_all()
    assert db.session.get(User, int(uid)).active is False
    answer = entra.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "value": {"active": "True"}}]})
    assert answer.get_json()["active"] is True


def test_standard_patch_and_okta_put(app: Any, okta: Idp) -> None:
    uid = okta.call("POST", "/Users", okta_user(1)).get_json()["id"]
    other = okta.call("POST", "/Users", okta_user(2)).get_json()["id"]
    gid = okta.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Engineering"}).get_json()["id"]
    okta.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": uid}, {"value": other}]}]})
    answer = okta.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f'members[value eq "{other}"]'},
        {"op": "replace", "path": "displayName", "value": "Platform"}]})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["displayName"] == "Platform"
    assert [m["value"] for m in answer.get_json()["members"]] == [uid]

    # a second group: the most recent group becomes the person's team; leaving it falls back to the first
    second = okta.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Berlin",
                                           "members": [{"value": uid}]}).get_json()["id"]
    assert db.session.get(User, int(uid)).team.name == "Berlin"
    okta.call("PATCH", f"/Groups/{second}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f'members[value eq "{uid}"]'}]})
    db.session.expire_all()
    assert db.session.get(User, int(uid)).team.name == "Platform"

    body = okta_user(1) | {"id": uid, "displayName": "Okta One", "name": {"givenName": "Okta", "familyName": "One"}}
    answer = okta.call("PUT", f"/Users/{uid}", body)
    assert answer.status_code == 200 and answer.get_json()["displayName"] == "Okta One"
    answer = okta.call("PUT", f"/Users/{uid}", body | {"active": False})
    assert answer.get_json()["active"] is False
    db.session.expire_all()
    assert db.session.get(User, int(uid)).active is False


def test_the_same_person_as_single_sign_on(app: Any, okta: Idp, make_user: Any) -> None:
    existing = make_user("okta5@acme.test", "comms")
    answer = okta.call("POST", "/Users", okta_user(5))
    assert answer.status_code == 201 and answer.get_json()["id"] == str(existing.id)
    db.session.expire_all()
    person = db.session.get(User, existing.id)
    assert person.role == "comms" and person.external_id == "00u000005"
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def scim_error(answer: Any, status: int, scim_type: str | None) -> dict[str, Any]:
    body = answer.get_json()
    assert answer.status_code == status, body
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body.get("scimType") == scim_type
    assert body["detail"]
    return dict(body)


def test_errors_change_nothing(app: Any, okta: Idp, entra: Idp) -> None:
    uid = okta.call("POST", "/Users", okta_user(1)).get_json()["id"]
    gid = okta.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Eng",
                                        "members": [{"value": uid}]}).get_json()["id"]
    before = okta.call("GET", f"/Users/{uid}").get_json(), okta.call("GET", f"/Groups/{gid}").get_json()

    scim_error(okta.call("POST", "/Users", okta_user(1) | {"externalId": "other"}), 409, "uniqueness")
    scim_error(okta.call("POST", "/Users", okta_user(2) | {"userName": "OKTA1@acme.test"}), 409, "uniqueness")
    scim_error(okta.call("GET", "/Users", query={"filter": 'userName eq'}), 400, "invalidFilter")
    scim_error(okta.call("GET", "/Users", query={"filter": 'userName xx "a"'}), 400, "invalidFilter")
    scim_error(okta.call("GET", "/Users", query={"filter": 'nickName eq "a"'}), 400, "invalidFilter")
    not_json = okta.client.open("/scim/v2/Users", method="POST", data="{not json", headers={
        "Authorization": f"Bearer {okta.secret}", "Content-Type": "application/scim+json"})
    scim_error(not_json, 400, "invalidSyntax")
    scim_error(okta.call("POST", "/Users", {"schemas": [CORE], "userName": "x@acme.test", "active": "maybe",
                                            "emails": [{"value": "x@acme.test"}]}), 400, "invalidValue")
    scim_error(okta.call("POST", "/Users", {"schemas": [CORE], "userName": "no-address"}), 400, "invalidValue")
    scim_error(okta.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
        {"op": "jump", "path": "active", "value": False}]}), 400, "invalidValue")
    scim_error(okta.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "id", "value": "7"}]}), 400, "mutability")
    scim_error(okta.call("PATCH", f"/Users/{uid}", {"schemas": [PATCH], "Operations": [
        {"op": "remove"}]}), 400, "noTarget")
    # an unknown member refuses the whole PATCH: the valid removal beside it does not happen either
    scim_error(entra.call("PATCH", f"/Groups/{gid}", {"schemas": [PATCH], "Operations": [
        {"op": "Remove", "path": "members", "value": [{"value": uid}]},
        {"op": "Add", "path": "members", "value": [{"value": "999999"}]}]}), 400, "invalidValue")
    scim_error(okta.call("POST", "/Groups", {"schemas": [GROUP], "displayName": "Ghosts",
                                             "members": [{"value": "424242"}]}), 400, "invalidValue")
    scim_error(okta.call("GET", "/Users/424242"), 404, None)
    scim_error(okta.call("GET", "/Users", query={"startIndex": "one"}), 400, "invalidValue")

    assert (okta.call("GET", f"/Users/{uid}").get_json(), okta.call("GET", f"/Groups/{gid}").get_json()) == before
    assert db.session.scalar(select(func.count()).select_from(User)) == 1
    assert db.session.scalar(select(func.count()).select_from(Team)) == 1


def test_without_a_valid_token_nothing_is_answered(app: Any, client: Any, okta: Idp, make_user: Any) -> None:
    assert client.get("/scim/v2/Users").status_code == 401
    assert client.get("/scim/v2/Users", headers={"Authorization": "Bearer scim_forged"}).status_code == 401
    from advocacy.people import tokens

    admin = make_user("admin@acme.test", "admin")
    _, api_secret = tokens.create(admin, "api", "admin")  # a person's API token is not an identity provider's
    answer = client.post("/scim/v2/Users", json=okta_user(1), headers={"Authorization": f"Bearer {api_secret}"})
    assert answer.status_code == 401 and answer.get_json()["status"] == "401"
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_hostile_bodies_get_scim_errors(app: Any, okta: Idp) -> None:
    headers = {"Authorization": f"Bearer {okta.secret}", "Content-Type": "application/scim+json"}
    deep = okta.client.open("/scim/v2/Users", method="POST", data="[" * 200 + "]" * 200, headers=headers)
    assert "nested deeper" in scim_error(deep, 400, "invalidValue")["detail"]
    nul = okta.call("POST", "/Users", okta_user(1) | {"displayName": "Eve\u0000"})
    scim_error(nul, 400, "invalidValue")
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_two_creations_of_one_user_name_at_once_give_409(app: Any, okta: Idp, monkeypatch: Any) -> None:
    assert okta.call("POST", "/Users", okta_user(1)).status_code == 201
    monkeypatch.setattr(scim, "_clash", lambda *_: None)  # the second request checked before the first committed
    answer = okta.call("POST", "/Users", okta_user(2) | {"userName": "okta1@acme.test"})
    scim_error(answer, 409, "uniqueness")
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_single_sign_on_and_scim_meet_in_one_person(app: Any, okta: Idp) -> None:
    from advocacy.people.sso import user_for

    uid = okta.call("POST", "/Users", okta_user(1)).get_json()["id"]  # provisioned first, signs in later
    signed_in = user_for({"sub": "okta-sub-1", "email": "OKTA1@acme.test", "email_verified": True})
    assert signed_in.id == int(uid) and signed_in.sso_subject == "okta-sub-1"

    first = user_for({"sub": "okta-sub-2", "email": "okta2@acme.test", "email_verified": True, "name": "Two"})
    answer = okta.call("POST", "/Users", okta_user(2))  # signed in first, provisioned later
    assert answer.status_code == 201 and answer.get_json()["id"] == str(first.id)
    assert db.session.scalar(select(func.count()).select_from(User)) == 2
