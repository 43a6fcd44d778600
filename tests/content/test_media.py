"""Images on talking points: stored behind the media store, checked, served; bad files are refused by name."""

from __future__ import annotations

import io

from sqlalchemy import select

from advocacy.content.models import Media, TalkingPoint
from advocacy.extensions import db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TP = {"title": "Launch", "link": "https://acme.example/launch", "text": "We launched!", "disclosure": "#iworkforacme"}


def test_upload_over_the_api_and_the_web_and_serve_it(app, make_user, browser_factory):
    make_user("author@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    author, reviewer = browser_factory("author@acme.test"), browser_factory("reviewer@acme.test")
    tp_id = author.api("POST", "/api/talking-points", TP).get_json()["id"]
    author.api("POST", f"/api/talking-points/{tp_id}/submit")
    reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    answer = author.client.post(f"/api/talking-points/{tp_id}/media", headers={"X-CSRFToken": author.token},
                                data={"file": (io.BytesIO(PNG), "../../etc/launch.png"), "alt_text": "Our logo"},
                                content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["content_type"] == "image/png" and answer.get_json()["alt_text"] == "Our logo"
    tp = db.session.get(TalkingPoint, tp_id)
    db.session.refresh(tp)
    assert tp.status == "in_review" and tp.version == 2  # a new image is a change: back to review
    media = db.session.scalars(select(Media)).one()
    assert "/" not in media.key
    served = reviewer.get(f"/studio/media/{media.id}")
    assert served.status_code == 200 and served.data == PNG and served.mimetype == "image/png"
    page = author.post(f"/studio/{tp_id}/media", {"file": (io.BytesIO(PNG), "two.png"), "alt_text": "Two"},
                       content_type="multipart/form-data")
    assert page.status_code == 302
    assert len(db.session.scalars(select(Media)).all()) == 2


def test_bad_files_are_refused_naming_the_field(app, make_user, browser_factory, settings):
    make_user("author@acme.test", "comms")
    author = browser_factory("author@acme.test")
    tp_id = author.api("POST", "/api/talking-points", TP).get_json()["id"]

    def upload(data: bytes, **form):
        return author.client.post(f"/api/talking-points/{tp_id}/media", headers={"X-CSRFToken": author.token},
                                  data={"file": (io.BytesIO(data), "x.png"), **form},
                                  content_type="multipart/form-data")

    html = upload(b"<html><script>alert(1)</script></html>")
    assert html.status_code == 422 and "file" in html.get_json()["errors"]["json"]
    assert upload(b"").status_code == 422
    assert upload(PNG + b"\x00" * 5_000_001).status_code == 422
    long_alt = upload(PNG, alt_text="a" * 1001)
    assert long_alt.status_code == 422 and "alt_text" in long_alt.get_json()["errors"]["form"]
    missing = author.client.post(f"/api/talking-points/{tp_id}/media", headers={"X-CSRFToken": author.token},
                                 data={}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "file" in missing.get_json()["errors"]["files"]
    web = author.post(f"/studio/{tp_id}/media", {"file": (io.BytesIO(b"GIF00"), "x.gif")},
                      content_type="multipart/form-data")
    assert web.status_code == 422 and "not a PNG, JPEG, GIF or WebP image" in web.get_data(as_text=True)
    assert db.session.scalars(select(Media)).all() == []
    assert db.session.get(TalkingPoint, tp_id).version == 1
