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
