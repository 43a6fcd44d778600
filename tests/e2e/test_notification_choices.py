"""The Notifications section of the preferences page and the admins' defaults, in Chromium at 375 px and 1280 px:
labelled, nothing sideways, a choice saved in order, a bad time refused naming the field."""

from __future__ import annotations

import re

from tests.e2e.conftest import PHONE
from tests.e2e.test_employee_journey import sign_in


def test_notification_choices_on_a_phone_and_a_desktop(live, open_page, make_user):
    make_user("emma@acme.test", "employee")
    make_user("ada@acme.test", "admin")
    browser = open_page(PHONE)
    page = browser.page
    sign_in(page, live, "emma@acme.test")
    page.wait_for_url(f"{live}/feed")
    page.goto(f"{live}/preferences#notifications")
    section = page.locator("#notifications")
    assert section.get_by_role("heading", name="Notifications").is_visible()
    browser.shots("notifications")

    section.get_by_role("checkbox", name=re.compile("Phone or browser")).check()
    section.get_by_role("spinbutton", name=re.compile("Order of Phone or browser")).fill("1")  # push first
    section.get_by_role("spinbutton", name="Order of E-mail").fill("2")
    section.get_by_label("How often").select_option("daily")
    section.get_by_label("Quiet hours from").fill("22:00")
    section.get_by_label("until", exact=True).fill("07:00")
    section.get_by_role("button", name="Save notifications").click()
    page.wait_for_load_state("load")
    assert "Notification choices saved." in page.content()
    ticked = page.locator("#notify-channels input[type=checkbox]:checked")
    assert [ticked.nth(i).get_attribute("name") for i in range(ticked.count())] == ["channel_push", "channel_email"]

    browser.expect_status(422)
    section = page.locator("#notifications")
    section.get_by_label("Quiet hours from").fill("")
    section.get_by_role("button", name="Save notifications").click()
    page.wait_for_load_state("load")
    assert page.locator("#notifications-error").inner_text().startswith("quiet_start: give both ends")
    browser.shots("notifications-error")

    admin = open_page(PHONE)
    sign_in(admin.page, live, "ada@acme.test")
    admin.page.wait_for_url(f"{live}/admin")
    admin.page.goto(f"{live}/admin/notifications")
    assert admin.page.get_by_role("heading", name="Notification defaults").is_visible()
    admin.shots("notification-defaults")
