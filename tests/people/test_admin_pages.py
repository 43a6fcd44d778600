"""The admin pages for people, roles and teams: bad input is named on the field, and nothing is lost."""

from __future__ import annotations

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.people.models import Team, User


def test_admin_adds_people_changes_roles_and_teams(app, make_user, browser_factory):
    make_user("ada@acme.test", "admin", name="Ada Admin")
    admin = browser_factory("ada@acme.test")
    assert "People and roles" in admin.get("/admin").get_data(as_text=True)

    assert admin.post("/admin/teams", {"name": "Sales"}).status_code == 302
    dup = admin.post("/admin/teams", {"name": "sales"})
    assert dup.status_code == 422 and "Team name a team called Sales exists already" in dup.get_data(as_text=True)
    sales = db.session.scalar(select(Team).where(Team.name == "Sales"))

    bad = admin.post("/admin/people", {"email": "not-an-email", "name": "Bob", "role": "employee",
                                       "team_id": str(sales.id), "password": "long enough password"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "E-mail must be an e-mail address" in html and 'value="Bob"' in html
    assert "long enough password" not in html  # a password is never echoed
    assert db.session.scalar(select(func.count(User.id))) == 1
    short = admin.post("/admin/people", {"email": "bob@acme.test", "name": "Bob", "role": "employee",
                                         "password": "short"})
    assert short.status_code == 422 and "Password must be at least 12 characters" in short.get_data(as_text=True)

    added = admin.post("/admin/people", {"email": "bob@acme.test", "name": "Bob", "role": "employee",
                                         "team_id": str(sales.id), "password": "long enough password"})
    assert added.status_code == 302
    bob = db.session.scalar(select(User).where(User.email == "bob@acme.test"))
    assert bob.team_id == sales.id and bob.role == "employee"
    assert admin.post(f"/admin/people/{bob.id}", {"role": "comms", "team_id": "", "active": "1"}).status_code == 302
    db.session.refresh(bob)
    assert (bob.role, bob.team_id, bob.active) == ("comms", None, True)
    wrong = admin.post(f"/admin/people/{bob.id}", {"role": "overlord", "team_id": "", "active": "1"})
    assert wrong.status_code == 422 and "Role: must be one of" in wrong.get_data(as_text=True)
    db.session.refresh(bob)
    assert bob.role == "comms"

    me = db.session.scalar(select(User).where(User.email == "ada@acme.test"))
    locked = admin.post(f"/admin/people/{me.id}", {"role": "employee", "team_id": "", "active": "1"})
    assert locked.status_code == 422 and "cannot remove your own admin role" in locked.get_data(as_text=True)
    db.session.refresh(me)
    assert me.role == "admin"


def test_only_admins_reach_the_admin_pages(app, make_user, browser_factory):
    make_user("carl@acme.test", "comms")
    comms = browser_factory("carl@acme.test")
    for path in ("/admin", "/admin/people", "/admin/teams"):
        assert comms.get(path).status_code == 403
    assert comms.post("/admin/teams", {"name": "Mine"}).status_code == 403
    assert db.session.scalar(select(func.count(Team.id))) == 0
