"""Each role starts on its own page: after signing in and at "/" (employees the feed, comms the studio, admins
admin, analysts Reach), and the menu lists that role's pages."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

HOMES = {"employee": "/feed", "comms": "/studio/", "admin": "/admin", "analyst": "/reach"}


@pytest.mark.parametrize("role", sorted(HOMES))
def test_sign_in_and_the_root_lead_to_the_roles_home(browser, make_user, role):
    make_user(f"{role}@acme.test", role)
    response = browser.login(f"{role}@acme.test")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/")  # the root decides
    response = browser.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(HOMES[role])


def test_a_safe_next_still_wins_over_the_home(browser, make_user):
    make_user("ada@acme.test", "admin")
    response = browser.client.post("/login?next=/reach", data={"email": "ada@acme.test", "password": PASSWORD,
                                                               "csrf_token": browser.csrf()})
    assert response.headers["Location"].endswith("/reach")


@pytest.mark.parametrize(("role", "has", "lacks"), [
    ("employee", ["Feed", "My impact"], ["Studio", "Reach", "Admin", "Webhooks"]),
    ("analyst", ["Reach", "Feed"], ["Studio", "Admin", "Audit"]),
    ("comms", ["Studio", "Reach", "Sources", "Audit"], ["Admin", "Webhooks", "Publish policy"]),
    ("admin", ["Admin", "Studio", "Webhooks", "Publish policy"], []),
])
def test_each_role_sees_its_own_links(browser, make_user, role, has, lacks):
    make_user(f"{role}@acme.test", role)
    browser.login(f"{role}@acme.test")
    page = browser.get("/", follow_redirects=True).get_data(as_text=True)
    nav = page[page.index('<nav aria-label="Main">'):page.index("</nav>")]
    for label in has:
        assert f">{label}</a>" in nav, label
    for label in lacks:
        assert f">{label}</a>" not in nav, label
    assert 'aria-controls="site-menu"' in page and 'id="site-menu"' in page
