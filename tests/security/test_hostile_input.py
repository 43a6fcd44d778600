"""Hostile input through every write path: a clear 4xx or stored safely; never a 500; nothing stored is lost."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from advocacy.content.models import TalkingPoint
from advocacy.extensions import db
from advocacy.security import json_depth

HOSTILE = {
    "rtl override": "Acme \u202egnp.exe\u202c rocks",
    "zero-width joiners": "👩\u200d👩\u200d👧\u200d👦 family \u200b\u200c\u200d",
    "combining marks": "Z\u0351\u0308\u0301a\u0336l\u035bg\u0327o",
    "script": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "nul": "before\x00after",
    "lone surrogate": "broken \ud800 text",
    "megabyte": "a" * 1_000_000,
}
FIELDS = ("title", "link", "text", "hashtags", "disclosure", "name", "role", "network", "talking_point_id",
          "scheduled_at", "comment", "reason", "body", "kind", "description", "email", "password", "version",
          "q", "start", "end", "value", "pattern", "severity")


@pytest.fixture()
def comms(browser_factory, make_user):
    make_user("chris@acme.test", "comms")
    make_user("ada@acme.test", "admin")
    return browser_factory("ada@acme.test")


def write_routes(app):
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & {"POST", "PUT", "PATCH"}
        if not methods or rule.endpoint == "static" or rule.rule in {"/logout", "/login"}:
            continue
        path = rule.rule.replace("<int:", "<").split("<")[0].rstrip("/") or "/"
        if "<" in rule.rule:
            path = rule.rule
            for part in rule.arguments:
                path = path.replace(f"<int:{part}>", "999999").replace(f"<{part}>", "x").replace(f"<path:{part}>", "x")
        for method in sorted(methods):
            yield method, path


def test_json_depth_is_measured_without_parsing():
    assert json_depth("[" * 100_000 + "]" * 100_000) == 100_000
    assert json_depth(json.dumps({"a": "[[[[", "b": ["\\\"{"]})) == 2


def test_every_write_path_survives_hostile_input(app, comms, make_user):
    from tests.e2e.test_employee_journey import approved_talking_point

    kept = approved_talking_point(make_user)
    before = (kept.id, kept.title, kept.link, kept.status)
    failures = []
    for method, path in write_routes(app):
        for label, text in HOSTILE.items():
            fields = {field: text for field in FIELDS} if label != "megabyte" else {"title": "t", "text": text}
            form = {**fields, "csrf_token": comms.token}
            # as a browser would send it: a lone surrogate becomes invalid UTF-8 bytes on the wire
            raw = urlencode(form, encoding="utf-8", errors="surrogatepass")
            answer = comms.client.open(path, method=method, data=raw,
                                       content_type="application/x-www-form-urlencoded")
            if answer.status_code >= 500:
                failures.append(f"{method} {path} form {label}: {answer.status_code}")
            if path.startswith("/api/"):
                answer = comms.api(method, path, fields)
                if answer.status_code >= 500:
                    failures.append(f"{method} {path} json {label}: {answer.status_code}")
        if path.startswith("/api/"):
            deep = "[" * 50_000 + "]" * 50_000
            answer = comms.client.open(path, method=method, data=deep, content_type="application/json",
                                       headers={"X-CSRFToken": comms.token})
            if answer.status_code != 422:
                failures.append(f"{method} {path} deeply nested JSON: {answer.status_code}")
    assert failures == [], "\n".join(failures)
    db.session.expire_all()
    again = db.session.get(TalkingPoint, kept.id)
    assert (again.id, again.title, again.link, again.status) == before


def test_nul_and_surrogates_are_refused_naming_the_field(app, comms):
    answer = comms.api("POST", "/api/talking-points", {"title": "ok\x00", "link": "https://acme.test", "text": "hi"})
    assert answer.status_code == 422 and answer.get_json()["errors"]["json"] == {"title": ["contains a NUL character"]}
    raw = '{"title": "ok", "link": "https://acme.test", "text": "broken \\ud800"}'
    answer = comms.client.open("/api/talking-points", method="POST", data=raw, content_type="application/json",
                               headers={"X-CSRFToken": comms.token})
    assert answer.status_code == 422 and "text" in answer.get_json()["errors"]["json"]
    page = comms.post("/studio/", {"title": "a\x00b", "link": "https://acme.test", "text": "hi"})
    assert page.status_code == 422 and "title contains a NUL character" in page.get_data(as_text=True)
    assert comms.api("GET", "/api/talking-points").get_json() == []


def test_hostile_text_is_shown_escaped(app, comms):
    created = comms.api("POST", "/api/talking-points", {"title": HOSTILE["script"], "link": "https://acme.test",
                                                         "text": HOSTILE["rtl override"]})
    assert created.status_code == 201, created.get_json()
    page = comms.get(f"/studio/{created.get_json()['id']}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\u202e" in page  # stored and shown as typed, inside escaped markup


def test_a_body_over_the_limit_is_refused(app, comms):
    huge = "a" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    answer = comms.client.open("/studio/", method="POST", data={"title": huge, "csrf_token": comms.token})
    assert answer.status_code == 413


def test_a_number_the_database_cannot_hold_is_a_422_not_a_500(settings):
    """The safety net under the schemas' own bounds, on a route that forgot to bound its number."""
    from flask import request as flask_request
    from sqlalchemy import text

    from advocacy import create_app

    app = create_app(settings)

    @app.post("/api/_probe")
    def probe():
        db.session.execute(text("INSERT INTO teams (name) VALUES ('probe-1')"))
        db.session.execute(text("INSERT INTO teams (id, name) VALUES (:n, 'probe-2')"),
                           {"n": int(flask_request.json["n"])})
        return {"ok": True}

    app.view_functions["probe"].allowed_roles = ("public",)
    with app.app_context():
        app.config["WTF_CSRF_ENABLED"] = False
        answer = app.test_client().post("/api/_probe", json={"n": 2**80})
        assert answer.status_code == 422 and "out of range" in answer.get_json()["message"]
        assert db.session.execute(text("SELECT count(*) FROM teams WHERE name LIKE 'probe-%'")).scalar() == 0


def test_a_form_part_with_an_unreadable_name_is_refused_not_a_500(app, comms):
    """Found by the API fuzz test: a raw line break in a multipart part's name leaves werkzeug with no name."""
    from werkzeug.test import encode_multipart

    boundary, body = encode_multipart({"bad\nname": "x", "image_alt": "a chart"})
    tp = comms.api("POST", "/api/talking-points", {"title": "t", "link": "https://acme.test", "text": "hi"})
    answer = comms.client.open(f"/api/talking-points/{tp.get_json()['id']}/image", method="PUT", data=body,
                               content_type=f"multipart/form-data; boundary={boundary}",
                               headers={"X-CSRFToken": comms.token})
    assert answer.status_code == 422
    assert answer.get_json()["errors"]["json"] == {"field name": ["is not readable (a form part's name holds a line "
                                                                  "break)"]}
    page = comms.client.open("/studio/", method="POST", data=body,
                             content_type=f"multipart/form-data; boundary={boundary}")
    assert page.status_code == 422 and "field name is not readable" in page.get_data(as_text=True)
