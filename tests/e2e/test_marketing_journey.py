"""The marketing journey in a real browser: open the dashboard, filter it, export the CSV and check its rows."""

from __future__ import annotations

import csv
import io

from tests.e2e.conftest import DESKTOP, PHONE
from tests.e2e.test_employee_journey import sign_in
from tests.reach.conftest import Factory
from tests.reach.test_reports import world


def test_dashboard_filters_and_exports_csv(live, open_page, make_user, client):
    people, tps, shares = world(Factory(make_user), make_user, client)  # 5 shares, 2 teams, 2 networks, Feb–Mar
    make_user("mia@acme.test", "analyst", name="Mia Marketing")
    browser = open_page()
    page = browser.page
    sign_in(page, live, "mia@acme.test")
    page.wait_for_url(f"{live}/reach")
    # on a phone the nine filters fold behind one button, and the page never scrolls sideways
    toggle = page.get_by_role("button", name="Filters")
    assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    assert not page.get_by_label("Shared from").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    browser.shot("filters-folded")
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    page.get_by_label("Shared from").fill("2026-01-01")
    page.get_by_label("to", exact=True).fill("2026-06-30")
    page.get_by_role("button", name="Show").click()
    kpis = page.locator("#kpis")
    assert "5 shares" in " ".join(kpis.inner_text().split())
    for chart in ("#chart-time", "#chart-team", "#chart-network", "#chart-top"):
        assert page.locator(f"{chart} svg").count() == 1
    assert page.locator("#chart-team [data-label]").count() == 3  # Engineering, Sales, no team
    assert "impressions / 1000 × CPM" in page.locator("#emv-formula").inner_text()
    assert "2 active" in page.get_by_role("button", name="Filters").inner_text()  # the dates are set
    assert page.evaluate(OVERFLOWING_KPIS) == []
    browser.shots("dashboard")
    # at desktop width the filter bar is one row and its toggle is gone
    page.set_viewport_size(DESKTOP)
    assert not page.get_by_role("button", name="Filters").is_visible()
    tops = page.evaluate("[...document.querySelectorAll('#filter-fields select, #filter-fields input:not([type=hidden]"
                         "), #filter-fields button')].map(e => Math.round(e.getBoundingClientRect().top))")
    assert len(tops) == 10 and max(tops) - min(tops) <= 4, tops
    assert page.evaluate(OVERFLOWING_KPIS) == []
    assert page.evaluate(OVERLAPPING_LABELS) == []
    page.set_viewport_size(PHONE)
    browser.page.evaluate("window.scrollTo(0, 0)")  # the filter bar, the totals and the first chart
    browser.readme("marketing-dashboard")

    if page.get_by_role("button", name="Filters").get_attribute("aria-expanded") == "false":
        page.get_by_role("button", name="Filters").click()
    page.get_by_label("Network", exact=True).select_option("linkedin")
    page.get_by_label("Group by", exact=True).select_option("team")
    page.get_by_role("button", name="Show").click()
    assert "network=linkedin" in page.url
    assert "1 shares" in " ".join(page.locator("#kpis").inner_text().split())
    browser.shots("dashboard-filtered")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export this report (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [(r["group"], r["label"], r["shares"]) for r in rows] == [("team", "Sales", "1"),
                                                                     ("team", "Organisation", "1")]
    assert rows[0]["unique_clicks"] == str(3)  # ben's LinkedIn share had 3 visitors


OVERFLOWING_KPIS = """() => [...document.querySelectorAll('#kpis li')]
  .filter(li => li.scrollWidth > li.clientWidth + 1).map(li => li.textContent.trim())"""

OVERLAPPING_LABELS = """() => {
  const found = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const boxes = [...svg.querySelectorAll('text, rect')].map(e => [e, e.getBoundingClientRect()]);
    for (const [a, ra] of boxes) {
      if (a.tagName !== 'text') continue;
      for (const [b, rb] of boxes) {
        if (a === b || a.parentNode !== b.parentNode && b.tagName === 'rect') continue;
        const overlap = ra.left < rb.right - 1 && rb.left < ra.right - 1
          && ra.top < rb.bottom - 1 && rb.top < ra.bottom - 1;
        if (overlap) found.push(`${a.textContent} / ${b.textContent || b.tagName}`);
      }
    }
  }
  return found;
}"""
