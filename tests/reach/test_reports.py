"""Reports: the three levels agree, EMV under two rate-card versions, CSV = page, bad ranges are 422."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

from sqlalchemy import func, select

from advocacy.extensions import db
from advocacy.reach.metrics import store_snapshot
from advocacy.reach.models import RateCard, ShareStats
from connectors.base import PostMetrics
from tests.reach.conftest import click, rollup

FIELDS = ("shares", "potential_reach", "clicks", "unique_clicks", "bot_hits", "results")
D1, D2 = dt.datetime(2026, 2, 10, 9, tzinfo=dt.UTC), dt.datetime(2026, 3, 10, 9, tzinfo=dt.UTC)
RANGE = "from=2026-01-01&to=2026-06-30"


def world(factory, make_user, client):
    """Two teams, three people (one without a team), two networks, two talking points, clicks and metrics."""
    eng, sales = factory.team("Engineering"), factory.team("Sales")
    people = [make_user("ana@acme.test", team=eng), make_user("ben@acme.test", team=sales),
              make_user("cy@acme.test")]
    tps = [factory.talking_point("Hiring"), factory.talking_point("Report")]
    shares = []
    for i, (person, tp, network, when) in enumerate([
            (people[0], tps[0], "x", D1), (people[0], tps[1], "x", D2), (people[1], tps[0], "linkedin", D1),
            (people[1], tps[1], "x", D2), (people[2], tps[0], "x", D2)]):
        share = factory.share(person, tp, network, published=when, followers=1000 * (i + 1))
        shares.append(share)
        for n in range(i + 1):
            click(client, share, ip=f"198.51.100.{n}")
        click(client, share, ua="Twitterbot/1.0")
    rollup()
    figures = [PostMetrics("a", 5, 1, 1, 0, 2000), PostMetrics("b", 2, 0, 0, 0, None),
               PostMetrics("c", None, None, None, None, None), PostMetrics("d", 1, 1, 0, 0, 500), None]
    for share, metrics in zip(shares, figures, strict=True):
        if metrics is not None:
            stats = db.session.get(ShareStats, share.id)
            store_snapshot(stats, share, metrics, share.published_at + dt.timedelta(hours=1))
    db.session.commit()
    return people, tps, shares


def as_dict(row):
    return {f: row[f] for f in FIELDS} | {
        f: (row[f] or {}).get("value") for f in ("likes", "reposts", "replies", "quotes", "impressions", "engagements")}


def test_organisation_equals_sum_of_teams_people_networks_talking_points_and_days(app, client, factory, make_user,
                                                                                 browser_factory):
    world(factory, make_user, client)
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")
    total = None
    for group in ("team", "person", "network", "talking_point", "day"):
        rep = analyst.api("GET", f"/api/reach/report?group={group}&{RANGE}").get_json()
        org = as_dict(rep["total"])
        total = total or org
        assert org == total, group
        for f in FIELDS:
            assert sum(r[f] for r in rep["rows"]) == org[f], (group, f)
        for f in ("likes", "impressions", "engagements"):
            values = [r[f]["value"] for r in rep["rows"] if r[f]["value"] is not None]
            assert sum(values) == org[f], (group, f)
    assert total["shares"] == 5 and total["clicks"] == 15 and total["unique_clicks"] == 15 and total["bot_hits"] == 5
    assert total["likes"] == 8 and total["impressions"] == 2500 and total["potential_reach"] == 15000
    by_network = analyst.api("GET", f"/api/reach/report?group=network&{RANGE}").get_json()
    linkedin = next(r for r in by_network["rows"] if r["key"] == "linkedin")
    assert linkedin["likes"]["value"] is None and linkedin["impressions"]["value"] is None  # unavailable, not 0
    by_team = analyst.api("GET", f"/api/reach/report?group=team&{RANGE}").get_json()
    assert {r["label"] for r in by_team["rows"]} == {"Engineering", "Sales", "(no team)"}


def test_emv_with_two_rate_card_versions_is_labelled_and_shows_its_formula(app, client, factory, make_user,
                                                                          browser_factory):
    world(factory, make_user, client)
    make_user("cara@acme.test", "comms")
    comms = browser_factory("cara@acme.test")
    v1 = comms.api("POST", "/api/reach/rate-cards", {"network": "x", "effective_from": "2026-01-01", "cpm": "10",
                                                     "cpc": "0.50", "per_engagement": "0.20"})
    assert v1.status_code == 201, v1.get_json()
    v2 = comms.api("POST", "/api/reach/rate-cards", {"network": "x", "effective_from": "2026-03-01", "cpm": "20",
                                                     "cpc": "1", "per_engagement": "0.40"})
    assert v2.get_json()["version"] == 2
    rep = comms.api("GET", f"/api/reach/report?group=person&{RANGE}").get_json()
    ana = next(r for r in rep["rows"] if r["label"] == "Ana")
    # Feb (v1): 2000 impr → 20.00, 1 click → 0.50, 7 engagements → 1.40; Mar (v2): no impressions, 2 clicks → 2.00,
    # 2 engagements → 0.80; estimated: 2000 followers / 1000 × 20 = 40.00
    assert Decimal(ana["emv_measured"]) == Decimal("24.70") and Decimal(ana["emv_estimated"]) == Decimal("40.00")
    assert ana["rate_cards"] == ["x v1", "x v2"] or sorted(ana["rate_cards"]) == ["x v1", "x v2"]
    cy = next(r for r in rep["rows"] if r["label"] == "Cy")
    assert Decimal(cy["emv_measured"]) == Decimal("5.00") and Decimal(cy["emv_estimated"]) == Decimal("100.00")
    ben = next(r for r in rep["rows"] if r["label"] == "Ben")
    assert ben["without_rate_card"] == 1  # LinkedIn has no card: no EMV is made up for it
    page = comms.get(f"/reach?group=person&{RANGE}").get_data(as_text=True)
    assert "impressions / 1000 × CPM + unique clicks × CPC + engagements × value per engagement" in page
    assert "x v1" in page and "x v2" in page and "EUR 24.70" in page


def test_csv_exports_match_the_page_and_stream(app, client, factory, make_user, browser_factory):
    world(factory, make_user, client)
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")
    for group in ("team", "talking_point", "day"):
        api = analyst.api("GET", f"/api/reach/report?group={group}&{RANGE}").get_json()
        page = analyst.get(f"/reach?group={group}&{RANGE}").get_data(as_text=True)
        export = analyst.get(f"/reach/export.csv?group={group}&{RANGE}", buffered=True)
        assert export.status_code == 200 and export.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
        assert [r["label"] for r in rows] == [r["label"] for r in api["rows"]] + ["Organisation"]
        for row, expected in zip(rows, [*api["rows"], api["total"]], strict=True):
            for f in FIELDS:
                assert int(row[f if f != "potential_reach" else "potential_reach_estimated"]) == expected[f]
            assert row["likes"] == ("unavailable" if expected["likes"]["value"] is None
                                    else str(expected["likes"]["value"]))
            key = "total" if row["label"] == "Organisation" else row["key"]
            cells = page.split(f'data-key="{key}"')[1].split("</tr>")[0]
            assert f"<td>{row['shares']}</td>" in cells and f'<td class="clicks">{row["clicks"]}</td>' in cells
    shares = analyst.get(f"/reach/shares.csv?{RANGE}", buffered=True)
    lines = list(csv.DictReader(io.StringIO(shares.get_data(as_text=True))))
    assert shares.headers["X-Total-Rows"] == "5" and len(lines) == 5
    assert sum(int(r["unique_clicks"]) for r in lines) == 15
    assert [r["impressions"] for r in lines].count("unavailable") == 3
    from advocacy.reach import reports

    reports.SHARE_PAGE = 2  # the same export read two rows per query: pages join up in order, none lost or doubled
    try:
        paged = analyst.get(f"/reach/shares.csv?{RANGE}", buffered=True).get_data(as_text=True)
    finally:
        reports.SHARE_PAGE = 2000
    assert paged == shares.get_data(as_text=True)


def test_bad_date_ranges_are_422_naming_the_field(app, client, factory, make_user, browser_factory):
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")
    for query, field in [("from=2026-03-01&to=2026-02-01", "from"), ("from=1900-01-01&to=1900-02-01", "from"),
                         ("from=2020-01-01&to=2026-01-01", "from"), ("from=yesterday", "from"),
                         ("to=2026-13-45", "to"), ("to=9999-01-01", "to"), ("group=planet", "group"),
                         ("team=abc", "team"), ("from=" + "9" * 5000, "from")]:
        api = analyst.api("GET", f"/api/reach/report?{query}")
        assert api.status_code == 422, query
        assert field in api.get_json()["errors"]["json"], (query, api.get_json())
        page = analyst.get(f"/reach?{query}")
        assert page.status_code == 422 and 'role="alert"' in page.get_data(as_text=True)
        assert analyst.get(f"/reach/export.csv?{query}").status_code == 422


def test_analysts_are_read_only_and_bad_rate_cards_store_nothing(app, make_user, browser_factory):
    make_user("mia@acme.test", "analyst")
    make_user("cara@acme.test", "comms")
    analyst, comms = browser_factory("mia@acme.test"), browser_factory("cara@acme.test")
    good = {"network": "x", "effective_from": "2026-01-01", "cpm": "10", "cpc": "1", "per_engagement": "0.1"}
    assert analyst.api("POST", "/api/reach/rate-cards", good).status_code == 403
    assert analyst.post("/reach/rate-cards", good).status_code == 403
    for field, bad in [("cpm", "ten"), ("cpc", "-1"), ("per_engagement", "NaN"), ("effective_from", "soon"),
                       ("network", "x y"), ("currency", "EURO")]:
        answer = comms.api("POST", "/api/reach/rate-cards", good | {field: bad})
        assert answer.status_code == 422 and field in answer.get_json()["errors"]["json"], field
        form = comms.post("/reach/rate-cards", good | {field: bad})
        assert form.status_code == 422 and f'value="{bad}"' in form.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(RateCard)) == 0
