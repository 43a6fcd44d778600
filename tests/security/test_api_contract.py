"""The JSON API says what it does: a valid OpenAPI 3 document, figures typed as documented, and a talking point
that shows each audience only what it needs."""

from __future__ import annotations

import io
import json

from openapi_spec_validator import validate

from tests.connectors.imagefiles import png

TP = {"title": "Launch", "link": "https://acme.test/launch", "text": "We launched!"}


def test_the_openapi_document_is_valid_openapi_3(app, client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises, naming the offending part, on anything OpenAPI 3 does not allow
    assert '"formData"' not in json.dumps(spec)
    upload = spec["paths"]["/api/talking-points/{tp_id}/image"]["put"]["requestBody"]["content"]
    assert list(upload) == ["multipart/form-data"]
    schema = upload["multipart/form-data"]["schema"]
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert schema["properties"]["image"]["format"] == "binary" and "image_alt" in schema["properties"]


def test_an_image_upload_as_documented_works(app, browser_factory, make_user):
    make_user("chris@acme.test", "comms")
    chris = browser_factory("chris@acme.test")
    tp_id = chris.api("POST", "/api/talking-points", TP).get_json()["id"]
    body = {"image": (io.BytesIO(png(8, 8)), "launch.png"), "image_alt": "Our launch banner"}
    answer = chris.client.put(f"/api/talking-points/{tp_id}/image", data=body, content_type="multipart/form-data",
                              headers={"X-CSRFToken": chris.token})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["image"]["alt"] == "Our launch banner"
    no_alt = chris.client.put(f"/api/talking-points/{tp_id}/image", content_type="multipart/form-data",
                              data={"image": (io.BytesIO(png(8, 8)), "x.png")}, headers={"X-CSRFToken": chris.token})
    assert no_alt.status_code == 422 and "image_alt" in json.dumps(no_alt.get_json())
    no_file = chris.client.put(f"/api/talking-points/{tp_id}/image", content_type="multipart/form-data",
                               data={"image_alt": "x"}, headers={"X-CSRFToken": chris.token})
    assert no_file.status_code == 422 and no_file.get_json()["errors"]["files"] == {
        "image": ["Missing data for required field."]}


def test_emv_figures_are_numbers_as_documented(app, browser_factory, make_user):
    make_user("mia@acme.test", "analyst")
    mia = browser_factory("mia@acme.test")
    report = mia.api("GET", "/api/reach/report?group=team&from=2026-01-01&to=2026-06-30")
    assert report.status_code == 200, report.get_data(as_text=True)[:300]
    total = report.get_json()["total"]
    for name in ("emv_measured", "emv_estimated"):
        assert isinstance(total[name], int | float) and not isinstance(total[name], bool), (name, total[name])


def test_an_employee_reads_a_talking_point_without_review_comments_or_targeting(app, browser_factory, make_user):
    make_user("chris@acme.test", "comms")
    make_user("rita@acme.test", "comms")
    emma = make_user("emma@acme.test")
    chris, rita = browser_factory("chris@acme.test"), browser_factory("rita@acme.test")
    created = chris.api("POST", "/api/talking-points", TP | {"target_everyone": False, "user_ids": [emma.id]})
    assert created.status_code == 201, created.get_json()
    tp_id = created.get_json()["id"]
    assert chris.api("POST", f"/api/talking-points/{tp_id}/comments",
                     {"body": "Legal says hold the numbers until Tuesday"}).status_code == 201
    assert chris.api("POST", f"/api/talking-points/{tp_id}/submit").status_code == 200
    assert rita.api("POST", f"/api/talking-points/{tp_id}/approve").status_code == 200

    seen = browser_factory("emma@acme.test").get(f"/api/talking-points/{tp_id}")
    assert seen.status_code == 200
    body = seen.get_json()
    assert body["title"] == "Launch" and body["variants"]
    assert not {"comments", "team_ids", "user_ids"} & set(body), sorted(body)
    assert "Legal says" not in seen.get_data(as_text=True)

    full = chris.get(f"/api/talking-points/{tp_id}").get_json()
    assert full["user_ids"] == [emma.id] and full["comments"][0]["body"].startswith("Legal says")
