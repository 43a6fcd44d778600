"""Reports: the three levels agree (summed over every page), EMV under two rate-card versions, CSV = pages,
paging and sorting in SQL, bad ranges and bad paging are 422."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

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


def all_pages(browser, url):
    """Every row of a report through the JSON API, one row a page: (rows, total, pages walked)."""
    rows, page, first = [], 1, None
    while True:
        rep = browser.api("GET", f"{url}&per_page=1&page={page}").get_json()
        first = first or rep
        assert rep["total"] == first["total"] and rep["count"] == first["count"], (url, page)  # every page: all rows
        assert rep["page"] == page and rep["per_page"] == 1 and len(rep["rows"]) == 1
        rows += rep["rows"]
        if page >= rep["pages"]:
            return rows, rep["total"], page
        page += 1


def test_organisation_equals_sum_of_teams_people_networks_talking_points_and_days(app, client, factory, make_user,
                                                                                 browser_factory):
    world(factory, make_user, client)
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")
    total = None
    for group in ("team", "person", "network", "talking_point", "day"):
        rows, org_row, pages = all_pages(analyst, f"/api/reach/report?group={group}&{RANGE}")
        org = as_dict(org_row)
        total = total or org
        assert org == total, group
        assert len(rows) == len({str(r["key"]) for r in rows})  # no row on two pages
        assert pages == len(rows) > 1, group  # the sums below really cross pages
        for f in FIELDS:
            assert sum(r[f] for r in rows) == org[f], (group, f)
        for f in ("likes", "impressions", "engagements"):
            values = [r[f]["value"] for r in rows if r[f]["value"] is not None]
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
    assert (ana["emv_measured"], ana["emv_estimated"]) == (24.7, 40.0)  # numbers, as the schema says
    assert ana["rate_cards"] == ["x v1", "x v2"] or sorted(ana["rate_cards"]) == ["x v1", "x v2"]
    cy = next(r for r in rep["rows"] if r["label"] == "Cy")
    assert (cy["emv_measured"], cy["emv_estimated"]) == (5.0, 100.0)
    ben = next(r for r in rep["rows"] if r["label"] == "Ben")
    assert ben["without_rate_card"] == 1  # LinkedIn has no card: no EMV is made up for it
    page = comms.get(f"/reach?group=person&{RANGE}").get_data(as_text=True)
    assert "impressions / 1000 × CPM + unique clicks × CPC + engagements × value per engagement" in page
    assert "x v1" in page and "x v2" in page and "EUR 24.70" in page


def page_rows(html):
    """(data-key, shares cell, clicks cell) of each row of the report table on a page, the total row last."""
    body = html.split('<table id="report"')[1].split("</table>")[0].split("<tbody>")[1]
    out = []
    for tr in body.split("<tr ")[1:]:
        key = tr.split('data-key="')[1].split('"')[0]
        cells = tr.split("<td")
        out.append((key, cells[2].split(">", 1)[1].split("<")[0], tr.split('class="clicks">')[1].split("<")[0]))
    return out


def test_csv_exports_match_the_pages_and_stream(app, client, factory, make_user, browser_factory):
    world(factory, make_user, client)
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")
    for group, order in [("team", ""), ("talking_point", ""), ("day", ""), ("person", ""),
                         ("person", "&sort=label&order=desc"), ("person", "&sort=clicks&order=asc"),
                         ("person", "&sort=impressions"), ("day", "&sort=emv_estimated&order=desc")]:
        export = analyst.get(f"/reach/export.csv?group={group}&{RANGE}{order}&page=2&per_page=1", buffered=True)
        assert export.status_code == 200 and export.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))  # every row, whatever the page
        assert export.headers["X-Total-Rows"] == str(len(rows))
        api_rows, api_total, _ = all_pages(analyst, f"/api/reach/report?group={group}&{RANGE}{order}")
        assert [r["label"] for r in rows] == [r["label"] for r in api_rows] + ["Organisation"], (group, order)
        for row, expected in zip(rows, [*api_rows, api_total], strict=True):
            for f in FIELDS:
                assert int(row[f if f != "potential_reach" else "potential_reach_estimated"]) == expected[f]
            assert row["likes"] == ("unavailable" if expected["likes"]["value"] is None
                                    else str(expected["likes"]["value"]))
            assert Decimal(row["emv_measured"]) == Decimal(str(expected["emv_measured"]))
        # page N of the HTML report shows the CSV's rows N*2-1 and N*2, in the same order, and the same total row
        seen = []
        for page in (1, 2, 3):
            html = analyst.get(f"/reach?group={group}&{RANGE}{order}&per_page=2&page={page}").get_data(as_text=True)
            shown = page_rows(html)
            assert shown[-1] == ("total", rows[-1]["shares"], rows[-1]["clicks"]), (group, order, page)
            seen += shown[:-1] if shown[0][0] != "" or len(shown) > 1 else []
        expected_rows = [("" if r["key"] == "" else r["key"], r["shares"], r["clicks"]) for r in rows[:-1]][:6]
        assert [s for s in seen if not s[1].startswith("No")] == expected_rows, (group, order)
    shares = analyst.get(f"/reach/shares.csv?{RANGE}", buffered=True)
    lines = list(csv.DictReader(io.StringIO(shares.get_data(as_text=True))))
    assert shares.headers["X-Total-Rows"] == "5" and len(lines) == 5
    assert sum(int(r["unique_clicks"]) for r in lines) == 15
    assert [r["impressions"] for r in lines].count("unavailable") == 3
    from advocacy.reach.reports import shares as share_export

    share_export.SHARE_PAGE = 2  # the same export read two rows per query: pages join up in order, none lost or doubled
    try:
        paged = analyst.get(f"/reach/shares.csv?{RANGE}", buffered=True).get_data(as_text=True)
    finally:
        share_export.SHARE_PAGE = 2000
    assert paged == shares.get_data(as_text=True)


def test_pages_sort_filter_by_name_and_keep_the_filters_in_their_links(app, client, factory, make_user,
                                                                      browser_factory):
    world(factory, make_user, client)
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")
    url = f"/api/reach/report?group=person&{RANGE}"
    default = analyst.api("GET", url).get_json()
    # most unique clicks first: Cy (5), Ben (3 + 4), Ana (1 + 2)
    assert [r["label"] for r in default["rows"]] == ["Ben", "Cy", "Ana"] and default["count"] == 3
    assert [r["label"] for r in analyst.api("GET", f"{url}&sort=label").get_json()["rows"]] == ["Ana", "Ben", "Cy"]
    assert [r["label"] for r in analyst.api("GET", f"{url}&sort=label&order=desc").get_json()["rows"]] == \
        ["Cy", "Ben", "Ana"]
    assert [r["label"] for r in analyst.api("GET", f"{url}&sort=potential_reach&order=asc").get_json()["rows"]] == \
        ["Ana", "Cy", "Ben"]  # 1000 + 2000, 5000, 3000 + 4000
    # Cy's only share has no figures yet ("unavailable"): last whichever way impressions are sorted
    for order in ("asc", "desc"):
        rows = analyst.api("GET", f"{url}&sort=impressions&order={order}").get_json()["rows"]
        assert rows[-1]["label"] == "Cy" and rows[-1]["impressions"]["value"] is None, order
    top = analyst.api("GET", f"{url}&per_page=1").get_json()
    assert [r["label"] for r in top["rows"]] == ["Ben"] and top["pages"] == 3 and top["count"] == 3
    named = analyst.api("GET", f"{url}&q=BE").get_json()
    assert [r["label"] for r in named["rows"]] == ["Ben"] and named["count"] == 1
    assert named["total"]["shares"] == 5  # the organisation total is still everyone's
    assert analyst.api("GET", f"{url}&q=%25").get_json()["count"] == 0  # a LIKE wildcard is a plain character
    page = analyst.get(f"/reach?group=person&{RANGE}&network=x&per_page=1&page=2&sort=clicks&order=desc")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Rows 2–2 of 3" in html and 'aria-current="page">2<' in html
    nav = html.split('id="pager"')[1].split("</nav>")[0]
    links = [parse_qs(urlsplit(a.split('"')[0].replace("&amp;", "&")).query) for a in nav.split('href="')[1:]]
    kept = {"group": ["person"], "from": ["2026-01-01"], "to": ["2026-06-30"], "network": ["x"], "per_page": ["1"],
            "sort": ["clicks"], "order": ["desc"]}
    assert links and all({k: v for k, v in q.items() if k != "page"} == kept for q in links), links
    assert sorted(q.get("page", ["1"])[0] for q in links) == ["1", "1", "3", "3"]  # previous, 1, 3, next
    header = html.split('<table id="report"')[1].split("</thead>")[0]
    assert 'aria-sort="descending"' in header and "sort=label" in header
    export = html.split('id="export-csv"')[1].split(">")[0].replace("&amp;", "&")
    assert "sort=clicks" in export and "network=x" in export and "page=" not in export and "per_page" not in export
    past = analyst.get(f"/reach?group=person&{RANGE}&page=9").get_data(as_text=True)
    assert "Page 9 is past the last page (1)" in past


def test_bad_paging_is_422_naming_the_field(app, make_user, browser_factory):
    make_user("mia@acme.test", "analyst")
    analyst = browser_factory("mia@acme.test")
    for query, field in [("page=0", "page"), ("page=abc", "page"), ("page=-1", "page"), ("page=" + "9" * 40, "page"),
                         ("per_page=201", "per_page"), ("per_page=0", "per_page"), ("per_page=1e3", "per_page"),
                         ("sort=password_hash", "sort"), ("sort=label&order=sideways", "order"),
                         ("order=asc", "order"), ("q=" + "x" * 101, "q")]:
        api = analyst.api("GET", f"/api/reach/report?group=person&{query}")
        assert api.status_code == 422, query
        assert field in api.get_json()["errors"]["json"], (query, api.get_json())
        page = analyst.get(f"/reach?group=person&{query}")
        html = page.get_data(as_text=True)
        assert page.status_code == 422 and 'role="alert"' in html and f"{field}: " in html, query
        export = analyst.get(f"/reach/export.csv?group=person&{query}")
        assert export.status_code == 422 and export.get_data(as_text=True).startswith(f"{field}: "), query


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


def test_the_charts_bars_are_the_tables_rows(app, client, factory, make_user):
    world(factory, make_user, client)
    from advocacy.reach import reports

    f = reports.Filters(dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    for group in reports.GROUPS:
        table = reports.report(group, f).rows
        bars = reports.ranking(group, f)
        assert [(b.key, b.label, b.unique_clicks, b.shares) for b in bars] == \
            [(r.key, r.label, r.unique_clicks, r.shares) for r in table], group
        assert reports.ranking(group, f, limit=2) == bars[:2]
    # the dashboard takes its bars from the table when the table holds them (first page, default order, no name
    # filter) and asks for them otherwise: the same bars either way
    from advocacy.reach.views import _ranking

    with app.test_request_context():
        for group in ("talking_point", "team", "network"):
            bars = reports.ranking(group, f)
            for paging in (reports.Paging(), reports.Paging(per_page=1), reports.Paging(page=2, per_page=1),
                           reports.Paging(sort="label"), reports.Paging(q="zz")):
                rep = reports.report(group, f, paging)
                assert _ranking(rep, group, f) == bars, (group, paging)
                assert _ranking(rep, group, f, limit=1) == bars[:1], (group, paging)
