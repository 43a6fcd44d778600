"""Large CSV exports in a real browser: the export links download through a streaming fetch that shows rows done
against the server's row count in a labelled <progress>, then save the file; the file is the report on the pages.
Without JavaScript the same links are plain downloads of the same file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

from sqlalchemy import insert

from advocacy.extensions import db
from tests.e2e.test_employee_journey import sign_in

SHARES, PEOPLE = 1500, 60
RANGE = "from=2026-01-01&to=2026-06-30"


def many_shares(make_user) -> None:
    """60 people in 3 teams with 1,500 published shares with figures (straight in the database, as after a bulk
    import), and the report totals rebuilt from them."""
    from advocacy.content.models import Status, TalkingPoint
    from advocacy.delivery.models import Share
    from advocacy.people.models import Team, User
    from advocacy.reach import totals
    from advocacy.reach.models import ShareStats

    rng = random.Random(5)
    author = make_user("author@acme.test", "comms")
    teams = [Team(name=f"Team {i}") for i in range(3)]
    db.session.add_all(teams)
    db.session.flush()
    people = [User(email=f"p{i}@acme.test", name=f"Person {i:02d}", password_hash=author.password_hash,
                   role="employee", team_id=teams[i % 3].id) for i in range(PEOPLE)]
    points = [TalkingPoint(title=f"Point {i}", link="https://acme.test/", status=Status.APPROVED,
                           author_id=author.id) for i in range(4)]
    db.session.add_all([*people, *points])
    db.session.flush()
    shares, stats = [], []
    for i in range(SHARES):
        person, point = rng.choice(people), rng.choice(points)
        at = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC) + dt.timedelta(hours=rng.randrange(24 * 100))
        network = "x" if i % 3 else "linkedin"
        shares.append({"talking_point_id": point.id, "user_id": person.id, "network": network, "text": "t",
                       "code": f"e2e{i:06d}", "status": "published", "scheduled_at": at, "published_at": at,
                       "post_id": f"p{i}", "followers_at_share": 100 + i})
    ids = db.session.scalars(insert(Share).returning(Share.id, sort_by_parameter_order=True), shares).all()
    for share_id, s in zip(ids, shares, strict=True):
        x = s["network"] == "x"
        stats.append({"share_id": share_id, "talking_point_id": s["talking_point_id"], "user_id": s["user_id"],
                      "team_id": next(p.team_id for p in people if p.id == s["user_id"]), "network": s["network"],
                      "day": s["published_at"].date(), "followers": s["followers_at_share"],
                      "hits": rng.randrange(30), "unique_clicks": rng.randrange(20), "bot_hits": rng.randrange(3),
                      "likes": rng.randrange(9) if x else None, "reposts": rng.randrange(3) if x else None,
                      "replies": 0 if x else None, "quotes": 0 if x else None,
                      "impressions": rng.randrange(900) if x else None, "metrics_step": 6})
    db.session.execute(insert(ShareStats), stats)
    totals.rebuild()
    db.session.commit()


RECORD = """() => {
  window.progressSeen = [];
  const bar = document.getElementById('export-progress-bar');
  const read = () => [Number(bar.getAttribute('value')), Number(bar.getAttribute('max'))];
  new MutationObserver(() => window.progressSeen.push(read()))
    .observe(bar, { attributes: true, attributeFilter: ['value', 'max'] });
}"""


def table_rows(page) -> list[tuple[str, str, str]]:
    """(key, shares, clicks) of each row of the report table on screen, the total row last."""
    return [tuple(r) for r in page.eval_on_selector_all(
        "#report tbody tr",
        "rows => rows.map(r => [r.dataset.key, r.cells[1].textContent.trim(), r.cells[2].textContent.trim()])")]


def test_large_exports_show_progress_and_save_the_report_on_the_pages(live, open_page, playwright_browser,
                                                                      make_user):
    many_shares(make_user)
    make_user("mia@acme.test", "analyst", name="Mia Marketing")
    browser = open_page()
    page = browser.page
    sign_in(page, live, "mia@acme.test")
    page.wait_for_url(f"{live}/reach")
    page.goto(f"{live}/reach?group=person&{RANGE}&per_page=25&sort=clicks&order=desc")
    assert "Rows 1–25 of 60" in page.locator("#report-count").inner_text()
    shown = table_rows(page)
    assert len(shown) == 26 and shown[-1][0] == "total" and shown[-1][1] == str(SHARES)
    assert page.locator("#export-progress").is_hidden()

    # Every share: 1,500 rows streamed, the progress bar counting them as they arrive (the network slowed so that
    # the rows come in over a few seconds, as a large export does).
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": 40_000,
                                                  "uploadThroughput": -1})
    page.evaluate(RECORD)
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("link", name=f"Export every share (CSV, {SHARES} rows)").click()
        page.locator("#export-progress-status").filter(has_text=f"of {SHARES} rows").wait_for(timeout=20_000)
        assert page.get_by_label("Downloading Export every share").is_visible()  # the <progress>, by its label
        browser.shot("export-in-progress")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    assert download.value.suggested_filename == "reach-shares.csv"
    lines = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert len(lines) == SHARES and len({r["share_id"] for r in lines}) == SHARES
    status = page.locator("#export-progress-status")
    status.filter(has_text="Done").wait_for()
    assert status.inner_text() == f"Done: {SHARES} rows saved as reach-shares.csv."
    seen = page.evaluate("window.progressSeen")
    assert seen[-1] == [SHARES, SHARES]
    assert any(0 < value < SHARES for value, top in seen if top == SHARES), seen  # it moved while rows arrived
    values = [value for value, top in seen if top == SHARES]
    assert values == sorted(values)
    browser.shots("export-done")

    # This report: every row of every page in the page's order, the organisation total last.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export this report (CSV, all 60 rows)").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    status.filter(has_text="Done: 61 rows").wait_for()
    assert len(rows) == PEOPLE + 1 and rows[-1]["label"] == "Organisation"
    as_table = [(r["key"], r["shares"], r["clicks"]) for r in rows]
    assert as_table[:25] == shown[:-1] and as_table[-1] == ("", *shown[-1][1:])
    page.get_by_role("link", name="Page 3").click()
    third = table_rows(page)
    assert third[:-1] == as_table[50:60] and third[-1] == shown[-1]

    # Without JavaScript the link is a plain download of the same file.
    context = playwright_browser.new_context(java_script_enabled=False)
    try:
        plain = context.new_page()
        sign_in(plain, live, "mia@acme.test")
        plain.wait_for_url(f"{live}/reach")
        plain.goto(f"{live}/reach?group=person&{RANGE}&per_page=25&sort=clicks&order=desc")
        with plain.expect_download() as download:
            plain.get_by_role("link", name="Export this report (CSV, all 60 rows)").click()
        again = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
        assert again == rows
        assert plain.locator("#export-progress").is_hidden()
    finally:
        context.close()
