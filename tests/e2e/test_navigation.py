"""Navigation in a real browser: each role signs in onto its own home and sees its own links; on a phone the menu
folds behind a real button and the page never scrolls sideways."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS, DESKTOP, PHONE
from tests.e2e.test_employee_journey import sign_in

HOMES = {"employee": "/feed", "comms": "/studio/", "admin": "/admin", "analyst": "/reach"}


@pytest.mark.parametrize("role", sorted(HOMES))
def test_each_role_lands_on_its_own_home_after_sign_in_and_at_the_root(live, open_page, make_user, role):
    make_user(f"{role}@acme.test", role)
    browser = open_page(DESKTOP)
    page = browser.page
    sign_in(page, live, f"{role}@acme.test")
    page.wait_for_url(f"{live}{HOMES[role]}")
    page.goto(f"{live}/")
    page.wait_for_url(f"{live}{HOMES[role]}")
    links = page.locator("nav[aria-label=Main] a").all_inner_texts()
    assert ("Admin" in links) == (role == "admin")
    assert ("Studio" in links) == (role in ("admin", "comms"))
    assert ("Reach" in links) == (role in ("admin", "comms", "analyst"))
    assert "Feed" in links and "My impact" in links  # every person shares too


def test_admin_nav_is_a_menu_button_on_a_phone(live, open_page, make_user):
    make_user("ada@acme.test", "admin", name="Ada Admin")
    browser = open_page(PHONE)
    page = browser.page
    sign_in(page, live, "ada@acme.test")
    page.wait_for_url(f"{live}/admin")
    toggle = page.get_by_role("button", name="Menu")
    assert toggle.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    assert toggle.get_attribute("aria-controls") == "site-menu"
    assert not page.get_by_role("link", name="Webhooks").is_visible()  # folded away
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    browser.shot("admin-nav-closed")

    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    webhooks = page.get_by_role("link", name="Webhooks")
    assert webhooks.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    box = page.locator("nav[aria-label=Main]").bounding_box()
    assert box is not None and box["width"] <= 375
    browser.check_accessible("the open menu at phone size")
    browser.shot("admin-nav-open")
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not webhooks.is_visible()

    page.set_viewport_size(DESKTOP)
    assert not toggle.is_visible()  # at desktop width the links are simply there
    assert page.get_by_role("link", name="Webhooks").is_visible()
    browser.shot("admin-nav-desktop")


def test_without_javascript_the_phone_nav_wraps_instead_of_overflowing(live, playwright_browser, make_user):
    make_user("ada@acme.test", "admin", name="Ada Admin")
    context = playwright_browser.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        sign_in(page, live, "ada@acme.test")
        page.wait_for_url(f"{live}/admin")
        assert page.get_by_role("link", name="Webhooks").is_visible()
        assert not page.get_by_role("button", name="Menu").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")  # evaluate works with page JS disabled
        assert width <= 375
    finally:
        context.close()


def test_the_pages_follow_the_systems_dark_setting(live, playwright_browser, make_user):
    make_user("ada@acme.test", "admin", name="Ada Admin")
    colours = {}
    for scheme in ("light", "dark"):
        context = playwright_browser.new_context(viewport=DESKTOP, color_scheme=scheme)
        try:
            page = context.new_page()
            sign_in(page, live, "ada@acme.test")
            page.wait_for_url(f"{live}/admin")
            colours[scheme] = page.evaluate("""() => ['body', 'header.top', '.card'].map(s =>
              getComputedStyle(document.querySelector(s)).backgroundColor)""")
            page.screenshot(path=str(ARTIFACTS / f"admin-{scheme}.png"))
        finally:
            context.close()
    assert colours["light"] == ["rgb(246, 248, 250)", "rgb(255, 255, 255)", "rgb(255, 255, 255)"]
    assert colours["dark"] == ["rgb(13, 17, 23)", "rgb(22, 27, 34)", "rgb(22, 27, 34)"]
