"""The Mastodon sandbox held against the Mastodon OpenAPI spec (``../shared/specs/mastodon-openapi.json``).

Two kinds of check: our request schemas (``sandbox/schemas/mastodon.py``) agree with the spec's request
bodies field by field, and live sandbox answers validate against the spec's response schemas (OpenAPI 3.1, so JSON
Schema 2020-12; ``$ref`` into ``components`` followed) and carry no field the spec does not declare. The spec is read
where it lies beside the project, never copied in; without it every test here is skipped with the reason.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from connectors.base import Token
from sandbox import mastodon as sandbox_mastodon
from sandbox.schemas.mastodon import (
    ACCOUNT_STATUSES_PARAMS,
    APP_CREATE_REQUEST,
    DEFAULT_STATUSES_LIMIT,
    MAX_STATUSES_LIMIT,
    MEDIA_CREATE_REQUEST,
    STATUS_CREATE_REQUEST,
    TOKEN_REQUEST,
    VISIBILITIES,
)

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO.parent / "shared" / "specs" / "mastodon-openapi.json"
SKIP_REASON = (
    "../shared/specs/mastodon-openapi.json not beside the project (fresh clone): "
    "conformance against the Mastodon OpenAPI spec skipped"
)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(SKIP_REASON)
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


# --------------------------------------------------------------------------------------------- spec plumbing
def resolve(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` until a schema with content (sibling keywords of a 3.1 ``$ref`` are kept)."""
    schema = dict(schema)
    for _ in range(50):
        if "$ref" not in schema:
            return schema
        node: Any = spec
        for part in schema.pop("$ref").removeprefix("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k not in ("description",)}}
    raise AssertionError("reference loop")


def validator(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> jsonschema.Draft202012Validator:
    root = {"components": spec["components"], **copy.deepcopy(dict(schema))}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def declared(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    schema = resolve(spec, schema)
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props |= declared(spec, part)
    return props


def strict_problems(
    spec: Mapping[str, Any], instance: Any, schema: Mapping[str, Any], where: str = "$"
) -> Iterator[str]:
    """Every field of ``instance`` the spec does not declare, following objects, arrays and nullable oneOfs."""
    schema = resolve(spec, schema)
    choices = [resolve(spec, c) for c in schema.get("oneOf", []) + schema.get("anyOf", [])]
    if choices:
        if instance is None:
            return
        objects = [c for c in choices if c.get("type") not in ("null", ["null"])]
        for choice in objects[:1]:  # the first non-null alternative: a status, a card …
            yield from strict_problems(spec, instance, choice, where)
        return
    if isinstance(instance, dict):
        props = declared(spec, schema)
        for key, value in instance.items():
            if key not in props:
                if not schema.get("additionalProperties"):
                    yield f"{where}.{key}: not declared in the spec"
                continue
            yield from strict_problems(spec, value, props[key], f"{where}.{key}")
    elif isinstance(instance, list) and "items" in schema:
        for i, item in enumerate(instance):
            yield from strict_problems(spec, item, schema["items"], f"{where}[{i}]")


def check_answer(
    spec: Mapping[str, Any],
    method: str,
    path: str,
    response: requests.Response,
    schema: Mapping[str, Any] | None = None,
) -> Any:
    """Validate a live answer against what the spec says ``method path`` answers with that status."""
    entry = spec["paths"][path][method.lower()]["responses"].get(str(response.status_code))
    assert entry is not None, f"{method} {path} has no {response.status_code} answer in the spec"
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    assert content_type in entry["content"], f"{content_type} not among {sorted(entry['content'])}"
    schema = schema or entry["content"][content_type]["schema"]
    body = response.json()
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(spec, schema).iter_errors(body)]
    errors += list(strict_problems(spec, body, schema))
    assert not errors, f"{method} {path} {response.status_code} drifted from the spec: {errors}\n{body}"
    for name, header in entry.get("headers", {}).items():  # X-RateLimit-Reset: a date-time, and so on
        header_schema = resolve(spec, header)["schema"]
        if name in response.headers and header_schema.get("format") == "date-time":
            dt.datetime.fromisoformat(response.headers[name].replace("Z", "+00:00"))
        elif name in response.headers and header_schema.get("type") == "integer":
            int(response.headers[name])
    return body


def compare(spec: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any], where: str) -> Iterator[str]:
    """Differences between our schema and the spec's, for everything our schema says."""
    theirs = resolve(spec, theirs)
    if ours.get("type") != theirs.get("type"):
        yield f"{where}: type {ours.get('type')} vs spec {theirs.get('type')}"
    if ours.get("format") != theirs.get("format"):
        yield f"{where}: format {ours.get('format')} vs spec {theirs.get('format')}"
    if set(ours.get("enum", [])) != set(theirs.get("enum", [])):
        yield f"{where}: enum {ours.get('enum')} vs spec {theirs.get('enum')}"
    if ours.get("type") == "object" and "properties" in ours:
        mine, spec_props = ours["properties"], declared(spec, theirs)
        if set(mine) != set(spec_props):
            yield (
                f"{where}: properties differ: ours only {sorted(set(mine) - set(spec_props))}, "
                f"spec only {sorted(set(spec_props) - set(mine))}"
            )
        for name in set(mine) & set(spec_props):
            yield from compare(spec, mine[name], spec_props[name], f"{where}.{name}")
    if ours.get("type") == "array" and "items" in ours:
        yield from compare(spec, ours["items"], theirs.get("items", {}), f"{where}[]")


def request_schema(spec: Mapping[str, Any], path: str) -> dict[str, Any]:
    return dict(spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"])


# ------------------------------------------------------------------------------------------ the request schemas
def test_status_request_schema_agrees_with_the_spec(spec: dict[str, Any]) -> None:
    kinds = request_schema(spec, "/api/v1/statuses")["oneOf"]
    assert [k["$ref"].rsplit("/", 1)[-1] for k in kinds] == ["TextStatus", "MediaStatus", "PollStatus"]
    union: dict[str, Any] = {}
    for kind in kinds:
        union |= declared(spec, kind)
    theirs = {"type": "object", "properties": union}
    differences = list(compare(spec, STATUS_CREATE_REQUEST, theirs, "createStatus"))
    assert not differences, differences
    # which field each kind requires: the rule the sandbox applies in code (text unless media; media or poll)
    required = {k["$ref"].rsplit("/", 1)[-1]: resolve(spec, k)["allOf"][1]["required"] for k in kinds}
    assert required == {"TextStatus": ["status"], "MediaStatus": ["media_ids"], "PollStatus": ["poll"]}
    assert set(VISIBILITIES) == set(spec["components"]["schemas"]["StatusVisibilityEnum"]["enum"])


def test_media_request_schema_agrees_with_the_spec(spec: dict[str, Any]) -> None:
    body = spec["paths"]["/api/v2/media"]["post"]["requestBody"]
    assert list(body["content"]) == ["multipart/form-data"] and body["required"] is True
    theirs = body["content"]["multipart/form-data"]["schema"]
    differences = list(compare(spec, MEDIA_CREATE_REQUEST, theirs, "createMediaV2"))
    assert not differences, differences
    assert set(MEDIA_CREATE_REQUEST["required"]) == set(theirs["required"])
    # 200 when processed at once, 202 while processing; the status check answers 206 until done
    assert {"200", "202"} <= set(spec["paths"]["/api/v2/media"]["post"]["responses"])
    assert {"200", "206", "404"} <= set(spec["paths"]["/api/v1/media/{id}"]["get"]["responses"])
    # a status takes media by id: the kind of status that requires them
    media_status = resolve(spec, {"$ref": "#/components/schemas/MediaStatus"})
    assert resolve(spec, declared(spec, media_status)["media_ids"])["items"]["type"] == "string"


def test_idempotency_key_is_a_documented_header(spec: dict[str, Any]) -> None:
    parameters = spec["paths"]["/api/v1/statuses"]["post"]["parameters"]
    assert [p["in"] for p in parameters if p["name"] == "Idempotency-Key"] == ["header"]


def test_account_statuses_parameters_agree_with_the_spec(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/api/v1/accounts/{id}/statuses"]["get"]
    theirs = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
    assert set(ACCOUNT_STATUSES_PARAMS) == set(theirs)
    for name, ours in ACCOUNT_STATUSES_PARAMS.items():
        assert ours["type"] == theirs[name]["schema"]["type"], name
    limit = theirs["limit"]
    assert limit["schema"]["default"] == DEFAULT_STATUSES_LIMIT and f"Max {MAX_STATUSES_LIMIT}" in limit["description"]
    assert "Link" in operation["responses"]["200"]["headers"]  # paging is told in the Link header


def test_app_request_schema_agrees_with_the_spec(spec: dict[str, Any]) -> None:
    theirs = request_schema(spec, "/api/v1/apps")
    differences = list(compare(spec, APP_CREATE_REQUEST, theirs, "createApp"))
    assert not differences, differences
    assert set(APP_CREATE_REQUEST["required"]) == set(theirs["required"])


def test_token_request_schema_agrees_with_the_spec(spec: dict[str, Any]) -> None:
    theirs = request_schema(spec, "/oauth/token")
    differences = list(compare(spec, TOKEN_REQUEST, theirs, "token"))
    assert not differences, differences
    # the spec lists what the authorization_code grant needs; the sandbox insists on each of them for that grant
    assert set(theirs["required"]) == {"client_id", "client_secret", "code", "grant_type", "redirect_uri"}


def test_scopes_and_endpoint_scopes_exist_in_mastodon(spec: dict[str, Any]) -> None:
    assert set(spec["components"]["schemas"]["OAuthScope"]["enum"]) == sandbox_mastodon.SCOPES
    for endpoint, needed in sandbox_mastodon.ENDPOINT_SCOPES.items():
        method, path = endpoint.split(" ")
        security = spec["paths"][path][method.lower()]["security"]
        listed = {scope for entry in security for scope in entry.get("OAuth2", [])}
        assert listed == set(needed), endpoint


# ---------------------------------------------------------------------------------------- live sandbox answers
def call(sandbox: Any, method: str, path: str, token: Token | None, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token.access_token}"} if token else {}
    headers |= kw.pop("headers", {})
    return requests.request(method, f"{sandbox.url}{path}", headers=headers, timeout=5, **kw)


def test_app_registration_answer(spec: dict[str, Any], mastodon_sandbox: Any) -> None:
    answer = requests.post(
        f"{mastodon_sandbox.url}/api/v1/apps",
        timeout=5,
        json={"client_name": "A", "redirect_uris": ["http://a.test/cb"], "scopes": "read write"},
    )
    assert answer.status_code == 200
    body = check_answer(spec, "POST", "/api/v1/apps", answer)
    assert body["scopes"] == ["read", "write"] and body["redirect_uri"] == "http://a.test/cb"
    bad = requests.post(f"{mastodon_sandbox.url}/api/v1/apps", json={"client_name": "A"}, timeout=5)
    assert bad.status_code == 422
    check_answer(spec, "POST", "/api/v1/apps", bad)


def test_token_answer(spec: dict[str, Any], mastodon_sandbox: Any, mastodon_connector: Any) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": mastodon_connector.client_id,
        "client_secret": mastodon_connector.client_secret,
        "scope": "read:accounts",
    }
    answer = requests.post(f"{mastodon_sandbox.url}/oauth/token", data=form, timeout=5)
    assert answer.status_code == 200
    assert check_answer(spec, "POST", "/oauth/token", answer)["token_type"] == "Bearer"
    refused = requests.post(f"{mastodon_sandbox.url}/oauth/token", data=form | {"client_secret": "no"}, timeout=5)
    assert refused.status_code == 401
    assert check_answer(spec, "POST", "/oauth/token", refused)["error"] == "invalid_client"


def test_verify_credentials_answer(spec: dict[str, Any], mastodon_sandbox: Any, mastodon_token: Token) -> None:
    call(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json={"status": "So last_status_at is set"})
    answer = call(mastodon_sandbox, "GET", "/api/v1/accounts/verify_credentials", mastodon_token)
    assert answer.status_code == 200
    body = check_answer(spec, "GET", "/api/v1/accounts/verify_credentials", answer)
    assert body["followers_count"] >= 0 and body["statuses_count"] == 1


def test_status_answers(spec: dict[str, Any], mastodon_sandbox: Any, mastodon_token: Token) -> None:
    status_schema = {"$ref": "#/components/schemas/Status"}  # createStatus answers a Status unless scheduled
    created = call(
        mastodon_sandbox,
        "POST",
        "/api/v1/statuses",
        mastodon_token,
        json={"status": "Conformance https://example.com", "language": "en"},
        headers={"Idempotency-Key": "conformance"},
    )
    assert created.status_code == 200
    body = check_answer(spec, "POST", "/api/v1/statuses", created, status_schema)
    assert body["application"]["name"] == "Advocacy" and body["quotes_count"] == 0
    fetched = call(mastodon_sandbox, "GET", f"/api/v1/statuses/{body['id']}", mastodon_token)
    assert check_answer(spec, "GET", "/api/v1/statuses/{id}", fetched)["id"] == body["id"]
    deleted = call(mastodon_sandbox, "DELETE", f"/api/v1/statuses/{body['id']}", mastodon_token)
    assert check_answer(spec, "DELETE", "/api/v1/statuses/{id}", deleted)["text"] == "Conformance https://example.com"
    gone = call(mastodon_sandbox, "GET", f"/api/v1/statuses/{body['id']}", mastodon_token)
    assert gone.status_code == 404
    assert check_answer(spec, "GET", "/api/v1/statuses/{id}", gone) == {"error": "Record not found"}


def test_error_answers(spec: dict[str, Any], mastodon_sandbox: Any, mastodon_token: Token) -> None:
    unauthorized = call(mastodon_sandbox, "POST", "/api/v1/statuses", None, json={"status": "x"})
    assert unauthorized.status_code == 401
    check_answer(spec, "POST", "/api/v1/statuses", unauthorized)
    invalid = call(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json={"status": ""})
    assert invalid.status_code == 422
    check_answer(spec, "POST", "/api/v1/statuses", invalid)
    mastodon_sandbox.config(rate_limits={"statuses": 0})
    limited = call(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json={"status": "x"})
    assert limited.status_code == 429
    assert check_answer(spec, "POST", "/api/v1/statuses", limited) == {"error": "Too many requests"}
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    mastodon_sandbox.fault(status=503, count=1, path_prefix="/api/v1/statuses")
    unavailable = call(mastodon_sandbox, "GET", "/api/v1/statuses/1", mastodon_token)
    assert unavailable.status_code == 503
    check_answer(spec, "GET", "/api/v1/statuses/{id}", unavailable)


def test_the_checker_catches_drift(spec: dict[str, Any], mastodon_sandbox: Any, mastodon_token: Token) -> None:
    """The checks fail for a renamed count or an invented field (guards against a checker that passes all)."""
    body = call(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json={"status": "Drift"}).json()
    body["likes_count"] = body.pop("favourites_count")
    schema = {"$ref": "#/components/schemas/Status"}
    assert list(validator(spec, schema).iter_errors(body)), "a missing required count went unnoticed"
    assert any("likes_count" in p for p in strict_problems(spec, body, schema))
    body["account"]["followers"] = 3
    assert any("account.followers" in p for p in strict_problems(spec, body, schema))


def png(size: int = 0) -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    padding = chunk(b"tEXt", b"Comment\x00" + b"x" * size) if size else b""
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0)) + padding
            + chunk(b"IDAT", zlib.compress(b"\x00\x1d\x9b\xf0")) + chunk(b"IEND", b""))


def test_media_answers(spec: dict[str, Any], mastodon_sandbox: Any, mastodon_token: Token) -> None:
    def upload(data: bytes, **fields: str) -> requests.Response:
        return call(mastodon_sandbox, "POST", "/api/v2/media", mastodon_token,
                    files={"file": ("a.png", data, "image/png")}, data=fields)

    done = upload(png(), description="A dot", focus="0.1,0.2")
    assert done.status_code == 200
    media_id = check_answer(spec, "POST", "/api/v2/media", done)["id"]

    mastodon_sandbox.config(media_async_over_bytes=0, media_processing_polls=1)
    pending = upload(png())
    assert pending.status_code == 202
    pending_id = check_answer(spec, "POST", "/api/v2/media", pending)["id"]
    processing = call(mastodon_sandbox, "GET", f"/api/v1/media/{pending_id}", mastodon_token)
    assert processing.status_code == 206
    # the spec gives 206 no body; Mastodon sends the attachment (url still null), held to MediaAttachment here
    assert "content" not in spec["paths"]["/api/v1/media/{id}"]["get"]["responses"]["206"]
    attachment = {"$ref": "#/components/schemas/MediaAttachment"}
    body = processing.json()
    problems = [e.message for e in validator(spec, attachment).iter_errors(body)]
    assert not problems + list(strict_problems(spec, body, attachment)) and body["url"] is None
    processed = call(mastodon_sandbox, "GET", f"/api/v1/media/{pending_id}", mastodon_token)
    assert processed.status_code == 200
    assert check_answer(spec, "GET", "/api/v1/media/{id}", processed)["url"]

    refused = upload(b"not an image")
    assert refused.status_code == 422
    check_answer(spec, "POST", "/api/v2/media", refused)
    missing = call(mastodon_sandbox, "GET", "/api/v1/media/1", mastodon_token)
    assert missing.status_code == 404
    assert check_answer(spec, "GET", "/api/v1/media/{id}", missing) == {"error": "Record not found"}

    status_schema = {"$ref": "#/components/schemas/Status"}
    posted = call(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token,
                  json={"status": "With media", "media_ids": [media_id, pending_id]})
    assert posted.status_code == 200
    shown = check_answer(spec, "POST", "/api/v1/statuses", posted, status_schema)["media_attachments"]
    assert [m["id"] for m in shown] == [media_id, pending_id] and shown[0]["description"] == "A dot"
    assert shown[0]["meta"]["original"] == {"width": 3, "height": 2, "aspect": 1.5}
    reused = call(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token,
                  json={"status": "Again", "media_ids": [media_id]})
    assert reused.status_code == 422
    check_answer(spec, "POST", "/api/v1/statuses", reused)
    mastodon_sandbox.fault(status=429, count=1, path_prefix="/api/v2/media")
    limited = upload(png())
    assert limited.status_code == 429
    check_answer(spec, "POST", "/api/v2/media", limited)


def test_account_statuses_answers(spec: dict[str, Any], mastodon_sandbox: Any, mastodon_token: Token) -> None:
    path = "/api/v1/accounts/{id}/statuses"
    made = [call(mastodon_sandbox, "POST", "/api/v1/statuses", mastodon_token, json={"status": f"Status {i}"}).json()
            for i in range(5)]
    me = call(mastodon_sandbox, "GET", "/api/v1/accounts/verify_credentials", mastodon_token).json()
    statuses = f"/api/v1/accounts/{me['id']}/statuses"

    first = call(mastodon_sandbox, "GET", statuses, mastodon_token, params={"limit": 2})
    assert first.status_code == 200
    assert [s["id"] for s in check_answer(spec, "GET", path, first)] == [made[4]["id"], made[3]["id"]]  # newest first
    assert first.links["next"]["url"] == f"{mastodon_sandbox.url}{statuses}?limit=2&max_id={made[3]['id']}"
    assert first.links["prev"]["url"] == f"{mastodon_sandbox.url}{statuses}?limit=2&min_id={made[4]['id']}"
    int(first.headers["X-RateLimit-Remaining"])

    bearer = {"Authorization": f"Bearer {mastodon_token.access_token}"}
    second = requests.get(first.links["next"]["url"], headers=bearer, timeout=5)
    assert [s["id"] for s in check_answer(spec, "GET", path, second)] == [made[2]["id"], made[1]["id"]]
    last = call(mastodon_sandbox, "GET", statuses, mastodon_token, params={"limit": 2, "max_id": made[1]["id"]})
    assert [s["id"] for s in check_answer(spec, "GET", path, last)] == [made[0]["id"]]
    assert "next" not in last.links and "prev" in last.links  # a page that is not full ends the paging
    newer = call(mastodon_sandbox, "GET", statuses, mastodon_token, params={"min_id": made[1]["id"], "limit": 2})
    assert [s["id"] for s in newer.json()] == [made[3]["id"], made[2]["id"]]  # immediately newer, newest first
    since = call(mastodon_sandbox, "GET", statuses, mastodon_token, params={"since_id": made[2]["id"]})
    assert [s["id"] for s in since.json()] == [made[4]["id"], made[3]["id"]]
    capped = call(mastodon_sandbox, "GET", statuses, mastodon_token, params={"limit": 500})
    assert len(capped.json()) == 5  # at most 40 a page; five is all there is
    assert call(mastodon_sandbox, "GET", statuses, None).status_code == 200  # public statuses need no token
    assert call(mastodon_sandbox, "GET", statuses, mastodon_token, params={"only_media": "true"}).json() == []

    missing = call(mastodon_sandbox, "GET", "/api/v1/accounts/1/statuses", mastodon_token)
    assert missing.status_code == 404
    assert check_answer(spec, "GET", path, missing) == {"error": "Record not found"}
    tagged = call(mastodon_sandbox, "GET", statuses, mastodon_token, params={"tagged": "hiring"})
    assert tagged.status_code == 422 and "tagged" in tagged.json()["error"]
    mastodon_sandbox.fault(status=503, count=1, path_prefix=statuses)
    unavailable = call(mastodon_sandbox, "GET", statuses, mastodon_token)
    assert unavailable.status_code == 503
    check_answer(spec, "GET", path, unavailable)
