"""Reach shows three honest states for a network figure: pending (not fetched yet, with when it will be),
unavailable (the network does not give it) and a real 0; and no currency amount where no rate card applies."""

from __future__ import annotations

import datetime as dt
import re

from advocacy.reach.metrics import fetch_due
from tests.reach.test_metrics import posted_share


def _cells(page: str) -> list[str]:
    """The X row's cells of the report table, tags stripped."""
    table = page[page.index('<table id="report"'):]
    row = table[table.index("<tbody>"):table.index("</tr>", table.index("<tbody>"))]
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def _kpi(page: str, kpi: str) -> str:
    start = page.index(">", page.index(f'id="{kpi}"')) + 1
    return " ".join(re.sub(r"<[^>]+>", " ", page[start:page.index("</li>", start)]).split())


def test_pending_then_real_zero_and_unavailable(factory, make_user, browser_factory, sandbox):
    share, published = posted_share(factory, make_user, browser_factory, sandbox)
    make_user("mia@acme.test", "analyst")
    mia = browser_factory("mia@acme.test")
    day = published.date().isoformat()

    page = mia.get(f"/reach?group=network&from={day}&to={day}").get_data(as_text=True)
    cells = _cells(page)
    due = (published + dt.timedelta(hours=1)).strftime("%-d %b %H:%M")
    # likes, reposts, replies, quotes, impressions: none fetched yet, so each says pending and when
    assert cells[5:10] == [f"pending (first figures due {due} UTC)"] * 5
    assert "pending" in _kpi(page, "kpi-engagements") and due in _kpi(page, "kpi-engagements")
    assert "unavailable" not in " ".join(cells[5:10])

    assert fetch_due(now=published + dt.timedelta(hours=1, seconds=1)) == 1
    page = mia.get(f"/reach?group=network&from={day}&to={day}").get_data(as_text=True)
    cells = _cells(page)
    assert cells[5:10] == ["3", "0", "1", "0", "unavailable"]  # a real 0 is a 0; X gave no impressions here
    assert _kpi(page, "kpi-engagements").startswith("4 ")


def test_no_currency_amount_without_a_rate_card(factory, make_user, browser_factory, sandbox):
    share, published = posted_share(factory, make_user, browser_factory, sandbox)
    make_user("mia@acme.test", "analyst")
    day = published.date().isoformat()
    page = browser_factory("mia@acme.test").get(f"/reach?group=network&from={day}&to={day}").get_data(as_text=True)
    cells = _cells(page)
    assert cells[12:14] == ["no rate card", "no rate card"]  # EMV measured, EMV estimated
    assert _kpi(page, "kpi-emv").startswith("no rate card")
    assert not re.search(r"(USD|EUR|\$) ?0\.00", _kpi(page, "kpi-emv"))
