"""Comms pages in a real browser: the content calendar (grid at desktop, agenda on a phone, drill-down), the people
picker with the keyboard alone, and the editor's preview beside the form (sticky) at desktop, below it on a phone."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select

from advocacy.content.models import TalkingPoint
from advocacy.delivery.models import Share
from advocacy.extensions import db
from tests.delivery.support import approved
from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_employee_journey import sign_in


def _box(page, selector: str) -> dict:
    return page.evaluate(f"""() => {{ const r = document.querySelector({selector!r}).getBoundingClientRect();
        return {{top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height}}; }}""")


def test_calendar_grid_agenda_and_drill_down(live, open_page, make_user):
    today = dt.datetime.now(dt.UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    make_user("carl@acme.test", "comms", name="Carl Comms")
    launch = approved("Spring launch week", available_from=today - dt.timedelta(days=1),
                      available_until=today + dt.timedelta(days=2))
    approved("Engineering blog: how we ship", available_from=today + dt.timedelta(days=1),
             available_until=today + dt.timedelta(days=4))
    people = [make_user(f"p{i}@acme.test", name=f"Person {i}") for i in range(4)]
    for i, person in enumerate(people):
        db.session.add(Share(talking_point_id=launch.id, user_id=person.id, network="x", text="t",
                             code=secrets.token_urlsafe(8)[:12], status="scheduled" if i else "queued",
                             scheduled_at=today + dt.timedelta(days=1, hours=i)))
    db.session.commit()
    tomorrow = (today + dt.timedelta(days=1)).date().isoformat()

    shot = open_page(DESKTOP)
    page = shot.page
    sign_in(page, live, "carl@acme.test")
    page.get_by_role("link", name="Calendar", exact=True).first.click()
    page.wait_for_url(f"{live}/studio/calendar")
    grid = page.locator(".cal-grid")
    assert grid.is_visible() and not page.locator(".cal-list").is_visible()
    day = grid.locator(f'a.cal-day[data-day="{tomorrow}"]')
    assert day.locator(".cal-count").get_attribute("data-scheduled") == "4"
    bar = grid.locator(f'a.cal-bar[data-talking-point="{launch.id}"]').first
    assert bar.is_visible()
    day_box = day.bounding_box()
    assert bar.bounding_box()["width"] > 1.5 * day_box["width"]  # the window spans days (or it wraps to a week)
    shot.shots("calendar-month")
    page.get_by_role("link", name="Week", exact=True).click()
    page.wait_for_url("**view=week**")
    assert page.locator(".cal-grid .cal-day").count() == 7
    assert "Spring launch week" in page.locator(f'.cal-day-shares[aria-label*="{int(tomorrow[-2:])} "]').inner_text()
    shot.shots("calendar-week")

    page.set_viewport_size(PHONE)  # on a phone: the days as a stacked agenda
    agenda = page.locator(f'.cal-list li[data-day="{tomorrow}"]')
    assert agenda.is_visible() and not grid.is_visible()
    assert agenda.locator(".cal-count").get_attribute("data-scheduled") == "4"
    page.set_viewport_size(DESKTOP)
    page.locator(f'.cal-grid a.cal-day[data-day="{tomorrow}"]').click()  # drill down
    page.wait_for_url(f"**/studio/calendar/{tomorrow}**")
    assert page.locator("tr[data-share]").count() == 4
    assert page.locator("#scheduled [data-scheduled]").inner_text() == "4"
    shot.shots("calendar-day")
    page.locator("#avail-h + ul").get_by_role("link", name="Spring launch week").click()
    page.wait_for_url(f"{live}/studio/{launch.id}")


def test_people_picker_with_the_keyboard_alone(live, open_page, make_user):
    make_user("carl@acme.test", "comms", name="Carl Comms")
    nia = make_user("nia.quist@acme.test", name="Nia Quist")
    make_user("nils.quist@acme.test", name="Nils Quist")
    make_user("sam@acme.test", name="Sam Other")

    shot = open_page(DESKTOP)
    page = shot.page
    sign_in(page, live, "carl@acme.test")
    page.wait_for_url(f"{live}/studio/")
    page.get_by_label("Title", exact=True).fill("For Nia")
    page.get_by_label("Link", exact=True).fill("https://acme.test/nia")
    page.get_by_label("Generic (suggested copy)").fill("Nia, this one is for you.")
    assert not page.locator("textarea[name=people_emails]").is_visible()  # the plain field steps aside
    combo = page.get_by_role("combobox", name="People")
    combo.focus()
    page.keyboard.type("qui")
    listbox = page.locator("#people-options")  # (the Teams list is a listbox too)
    listbox.get_by_role("option").first.wait_for()
    assert [o.split("\n")[0] for o in listbox.get_by_role("option").all_inner_texts()] == ["Nia Quist", "Nils Quist"]
    assert combo.get_attribute("aria-expanded") == "true"
    first = combo.get_attribute("aria-activedescendant")
    page.keyboard.press("ArrowDown")
    assert combo.get_attribute("aria-activedescendant") != first  # Nils
    page.keyboard.press("ArrowUp")
    assert combo.get_attribute("aria-activedescendant") == first  # Nia again
    shot.shots("people-picker-open")
    page.keyboard.press("Enter")
    chip = page.locator(".person-chip", has_text="Nia Quist")
    chip.wait_for()
    assert combo.get_attribute("aria-expanded") == "false"
    assert not page.get_by_label("The whole organisation").is_checked()  # aimed at someone now
    page.locator("#audience-count").filter(has_text="Reaches 1 person.").wait_for()
    page.keyboard.type("sam")
    listbox.get_by_role("option").first.wait_for()
    page.keyboard.press("Escape")
    assert listbox.is_hidden() and page.locator(".person-chip").count() == 1
    shot.shots("people-picker-chip")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Draft saved.").wait_for()
    tp = db.session.scalars(select(TalkingPoint).where(TalkingPoint.title == "For Nia")).one()
    assert tp.target_everyone is False and tp.user_ids == [nia.id]

    page.goto(f"{live}/studio/{tp.id}/edit")  # the chip is there to remove, with the keyboard too
    page.locator(".person-chip", has_text="Nia Quist").get_by_role("button", name="Remove Nia Quist").press("Enter")
    assert page.locator(".person-chip").count() == 0


def test_preview_sits_beside_the_form_and_stays_in_view(live, open_page, make_user):
    make_user("carl@acme.test", "comms", name="Carl Comms")
    shot = open_page(DESKTOP)
    page = shot.page
    sign_in(page, live, "carl@acme.test")
    page.wait_for_url(f"{live}/studio/")
    page.get_by_label("Generic (suggested copy)").fill("Typing shows each network's copy beside the form.")
    page.locator('#draft-previews section[data-network="x"]').wait_for()  # it updates while typing
    form, aside = _box(page, "form[data-draft-preview]"), _box(page, ".compose-previews")
    assert aside["left"] >= form["right"] - 1 and abs(aside["top"] - form["top"]) < 80  # beside, not below
    page.evaluate(f"window.scrollBy(0, {form['top']} + 700)")  # down the long form: its first fields leave the screen
    assert _box(page, "form[data-draft-preview]")["top"] < -600
    after = _box(page, ".compose-previews")
    assert 0 <= after["top"] < 100 and after["bottom"] <= DESKTOP["height"], after  # sticky: all of it on screen
    assert page.locator('#draft-previews section[data-network="x"]').is_visible()
    shot.shot("preview-sticky-desktop")
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    form, aside = _box(page, "form[data-draft-preview]"), _box(page, ".compose-previews")
    assert aside["top"] >= form["bottom"] - 1 and aside["width"] > 300  # stacked below on a phone
    shot.shot("preview-below-phone")
