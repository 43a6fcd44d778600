"""Open-redirect probes: the click tracker and the sign-in page only ever send people where we stored."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import PASSWORD

PROBES = ["https://evil.test", "//evil.test", "/\\evil.test", "https:evil.test", "javascript:alert(1)",
          "%2F%2Fevil.test", "/r/../../evil.test", "\\\\evil.test", "http://evil.test@advocacy.test", " //evil.test"]


@pytest.mark.parametrize("probe", PROBES)
def test_the_click_tracker_never_redirects_to_a_supplied_url(client, probe):
    for path in (f"/r/{probe}", f"/r/abc?url={probe}", f"/r/abc?next={probe}&to={probe}"):
        answer = client.get(path, headers={"User-Agent": "Mozilla/5.0"})
        assert answer.status_code in (404, 400), (path, answer.status_code)
        assert "evil.test" not in answer.headers.get("Location", "")


@pytest.mark.parametrize("probe", PROBES)
def test_sign_in_never_sends_people_off_site(browser, make_user, probe):
    make_user("emma@acme.test")
    browser.csrf()
    answer = browser.client.post("/login", query_string={"next": probe},
                                 data={"email": "emma@acme.test", "password": PASSWORD, "csrf_token": browser.token})
    assert answer.status_code == 302
    location = answer.headers["Location"]
    # what a browser would make of it, backslashes read as slashes the way some browsers do
    resolved = urlsplit(urljoin("http://advocacy.test/login", location.replace("\\", "/").replace("%5C", "/")))
    assert resolved.netloc == "advocacy.test", location


def test_a_known_code_redirects_only_to_its_talking_points_link(app, client, make_user, policy, browser_factory):
    from advocacy.delivery.models import Share
    from advocacy.extensions import db
    from tests.e2e.test_employee_journey import approved_talking_point

    tp = approved_talking_point(make_user)
    emma = make_user("emma@acme.test")
    share = Share(talking_point_id=tp.id, user_id=emma.id, network="x", text="t", code="abcd1234")
    db.session.add(share)
    db.session.commit()
    answer = client.get("/r/abcd1234?url=https://evil.test&utm_source=evil", headers={"User-Agent": "Mozilla/5.0"})
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("https://acme.test/jobs?") and "evil" not in answer.headers["Location"]
