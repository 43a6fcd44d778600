"""The JSON API: the OpenAPI document, 422s naming the field, roles, and the loop over JSON."""

from __future__ import annotations

from tests.conftest import connect_x, run_jobs


def test_openapi_document_lists_the_api(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/talking-points", "/api/talking-points/{tp_id}/approve", "/api/shares",
                 "/api/reach/talking-points"):
        assert path in spec["paths"], path


def test_validation_errors_are_422_and_name_each_field(app, browser_factory, make_user):
    make_user("comms@acme.test", "comms")
    comms = browser_factory("comms@acme.test")
    bad = comms.api("POST", "/api/talking-points", {"title": "", "link": "javascript:alert(1)", "text": 5})
    assert bad.status_code == 422
    fields = bad.get_json()["errors"]["json"]
    assert set(fields) == {"title", "link", "text"}
    assert comms.api("GET", "/api/talking-points").get_json() == []  # nothing stored


def test_the_loop_over_json(app, sandbox, browser_factory, make_user, policy):
    make_user("author@acme.test", "comms")
    make_user("reviewer@acme.test", "comms")
    make_user("emma@acme.test")
    author, reviewer = browser_factory("author@acme.test"), browser_factory("reviewer@acme.test")
    tp = author.api("POST", "/api/talking-points", {"title": "Launch", "link": "https://acme.test/launch",
                                                     "text": "We launched!", "disclosure": "#iworkforacme"})
    assert tp.status_code == 201, tp.get_json()
    tp_id = tp.get_json()["id"]
    assert author.api("POST", f"/api/talking-points/{tp_id}/submit").status_code == 200
    own = author.api("POST", f"/api/talking-points/{tp_id}/approve")
    assert own.status_code == 403 and "four eyes" in own.get_json()["message"]
    approved = reviewer.api("POST", f"/api/talking-points/{tp_id}/approve")
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"

    emma = browser_factory("emma@acme.test")
    assert emma.api("GET", "/api/talking-points").status_code == 403  # employees do not manage content
    early = emma.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"})
    assert early.status_code == 403 and "opt in" in early.get_json()["message"]
    emma.post("/policy/acknowledge", {"version": 1})
    emma.post("/opt-in")
    unconnected = emma.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"})
    assert unconnected.status_code == 422 and "network" in unconnected.get_json()["errors"]["json"]
    connect_x(emma, "emma")
    bad = emma.api("POST", "/api/shares", {"talking_point_id": "one", "network": "myspace",
                                           "scheduled_at": "tomorrow"})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]["json"]) == {"talking_point_id", "network", "scheduled_at"}
    share = emma.api("POST", "/api/shares", {"talking_point_id": tp_id, "network": "x"})
    assert share.status_code == 201 and share.get_json()["status"] == "queued"
    run_jobs(app)
    done = emma.api("GET", f"/api/shares/{share.get_json()['id']}").get_json()
    assert done["status"] == "published" and done["post_url"].startswith(sandbox["x"])


def test_anonymous_api_calls_get_401_json(client):
    answer = client.get("/api/shares")
    assert answer.status_code == 401 and answer.get_json()["code"] == 401


def test_html_pages_keep_html_errors(browser_factory, make_user):
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    page = emma.get("/studio/")
    assert page.status_code == 403 and page.mimetype == "text/html"
    assert emma.get("/shares/999").status_code == 404
