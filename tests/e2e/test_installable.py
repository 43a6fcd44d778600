"""The installable web app in Chromium at 375 px: the page links its manifest (name, standalone, icons that load),
the service worker registers for the whole site, and with the network gone a page load shows the offline page."""

from __future__ import annotations

import requests

from tests.e2e.conftest import PHONE
from tests.e2e.test_employee_journey import sign_in


def test_the_manifest_and_service_worker_register_and_the_offline_page_shows(live, open_page, make_user):
    make_user("emma@acme.test", "employee")
    browser = open_page(PHONE)
    page = browser.page
    sign_in(page, live, "emma@acme.test")
    page.wait_for_url(f"{live}/feed")

    href = page.locator('link[rel="manifest"]').get_attribute("href")
    manifest = requests.get(f"{live}{href}", timeout=10)
    assert manifest.headers["Content-Type"].startswith("application/manifest+json")
    body = manifest.json()
    assert body["name"] == "advocacy" and body["display"] == "standalone" and body["start_url"] == "/"
    assert body["theme_color"] == "#0a58ca"
    for icon in body["icons"]:
        image = requests.get(f"{live}{icon['src']}", timeout=10)
        assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert {i["sizes"] for i in body["icons"]} >= {"192x192", "512x512"}

    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == f"{live}/"
    page.wait_for_function("() => navigator.serviceWorker.controller !== null || (location.reload(), false)",
                           timeout=30_000)  # the worker controls the page once it is active (after a reload)
    page.wait_for_load_state("load")
    assert page.evaluate("() => navigator.serviceWorker.controller.scriptURL") == f"{live}/sw.js"

    page.context.set_offline(True)
    page.goto(f"{live}/feed")
    assert page.get_by_role("heading", name="You are offline").is_visible()
    browser.check_accessible("the offline page at 375 px")
    browser.shot("offline-phone")
    page.context.set_offline(False)


def test_the_teams_and_push_setup_read_well_on_a_phone_and_a_desktop(live, open_page, make_user, sandbox):
    from advocacy.people.models import Team
    from tests.e2e.conftest import DESKTOP

    db_team = Team(name="Platform")
    from advocacy.extensions import db

    db.session.add(db_team)
    db.session.commit()
    make_user("emma@acme.test", "employee")
    make_user("ada@acme.test", "admin")
    hook = requests.post(f"{sandbox['teams']}/_sandbox/webhooks", json={"name": "Emma"}, timeout=5).json()["webhook"]

    browser = open_page(PHONE)
    page = browser.page
    sign_in(page, live, "emma@acme.test")
    page.wait_for_url(f"{live}/feed")
    page.goto(f"{live}/preferences")
    assert page.get_by_role("button", name="Enable notifications").is_visible()  # js/push.js shows it
    page.get_by_label("Workflow URL").fill(hook["url"])
    page.get_by_role("button", name="Save Teams workflow").click()
    page.wait_for_url(f"{live}/preferences#teams")
    assert "Cards go to your workflow at" in page.locator("#teams-status").inner_text()
    browser.shots("preferences-teams-push")

    admin = open_page(DESKTOP)
    sign_in(admin.page, live, "ada@acme.test")
    admin.page.goto(f"{live}/admin/teams")
    admin.page.get_by_role("link", name="Microsoft Teams channels").click()
    admin.page.get_by_label("Workflow URL of Platform's channel").fill("http://10.0.0.5/hook")
    admin.expect_status(422)
    admin.page.get_by_role("button", name="Save").click()
    assert admin.page.get_by_role("alert").inner_text().startswith("Workflow URL could not reach")
    assert admin.page.get_by_label("Workflow URL of Platform's channel").input_value() == "http://10.0.0.5/hook"
    admin.shots("teams-channels")
