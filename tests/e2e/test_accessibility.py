"""axe-core on every page of the three journeys (employee, comms, marketing), at 375 and 1280 px, in the light and
the dark colour scheme: no serious or critical violation. Folded parts (details, the phone menu) are opened first,
so the forms behind "Edit wording", "Schedule" and the share dialogs are checked too.

One browser, one app, a loop over pages; the failures of every page are reported together."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from advocacy.content import workflow
from advocacy.delivery.services import create_share
from advocacy.extensions import db
from tests.delivery.support import approved, employee
from tests.e2e.axe import axe_source, check_schemes
from tests.e2e.conftest import DESKTOP, PHONE, Page
from tests.e2e.test_employee_journey import link_card, sign_in
from tests.reach.conftest import Factory
from tests.reach.test_reports import world


def _walk(playwright_browser: Any, live: str, email: str, paths: list[str]) -> list[str]:
    # axe-core goes in as an inline script, which the app's Content-Security-Policy rightly refuses: this context
    # alone bypasses it (the other browser tests keep it)
    context = playwright_browser.new_context(viewport=PHONE, bypass_csp=True)
    browser = Page(context.new_page(), f"a11y-{email.split('@')[0]}")
    page = browser.page
    sign_in(page, live, email)
    page.wait_for_load_state("load")
    found = []
    for path in paths:
        page.goto(f"{live}{path}")
        page.wait_for_load_state("load")
        assert page.url.split("?")[0].rstrip("/") == f"{live}{path}".split("?")[0].rstrip("/"), (path, page.url)
        for name, viewport in (("375px", PHONE), ("1280px", DESKTOP)):
            page.set_viewport_size(viewport)
            found += check_schemes(page, f"{email} {path} at {name}")
        page.set_viewport_size(PHONE)
    context.close()
    assert browser.errors == [], f"the browser reported errors: {browser.errors}"
    return found


@pytest.mark.timeout(900)  # some thirty pages at two widths: minutes on a loaded machine
def test_no_serious_or_critical_axe_violation_on_any_journey_page(live, playwright_browser, make_user, policy, sandbox,
                                                                  client, app):
    axe_source()  # skips with the reason when axe-core is not installed
    # marketing: reach figures across two teams and networks
    people, tps, shares = world(Factory(make_user), make_user, client)
    make_user("mia@acme.test", "analyst", name="Mia Marketing")
    # employee: X connected, one talking point shared, one to share
    emma = employee("emma@acme.test", "emma_acme")
    hiring = approved("We are hiring platform engineers")
    office = approved("Our new office opens in Lyon", text="Forty engineers by summer.")
    link_card(office.id, "Acme Newsroom", "Acme opens its Lyon office", "A ten-minute walk from Part-Dieu.")
    mine = create_share(emma, hiring, "x")
    later = approved("Our Q3 results", text="Our Q3 in five charts.")
    create_share(emma, later, "x", at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1))  # the calendar counts it
    # comms: one talking point waiting for review
    carl = make_user("carl@acme.test", "comms", name="Carl Comms")
    make_user("rita@acme.test", "comms", name="Rita Reviewer")
    draft = workflow.create_talking_point(carl, title="Quarterly results are out", link="https://acme.test/q3",
                                          text="Our Q3 in five charts.", hashtags="#results")
    workflow.submit(draft, carl)
    db.session.commit()

    comms_pages = ["/studio/", f"/studio/{draft.id}", f"/studio/{draft.id}/edit", "/studio/suggest",
                   "/admin/operations"]
    if "content.calendar_page" in app.view_functions:  # the content calendar, where it has landed
        comms_pages.append("/studio/calendar")
    found = _walk(playwright_browser, live, "emma@acme.test", [
        "/feed", "/feed?show=shared", "/shares", f"/shares/{mine.id}", "/preferences", "/accounts/",
        "/accounts/connect/mastodon", "/policy", "/reach/me"])
    found += _walk(playwright_browser, live, "rita@acme.test", comms_pages)
    found += _walk(playwright_browser, live, "mia@acme.test", [
        "/reach", "/reach?group=team", "/reach?group=person&network=x", "/reach/leaderboard",
        f"/reach/shares/{shares[0].id}", "/reach/rate-cards"])
    assert found == [], "axe-core found serious or critical violations:\n" + "\n".join(found)
