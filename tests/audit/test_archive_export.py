"""The archive export for compliance archivers: every post in a date range with its approver, screening findings at
approval, network post id and exact text, as JSON Lines and as one RFC 5322 message per post, streamed."""

from __future__ import annotations

import datetime as dt
import gc
import json
import mailbox
import tracemalloc
from email import message_from_binary_file
from email.policy import default
from email.utils import parsedate_to_datetime
from typing import Any

from sqlalchemy import insert, select

from advocacy.content.models import PostDeletion, TalkingPoint
from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.people.models import User
from tests.conftest import run_jobs
from tests.delivery.support import Sandbox, approved, employee


def _published(app: Any, sandbox: dict[str, str], browser_factory: Any) -> tuple[Any, list[dict[str, Any]]]:
    tp = approved("We are hiring", "Come build the platform with us. Reply to the thread!")
    version = tp.version
    employee("emma@acme.test", "emma_acme")
    emma = browser_factory("emma@acme.test")
    first = emma.api("POST", "/api/shares", {"talking_point_id": tp.id, "network": "x"}).get_json()
    second_tp = approved("Our results")
    second = emma.api("POST", "/api/shares", {"talking_point_id": second_tp.id, "network": "x",
                                              "text": "Proud of this team."}).get_json()
    run_jobs(app)
    shares = [db.session.get(Share, s["id"]) for s in (first, second)]
    assert [s.status for s in shares] == ["published", "published"]
    emma_user = db.session.scalar(select(User).where(User.email == "emma@acme.test"))
    db.session.add(PostDeletion(share_id=shares[1].id, deleted_by_id=emma_user.id))  # recalled since
    db.session.commit()
    return version, [{"id": s.id, "post_id": s.post_id, "post_url": s.post_url, "code": s.code} for s in shares]


def test_jsonl_export_has_each_post_with_its_approver_findings_and_exact_text(app, sandbox, policy, make_user,
                                                                             browser_factory):
    tp_version, shares = _published(app, sandbox, browser_factory)
    make_user("ada@acme.test", "admin")
    ada = browser_factory("ada@acme.test")
    answer = ada.get("/api/archive/export?format=jsonl", buffered=True)
    assert answer.status_code == 200 and answer.mimetype == "application/x-ndjson"
    rows = [json.loads(line) for line in answer.get_data(as_text=True).splitlines()]
    assert [r["share_id"] for r in rows] == [s["id"] for s in shares]
    first, second = rows
    posted = {p["text"] for p in Sandbox(sandbox["x"]).posts()}
    assert first["text"] in posted and second["text"] in posted  # exactly what the network received
    assert f"/r/{shares[0]['code']}" in first["text"] and first["tracked_link"] in first["text"]
    assert second["text"].startswith("Proud of this team.")
    assert (first["network"], first["account_handle"], first["post_id"], first["post_url"]) == \
        ("x", "emma_acme", shares[0]["post_id"], shares[0]["post_url"])
    assert first["approval"]["approver"] == "reviewer@acme.test" and first["approval"]["version"] == tp_version
    assert first["approval"]["screening_findings"] is not None  # recorded at approval (a list, maybe empty)
    assert first["deleted"] is False and second["deleted"] is True and second["deleted_by"] == "emma@acme.test"

    today = dt.datetime.now(dt.UTC).date()
    none = ada.get(f"/api/archive/export?from={today + dt.timedelta(days=1)}", buffered=True)
    assert none.status_code == 200 and none.get_data() == b""
    inside = ada.get(f"/api/archive/export?from={today}&to={today}", buffered=True).get_data(as_text=True)
    assert len(inside.splitlines()) == 2


def test_each_post_names_the_approval_it_was_shared_under_with_its_findings(app, sandbox, policy, make_user,
                                                                            browser_factory):
    """A warning screening raised at approval is in the archive with it; a later edit approved by someone else does
    not rewrite who approved what an earlier post was made from."""
    from advocacy.content import workflow

    tp_id = approved("Talk to us", "Questions? Write to jobs@acme.test and we answer within a day.").id
    employee("emma@acme.test", "emma_acme")
    employee("olga@acme.test", "olga_acme")
    emma, olga = browser_factory("emma@acme.test"), browser_factory("olga@acme.test")
    before = emma.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"}).get_json()
    run_jobs(app)
    tp = db.session.get(TalkingPoint, tp_id)
    author = db.session.scalar(select(User).where(User.email == "author@acme.test"))
    second = make_user("second@acme.test", "comms")
    workflow.update_talking_point(tp, author, text="Questions? Our recruiters answer within a day.")  # to review
    workflow.approve(tp, second)
    after = olga.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"}).get_json()
    run_jobs(app)

    make_user("ada@acme.test", "admin")
    rows = {json.loads(line)["share_id"]: json.loads(line) for line in browser_factory("ada@acme.test").get(
        "/api/archive/export", buffered=True).get_data(as_text=True).splitlines()}
    first, later = rows[before["id"]]["approval"], rows[after["id"]]["approval"]
    assert first["approver"] == "reviewer@acme.test" and later["approver"] == "second@acme.test"
    assert first["version"] < later["version"]
    assert [(f["rule"], f["action"], f["excerpt"]) for f in first["screening_findings"]] == \
        [("email", "warn", "jobs@acme.test")]
    assert later["screening_findings"] == []  # the approved edit had nothing to warn about
    assert "jobs@acme.test" in rows[before["id"]]["text"] and "jobs@" not in rows[after["id"]]["text"]


def _messages(data: bytes, tmp_path: Any) -> list[Any]:
    """The mbox's messages, read back with the standard library's own mbox reader and e-mail parser."""
    path = tmp_path / "archive.mbox"
    path.write_bytes(data)
    box = mailbox.mbox(str(path), factory=lambda f: message_from_binary_file(f, policy=default), create=False)
    try:
        return list(box)
    finally:
        box.close()


def test_eml_export_is_one_rfc5322_message_per_post(app, sandbox, policy, make_user, browser_factory, tmp_path):
    _tp, shares = _published(app, sandbox, browser_factory)
    make_user("chris@acme.test", "comms")
    chris = browser_factory("chris@acme.test")
    answer = chris.get("/api/archive/export?format=eml", buffered=True)
    assert answer.status_code == 200 and answer.mimetype == "application/mbox"
    messages = {int(m["X-Advocacy-Share-Id"]): m for m in _messages(answer.get_data(), tmp_path)}
    assert sorted(messages) == sorted(s["id"] for s in shares)
    first = messages[shares[0]["id"]]
    assert first.defects == [] and first["From"].addresses[0].addr_spec == "emma@acme.test"
    assert first["Subject"] == "We are hiring (X)"
    assert first["Message-ID"] == f"<share-{shares[0]['id']}@advocacy.test>"
    assert first["X-Advocacy-Network"] == "x" and first["X-Advocacy-Post-Id"] == shares[0]["post_id"]
    assert first["X-Advocacy-Post-URL"] == shares[0]["post_url"]
    assert first["X-Advocacy-Account"] == "emma_acme"
    assert "reviewer@acme.test" in first["X-Advocacy-Approver"]
    share = db.session.get(Share, shares[0]["id"])
    assert parsedate_to_datetime(first["Date"]) == share.published_at.replace(microsecond=0)
    body = first.get_body(preferencelist=("plain",)).get_content()
    assert f"/r/{shares[0]['code']}" in body
    assert body.rstrip("\r\n") in {p["text"] for p in Sandbox(sandbox["x"]).posts()}
    attached = [p for p in first.iter_attachments() if p.get_content_type() == "application/json"]
    assert json.loads(attached[0].get_content())["approval"]["approver"] == "reviewer@acme.test"
    assert messages[shares[1]["id"]]["X-Advocacy-Deleted-At"]  # a recalled post is marked
    again = _messages(chris.get("/api/archive/export?format=eml", buffered=True).get_data(), tmp_path)
    assert first["Message-ID"] in {m["Message-ID"] for m in again}  # stable: the same post, the same message


def test_a_post_line_starting_with_from_survives_the_mbox(app, tmp_path):
    from advocacy.audit import archive_export

    row = {"share_id": 7, "talking_point_id": 1, "talking_point_title": "T", "user_id": 1, "user": "a@acme.test",
           "user_name": "A", "network": "mastodon", "account_handle": "@a@social.test", "post_id": "1",
           "post_url": "https://social.test/@a/1", "published_at": "2026-03-01T10:00:00+00:00",
           "text": "First line\nFrom here on, news.\nhttps://advocacy.test/r/abc", "copy": "", "tracked_link": "",
           "link_in": "text", "destination": "", "deleted": False, "deleted_at": None, "deleted_by": None,
           "approval": {"approver": None, "approver_name": None, "approved_at": None, "version": None,
                        "screening_findings": None}}
    data = b"".join(archive_export.mbox(iter([row, {**row, "share_id": 8}])))
    found = _messages(data, tmp_path)
    assert len(found) == 2  # the body's "From here on" did not start a third message
    assert "From here on" in found[0].get_body(preferencelist=("plain",)).get_content()


def test_bad_dates_and_lower_roles_are_refused(app, make_user, browser_factory, client):
    make_user("ada@acme.test", "admin")
    make_user("ana@acme.test", "analyst")
    make_user("emma@acme.test")
    ada = browser_factory("ada@acme.test")
    bad = ada.get("/api/archive/export?from=last-week&format=eml")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]["query"]) == {"from"}
    reversed_range = ada.get("/api/archive/export?from=2026-05-02&to=2026-05-01")
    assert reversed_range.status_code == 422 and set(reversed_range.get_json()["errors"]["query"]) == {"to"}
    wrong = ada.get("/api/archive/export?format=pdf")
    assert wrong.status_code == 422 and set(wrong.get_json()["errors"]["query"]) == {"format"}
    for who in ("ana@acme.test", "emma@acme.test"):
        assert browser_factory(who).get("/api/archive/export").status_code == 403
    assert client.get("/api/archive/export").status_code == 401
    page = ada.get("/admin/audit/").get_data(as_text=True)
    assert 'action="/api/archive/export"' in page and 'value="eml"' in page  # the page's export button


def _many(n: int) -> None:
    """``n`` published shares, inserted in bulk (the export's cost, not the publishing's, is under test)."""
    tp = approved()
    emma = employee("emma@acme.test")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    db.session.execute(insert(Share), [
        {"talking_point_id": tp.id, "user_id": emma.id, "account_id": None, "network": "x",
         "text": f"Post number {i} " + "words " * 40, "code": f"c{i:07d}", "status": "published",
         "scheduled_at": start, "published_at": start + dt.timedelta(minutes=i), "post_id": str(10**9 + i),
         "post_url": f"https://x.test/emma/status/{10**9 + i}", "link": "https://acme.test/jobs"}
        for i in range(n)])
    db.session.commit()


def test_the_export_streams_a_large_archive(app, policy):
    from advocacy.audit import archive_export

    _many(2000)
    records = archive_export.records()
    chunks = archive_export.jsonl(records)
    first = next(chunks)
    assert 0 < first.count(b"\n") < 2000  # the first chunk is out before the rows are all read
    assert records.gi_frame is not None  # …and the rows' generator is still running
    rest = b"".join(chunks)
    assert (first + rest).count(b"\n") == 2000

    # memory held while the export runs, measured every 500 posts (garbage collected first): it stays flat while
    # the output grows, so the archive is never in memory, only the page of rows under way
    size, held = 0, []
    tracemalloc.start()
    try:
        for i, chunk in enumerate(archive_export.mbox(archive_export.records()), 1):
            size += len(chunk)
            if i % 10 == 0:  # a chunk per 50 messages
                gc.collect()
                held.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert size > 3_000_000 and len(held) >= 3
    assert max(held) - held[0] < 500_000, (size, held)


def test_the_first_bytes_leave_before_the_archive_is_read(app, policy, make_user, browser_factory):
    import contextvars

    _many(1200)
    make_user("ada@acme.test", "admin")
    ada = browser_factory("ada@acme.test")

    def download() -> tuple[int, int]:
        answer = ada.client._client.get("/api/archive/export?format=jsonl")  # not buffered: the body is an iterator
        assert answer.status_code == 200 and answer.is_streamed
        body = iter(answer.response)
        first = next(body).count(b"\n")
        total = first + sum(c.count(b"\n") for c in body)
        answer.close()
        return first, total

    first, total = contextvars.Context().run(download)  # one request's context, as a server would run it
    assert 0 < first < 1200 and total == 1200
