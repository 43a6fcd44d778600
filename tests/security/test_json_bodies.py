"""The hostile-input guard covers every JSON body, whatever its Content-Type: NUL characters and unpaired surrogates
are refused naming the field, absurd nesting is refused before parsing, and nothing is stored."""

from __future__ import annotations

import json

import pytest
from flask import request
from sqlalchemy import select

from advocacy.content.models import TalkingPoint
from advocacy.extensions import db
from advocacy.security import HostileInput

TP = {"title": "Launch", "link": "https://acme.test/launch", "text": "We launched!"}
JSON_TYPES = ("application/json", "application/vnd.api+json", "application/merge-patch+json",
              "application/problem+json; charset=utf-8")


@pytest.fixture()
def comms(browser_factory, make_user):
    make_user("chris@acme.test", "comms")
    return browser_factory("chris@acme.test")


def send(browser, method: str, path: str, body: str, content_type: str):
    return browser.client.open(path, method=method, data=body.encode("utf-8", "surrogatepass"),
                               content_type=content_type, headers={"X-CSRFToken": browser.token})


def titles() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(TalkingPoint.title)))


@pytest.mark.parametrize("content_type", JSON_TYPES)
def test_a_nul_in_any_json_body_is_refused_naming_the_field_and_nothing_is_stored(app, comms, content_type):
    answer = send(comms, "POST", "/api/talking-points", json.dumps(TP | {"title": "Launch\x00now"}), content_type)
    assert answer.status_code == 422, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["errors"]["json"] == {"title": ["contains a NUL character"]}
    assert titles() == []


@pytest.mark.parametrize("content_type", JSON_TYPES[1:])
def test_a_lone_surrogate_and_deep_nesting_get_a_clear_422_not_a_500(app, comms, content_type):
    created = comms.api("POST", "/api/talking-points", TP)
    assert created.status_code == 201
    tp_id = created.get_json()["id"]
    surrogate = send(comms, "PATCH", f"/api/talking-points/{tp_id}", '{"text": "broken \\ud800 text"}', content_type)
    assert surrogate.status_code == 422, surrogate.get_data(as_text=True)[:300]
    assert "surrogate" in surrogate.get_json()["errors"]["json"]["text"][0]
    deep = send(comms, "POST", "/api/talking-points", "[" * 5000 + "]" * 5000, content_type)
    assert deep.status_code == 422 and "nested deeper" in deep.get_json()["message"]
    nested = send(comms, "PATCH", f"/api/talking-points/{tp_id}",
                  json.dumps({"text": "x", "topics": [[[{"a": "\x00"}]]]}), content_type)
    assert nested.status_code == 422 and nested.get_json()["errors"]["json"] == {
        "topics[0][0][0].a": ["contains a NUL character"]}
    assert titles() == ["Launch"]
    assert comms.get(f"/api/talking-points/{tp_id}").get_json()["variants"][0]["text"] == "We launched!"


def test_a_body_parsed_as_json_under_any_content_type_goes_through_the_guard(app):
    """What a view reads with ``request.get_json(force=True)`` (a wrong Content-Type) is checked where it is parsed."""
    for body, field in (('{"a": {"b": "x\\u0000y"}}', "a.b"), ('["ok", "\\udc00"]', "[1]"),
                        ("[" * 5000 + "]" * 5000, "body")):
        with app.test_request_context("/api/anything", method="POST", data=body, content_type="text/plain"):
            with pytest.raises(HostileInput) as refused:
                request.get_json(force=True)
            assert refused.value.field == field
    with app.test_request_context("/api/anything", method="POST", data='{"fine": ["yes"]}', content_type="text/plain"):
        assert request.get_json(force=True) == {"fine": ["yes"]}


def test_a_view_parsing_a_wrongly_typed_body_answers_422_naming_the_field(app, client):
    def probe():
        return {"got": request.get_json(force=True)}

    app.add_url_rule("/api/_probe", "probe", probe, methods=["POST"])  # a handler that parses whatever it is sent
    app.config["WTF_CSRF_ENABLED"] = False
    refused = client.post("/api/_probe", data='{"note": "a\\u0000b"}', content_type="text/plain")
    assert refused.status_code == 422 and refused.get_json()["errors"]["json"] == {"note": ["contains a NUL character"]}
    deep = client.post("/api/_probe", data="[" * 5000 + "]" * 5000, content_type="text/plain")
    assert deep.status_code == 422
    assert client.post("/api/_probe", data='{"note": "fine"}', content_type="text/plain").get_json() == {
        "got": {"note": "fine"}}
