"""The X sandbox against the official X API v2 OpenAPI spec, read in place beside the project (never copied in).

Two kinds of check, both able to fail when the sandbox drifts from X:
- our request schema for ``POST /2/tweets`` agrees with the spec's ``TweetCreateRequest`` (names, types, nested
  constraints, ``required``, ``additionalProperties``), and the field and scope names the sandbox accepts exist in X;
- the same for the image upload (``MediaUploadRequestOneShot``), the chunked upload (``MediaUploadConfigRequest``,
  ``MediaUploadAppendRequest``) and the alt text (``MetadataCreateRequest``);
- real sandbox answers, fetched over HTTP, validate against the spec's response schemas (``$ref``s resolved in
  ``components``, discriminators followed) and carry no field the spec does not declare.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from connectors.base import Token
from sandbox import x as sandbox_x
from sandbox.schemas.x import (
    CHUNKED_CATEGORIES,
    IMAGE_MAX_BYTES,
    IMAGE_TYPES_ONE_SHOT,
    MAX_WEIGHTED_LENGTH,
    MEDIA_APPEND_REQUEST,
    MEDIA_CATEGORIES_ONE_SHOT,
    MEDIA_INIT_REQUEST,
    MEDIA_UPLOAD_REQUEST,
    METADATA_CREATE_REQUEST,
    METADATA_NOT_EMULATED,
    TWEET_CREATE_REQUEST,
)

REPO = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO.parent / "shared" / "specs" / "x-api-v2-openapi.json"
SKIP_REASON = (
    "../shared/specs/x-api-v2-openapi.json not beside the project (fresh clone): "
    "conformance against the official X spec skipped"
)
# Fields real X sends that this spec version does not declare (seen on the wire by tweepy and in X's docs).
WIRE_EXTRAS = {("POST", "/2/tweets"): {"$.data.edit_history_tweet_ids"}}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(SKIP_REASON)
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return openapi30_to_jsonschema(loaded)


# --------------------------------------------------------------------------------------------- spec plumbing
def openapi30_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schema objects -> JSON Schema: ``nullable`` becomes a null type; the rest carries over."""
    if isinstance(node, list):
        return [openapi30_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi30_to_jsonschema(v) for k, v in node.items()}
    if out.pop("nullable", False) is True and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    return out


def resolve(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` (``#/…`` pointers into the spec) until a schema with content."""
    seen = 0
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
        seen += 1
        assert seen < 50, "reference loop"
    return dict(schema)


def validator(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> jsonschema.Draft7Validator:
    """A validator for ``schema`` whose ``#/components/...`` references resolve into the spec."""
    root = {"components": spec["components"], **copy.deepcopy(dict(schema))}
    return jsonschema.Draft7Validator(root, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def declared(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """The properties a schema declares, its ``allOf`` parts included."""
    schema = resolve(spec, schema)
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props |= declared(spec, part)
    return props


def strict_problems(
    spec: Mapping[str, Any], instance: Any, schema: Mapping[str, Any], where: str = "$"
) -> Iterator[str]:
    """Schema errors of sub-schemas chosen by a discriminator, and every field the spec does not declare."""
    schema = resolve(spec, schema)
    if isinstance(instance, dict) and "discriminator" in schema:
        disc = schema["discriminator"]
        target = disc.get("mapping", {}).get(instance.get(disc["propertyName"]))
        if target:
            chosen = resolve(spec, {"$ref": target})
            for error in validator(spec, chosen).iter_errors(instance):
                yield f"{where} as {target.rsplit('/', 1)[-1]}: {error.message}"
            schema = {
                **chosen,
                "allOf": [*chosen.get("allOf", []), {k: v for k, v in schema.items() if k != "discriminator"}],
            }
    if isinstance(instance, dict):
        props = declared(spec, schema)
        if props or schema.get("type") == "object":
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
    spec: Mapping[str, Any], method: str, path: str, response: requests.Response, *, extras: set[str] = frozenset()
) -> Any:
    """Validate a live sandbox answer against what the spec says ``method path`` answers with that status."""
    operation = spec["paths"][path][method.lower()]
    answers = operation["responses"]
    entry = answers.get(str(response.status_code)) or answers.get("default")
    assert entry is not None, f"{method} {path} has no {response.status_code} nor default answer in the spec"
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    assert content_type in entry["content"], f"{content_type} not among {sorted(entry['content'])}"
    schema = entry["content"][content_type]["schema"]
    body = response.json()
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator(spec, schema).iter_errors(body)]
    errors += [p for p in strict_problems(spec, body, schema) if p.split(":")[0] not in extras]
    assert not errors, f"{method} {path} {response.status_code} drifted from the spec: {errors}\n{body}"
    return body


def compare(spec: Mapping[str, Any], ours: Mapping[str, Any], theirs: Mapping[str, Any], where: str) -> Iterator[str]:
    """Differences between our schema and the spec's, for everything our schema says."""
    theirs = resolve(spec, theirs)
    if ours.get("type") != theirs.get("type"):
        yield f"{where}: type {ours.get('type')} vs spec {theirs.get('type')}"
    for keyword in ("pattern", "minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"):
        if ours.get(keyword) != theirs.get(keyword):
            yield f"{where}: {keyword} {ours.get(keyword)} vs spec {theirs.get(keyword)}"
    if set(ours.get("enum", [])) != set(theirs.get("enum", [])):
        yield f"{where}: enum {ours.get('enum')} vs spec {theirs.get('enum')}"
    if ours.get("type") == "object":
        if ours.get("additionalProperties", True) != theirs.get("additionalProperties", True):
            yield f"{where}: additionalProperties {ours.get('additionalProperties')} vs spec"
        if set(ours.get("required", [])) != set(theirs.get("required", [])):
            yield f"{where}: required {ours.get('required')} vs spec {theirs.get('required')}"
        mine, spec_props = ours.get("properties", {}), theirs.get("properties", {})
        if set(mine) != set(spec_props):
            only_ours, only_spec = sorted(set(mine) - set(spec_props)), sorted(set(spec_props) - set(mine))
            yield f"{where}: properties differ: ours only {only_ours}, spec only {only_spec}"
        for name in set(mine) & set(spec_props):
            yield from compare(spec, mine[name], spec_props[name], f"{where}.{name}")
    if ours.get("type") == "array" and "items" in ours:
        yield from compare(spec, ours["items"], theirs.get("items", {}), f"{where}[]")


# ------------------------------------------------------------------------------------------ the request schema
def test_request_schema_agrees_with_the_spec(spec: dict[str, Any]) -> None:
    theirs = spec["components"]["schemas"]["TweetCreateRequest"]
    differences = list(compare(spec, TWEET_CREATE_REQUEST, theirs, "TweetCreateRequest"))
    assert not differences, differences


def test_text_rules_the_schema_cannot_say(spec: dict[str, Any]) -> None:
    theirs = spec["components"]["schemas"]["TweetCreateRequest"]
    text = resolve(spec, theirs["properties"]["text"])
    assert text["type"] == "string"
    # X counts a weighted length (280) in code, not a maxLength; if the spec ever states one, it must agree.
    assert text.get("maxLength") in (None, MAX_WEIGHTED_LENGTH)
    assert not theirs.get("required"), "the spec now requires fields: the sandbox's text-or-media rule must follow"
    assert theirs.get("additionalProperties") is False


def test_media_upload_schema_agrees_with_the_spec(spec: dict[str, Any]) -> None:
    theirs = spec["components"]["schemas"]["MediaUploadRequestOneShot"]
    differences = list(compare(spec, MEDIA_UPLOAD_REQUEST, theirs, "MediaUploadRequestOneShot"))
    assert not differences, differences
    # the file: binary in multipart/form-data, base64 ("byte") in JSON; the spec's two encodings, both taken
    spec_media = [resolve(spec, s) for s in theirs["properties"]["media"]["anyOf"]]
    ours_media = MEDIA_UPLOAD_REQUEST["properties"]["media"]["anyOf"]
    assert [(s["type"], s["format"]) for s in spec_media] == [(s["type"], s["format"]) for s in ours_media]
    operation = spec["paths"]["/2/media/upload"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    categories = resolve(spec, theirs["properties"]["media_category"])["enum"]
    assert set(categories) == set(MEDIA_CATEGORIES_ONE_SHOT) and "tweet_image" in categories
    types = set(resolve(spec, theirs["properties"]["media_type"])["enum"])
    assert set(IMAGE_TYPES_ONE_SHOT) <= types
    assert "image/gif" not in types, "GIFs became one-shot images: the sandbox and the connector may take them"


def test_chunked_upload_schemas_agree_with_the_spec(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    differences = list(compare(spec, MEDIA_INIT_REQUEST, schemas["MediaUploadConfigRequest"], "initialize"))
    assert not differences, differences
    for category, types in CHUNKED_CATEGORIES.items():
        assert category in schemas["MediaCategory"]["enum"]
        assert set(types) <= set(schemas["MediaUploadConfigRequest"]["properties"]["media_type"]["enum"])
    # append: either encoding of the segment, with its index as an integer or digits
    encodings = [resolve(spec, s) for s in schemas["MediaUploadAppendRequest"]["anyOf"]]
    for encoding in encodings:
        assert set(encoding["required"]) == set(MEDIA_APPEND_REQUEST["required"])
        assert set(encoding["properties"]) == set(MEDIA_APPEND_REQUEST["properties"])
    index = [resolve(spec, c) for c in resolve(spec, encodings[0]["properties"]["segment_index"])["oneOf"]]
    ours = MEDIA_APPEND_REQUEST["properties"]["segment_index"]["oneOf"]
    assert [(c["type"], c.get("minimum"), c.get("maximum"), c.get("pattern")) for c in index] == [
        (c["type"], c.get("minimum"), c.get("maximum"), c.get("pattern")) for c in ours]
    append = spec["paths"]["/2/media/upload/{id}/append"]["post"]["requestBody"]["content"]
    assert set(append) == {"application/json", "multipart/form-data"}
    assert "requestBody" not in spec["paths"]["/2/media/upload/{id}/finalize"]["post"]
    status = {p["name"]: p for p in spec["paths"]["/2/media/upload"]["get"]["parameters"]}
    assert status["media_id"]["required"] and status["command"]["schema"]["enum"] == ["STATUS"]
    states = set(schemas["ProcessingInfo"]["properties"]["state"]["enum"])
    assert {"pending", "in_progress", "succeeded", "failed"} == states


def test_metadata_schema_agrees_with_the_spec(spec: dict[str, Any]) -> None:
    theirs = resolve(spec, spec["components"]["schemas"]["MetadataCreateRequest"])
    ours = METADATA_CREATE_REQUEST
    assert theirs["type"] == ours["type"] and theirs["required"] == ours["required"]
    assert theirs.get("additionalProperties", True) is True and "additionalProperties" not in ours
    assert not list(compare(spec, ours["properties"]["id"], theirs["properties"]["id"], "id"))
    spec_metadata = theirs["properties"]["metadata"]["properties"]
    ours_metadata = ours["properties"]["metadata"]["properties"]
    assert set(ours_metadata).isdisjoint(METADATA_NOT_EMULATED)
    assert set(ours_metadata) | set(METADATA_NOT_EMULATED) == set(spec_metadata)
    differences = list(compare(spec, ours_metadata["alt_text"], spec_metadata["alt_text"], "alt_text"))
    assert not differences, differences


def test_accepted_names_exist_in_x(spec: dict[str, Any]) -> None:
    parameters = spec["components"]["parameters"]
    tweet_fields = set(parameters["TweetFieldsParameter"]["schema"]["items"]["enum"])
    user_fields = set(parameters["UserFieldsParameter"]["schema"]["items"]["enum"])
    assert sandbox_x.TWEET_FIELDS <= tweet_fields
    assert sandbox_x.USER_FIELDS <= user_fields
    scopes = spec["components"]["securitySchemes"]["OAuth2UserToken"]["flows"]["authorizationCode"]["scopes"]
    assert set(scopes) == sandbox_x.SCOPES
    for endpoint, needed in sandbox_x.ENDPOINT_SCOPES.items():
        method, path = endpoint.split(" ")
        operation = spec["paths"][path.replace(":id", "{id}")][method.lower()]
        listed = [s.get("OAuth2UserToken") for s in operation["security"] if "OAuth2UserToken" in s]
        assert listed and set(listed[0]) == set(needed), endpoint
    # the problem type the sandbox uses for invalid requests is one X defines
    assert (
        sandbox_x.PROBLEMS + "invalid-request" in spec["components"]["schemas"]["Problem"]["discriminator"]["mapping"]
    )


# ---------------------------------------------------------------------------------------- live sandbox answers
def call(sandbox: Any, method: str, path: str, token: Token | None, **kw: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token.access_token}"} if token else {}
    return requests.request(method, f"{sandbox.url}{path}", headers=headers, timeout=5, **kw)


def test_create_and_delete_answers(spec: dict[str, Any], x_sandbox: Any, x_token: Token) -> None:
    created = call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Conformance"})
    assert created.status_code == 201
    body = check_answer(spec, "POST", "/2/tweets", created, extras=WIRE_EXTRAS[("POST", "/2/tweets")])
    post_id = body["data"]["id"]
    assert created.headers["location"].endswith(post_id)

    deleted = call(x_sandbox, "DELETE", f"/2/tweets/{post_id}", x_token)
    assert deleted.status_code == 200
    assert check_answer(spec, "DELETE", "/2/tweets/{id}", deleted) == {"data": {"deleted": True}}

    gone = call(x_sandbox, "DELETE", f"/2/tweets/{post_id}", x_token)
    assert gone.status_code == 404
    check_answer(spec, "DELETE", "/2/tweets/{id}", gone)


def test_users_me_answer(spec: dict[str, Any], x_sandbox: Any, x_token: Token) -> None:
    fields = "public_metrics,created_at,description,protected"
    me = call(x_sandbox, "GET", "/2/users/me", x_token, params={"user.fields": fields})
    assert me.status_code == 200
    body = check_answer(spec, "GET", "/2/users/me", me)
    assert body["data"]["public_metrics"]["followers_count"] >= 0
    plain = call(x_sandbox, "GET", "/2/users/me", x_token)
    assert set(check_answer(spec, "GET", "/2/users/me", plain)["data"]) == {"id", "name", "username"}


def test_tweets_lookup_answer(spec: dict[str, Any], x_sandbox: Any, x_token: Token) -> None:
    ids = [
        call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": f"Lookup {i}"}).json()["data"]["id"]
        for i in range(2)
    ]
    params = {"ids": ",".join([*ids, "1800000000000000001"]), "tweet.fields": "public_metrics,author_id,created_at"}
    found = call(x_sandbox, "GET", "/2/tweets", x_token, params=params)
    assert found.status_code == 200
    body = check_answer(spec, "GET", "/2/tweets", found)
    assert [t["id"] for t in body["data"]] == ids and len(body["errors"]) == 1

    too_many = call(
        x_sandbox, "GET", "/2/tweets", x_token, params={"ids": ",".join(str(10**17 + i) for i in range(101))}
    )
    assert too_many.status_code == 400
    check_answer(spec, "GET", "/2/tweets", too_many)


def test_links_come_back_wrapped_as_the_spec_shows(spec: dict[str, Any], x_sandbox: Any, x_token: Token) -> None:
    """Every URL of a post reads back as a t.co link shaped like the spec's ``TweetText`` example, with
    ``entities.urls`` as ``UrlEntity`` declares them, from every endpoint that returns posts."""
    example = spec["components"]["schemas"]["TweetText"]["example"].replace("\\/", "/")
    [tco] = re.findall(r"https://t\.co/\S+", example)
    shape = re.compile(r"^https://t\.co/[A-Za-z0-9]{" + str(len(tco) - len("https://t.co/")) + "}$")
    link = "https://advocacy.test/r/Conform1"
    created = call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": f"Links {link}"})
    body = check_answer(spec, "POST", "/2/tweets", created, extras=WIRE_EXTRAS[("POST", "/2/tweets")])
    post_id, text = body["data"]["id"], body["data"]["text"]
    assert link not in text and shape.match(text.split()[-1]), text
    user_id = call(x_sandbox, "GET", "/2/users/me", x_token).json()["data"]["id"]
    fields = {"tweet.fields": "entities,created_at"}
    answers = [
        check_answer(spec, "GET", "/2/tweets/{id}", call(x_sandbox, "GET", f"/2/tweets/{post_id}", x_token,
                                                          params=fields))["data"],
        check_answer(spec, "GET", "/2/tweets", call(x_sandbox, "GET", "/2/tweets", x_token,
                                                    params={"ids": post_id, **fields}))["data"][0],
        check_answer(spec, "GET", "/2/users/{id}/tweets", call(x_sandbox, "GET", f"/2/users/{user_id}/tweets",
                                                               x_token, params=fields))["data"][0],
    ]
    for post in answers:
        assert post["text"] == text
        [url] = post["entities"]["urls"]
        assert url["expanded_url"] == link and shape.match(url["url"]) and text[url["start"] : url["end"]] == url["url"]
    missing = call(x_sandbox, "GET", "/2/tweets/1800000000000000001", x_token)
    assert check_answer(spec, "GET", "/2/tweets/{id}", missing)["errors"][0]["resource_type"] == "tweet"


def test_problem_answers(spec: dict[str, Any], x_sandbox: Any, x_token: Token) -> None:
    unauthorized = call(x_sandbox, "GET", "/2/users/me", None)
    assert unauthorized.status_code == 401
    assert check_answer(spec, "GET", "/2/users/me", unauthorized) == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }

    invalid = call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": 1, "colour": "red"})
    assert invalid.status_code == 400
    assert check_answer(spec, "POST", "/2/tweets", invalid)["type"].endswith("/invalid-request")

    too_long = call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "a" * 281})
    assert too_long.status_code == 400
    check_answer(spec, "POST", "/2/tweets", too_long)

    call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Twice"})
    duplicate = call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Twice"})
    assert duplicate.status_code == 403
    assert "duplicate content" in check_answer(spec, "POST", "/2/tweets", duplicate)["detail"]

    x_sandbox.config(rate_limits={"GET /2/users/me": 1})
    call(x_sandbox, "GET", "/2/users/me", x_token)
    limited = call(x_sandbox, "GET", "/2/users/me", x_token)
    assert limited.status_code == 429
    assert check_answer(spec, "GET", "/2/users/me", limited)["title"] == "Too Many Requests"
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert int(limited.headers["x-rate-limit-reset"]) > time.time()

    x_sandbox.fault(status=429, count=1, path_prefix="/2/tweets")
    injected = call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Injected"})
    assert injected.status_code == 429
    check_answer(spec, "POST", "/2/tweets", injected)


def test_the_checker_catches_drift(spec: dict[str, Any], x_sandbox: Any, x_token: Token) -> None:
    """The checks above fail for a renamed metric or an invented field (guards against a checker that passes all)."""
    params = {"ids": call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Drift"}).json()["data"]["id"]}
    answer = call(x_sandbox, "GET", "/2/tweets", x_token, params=params | {"tweet.fields": "public_metrics"})
    body = answer.json()
    metrics = body["data"][0]["public_metrics"]
    metrics["repost_count"] = metrics.pop("retweet_count")
    schema = spec["paths"]["/2/tweets"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert list(validator(spec, schema).iter_errors(body)), "a missing required metric went unnoticed"
    assert any("repost_count" in p for p in strict_problems(spec, body, schema))
    unauthorized = {"title": "Unauthorized", "type": "about:blank", "status": "401"}
    problem = spec["components"]["schemas"]["Problem"]
    assert list(validator(spec, problem).iter_errors(unauthorized)), "a string status went unnoticed"


def relaxed_upload_response(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec with the rules lifted that require fields it never declares and X does not send: ``meta`` of
    ``MediaUploadResponse`` and ``MediaUploadAppendResponse`` (docs.x.com's examples answer ``{"data": {...}}``),
    ``type`` of ``ProcessingInfo`` (X sends ``state``, ``check_after_secs``, ``progress_percent``). Every other rule
    stays."""
    schemas = dict(spec["components"]["schemas"])
    for name, field in (("MediaUploadResponse", "meta"), ("MediaUploadAppendResponse", "meta"),
                        ("ProcessingInfo", "type")):
        assert schemas[name]["required"] == [field], f"the spec changed {name}: look again"
        assert field not in schemas[name]["properties"]
        schemas[name] = {**schemas[name], "required": []}
    return {**spec, "components": {**spec["components"], "schemas": schemas}}


def png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\x1d\x9b\xf0")) + chunk(b"IEND", b""))


def test_media_answers(
    spec: dict[str, Any], x_sandbox: Any, x_flow: Any, x_connector: Any, x_make_connector: Any, x_token: Token
) -> None:
    relaxed = relaxed_upload_response(spec)
    form = {"media_category": "tweet_image", "media_type": "image/png"}
    uploaded = call(x_sandbox, "POST", "/2/media/upload", x_token, files={"media": ("a.png", png())}, data=form)
    assert uploaded.status_code == 200
    media_id = check_answer(relaxed, "POST", "/2/media/upload", uploaded)["data"]["id"]
    as_json = call(x_sandbox, "POST", "/2/media/upload", x_token,
                   json={"media": base64.b64encode(png()).decode(), "media_category": "tweet_image"})
    assert as_json.status_code == 200
    check_answer(relaxed, "POST", "/2/media/upload", as_json)

    big = png()[:-12] + b"\x00" * (IMAGE_MAX_BYTES + 1)
    too_large = call(x_sandbox, "POST", "/2/media/upload", x_token, files={"media": ("a.png", big)}, data=form)
    assert too_large.status_code == 400
    assert check_answer(spec, "POST", "/2/media/upload", too_large)["type"].endswith("/invalid-request")
    bad_type = call(x_sandbox, "POST", "/2/media/upload", x_token, files={"media": ("a", b"x")},
                    data={"media_category": "tweet_gif"})
    assert bad_type.status_code == 400
    check_answer(spec, "POST", "/2/media/upload", bad_type)

    described = call(x_sandbox, "POST", "/2/media/metadata", x_token,
                     json={"id": media_id, "metadata": {"alt_text": {"text": "A dot"}}})
    assert described.status_code == 200
    body = check_answer(spec, "POST", "/2/media/metadata", described)
    assert body["data"]["associated_metadata"]["alt_text"]["text"] == "A dot"
    missing = call(x_sandbox, "POST", "/2/media/metadata", x_token, json={"id": "1234"})
    assert missing.status_code == 404
    assert check_answer(spec, "POST", "/2/media/metadata", missing)["resource_type"] == "media"

    reader = x_flow.connect(x_make_connector(scopes=("tweet.read",)), "carol")
    forbidden = call(x_sandbox, "POST", "/2/media/upload", reader, files={"media": ("a.png", png())}, data=form)
    assert forbidden.status_code == 403
    check_answer(spec, "POST", "/2/media/upload", forbidden)

    posted = call(x_sandbox, "POST", "/2/tweets", x_token, json={"text": "Dot", "media": {"media_ids": [media_id]}})
    assert posted.status_code == 201
    check_answer(spec, "POST", "/2/tweets", posted, extras=WIRE_EXTRAS[("POST", "/2/tweets")])
    bob = x_flow.connect(x_connector, "bob")
    not_theirs = call(x_sandbox, "POST", "/2/tweets", bob, json={"text": "Dot", "media": {"media_ids": [media_id]}})
    assert not_theirs.status_code == 400
    assert check_answer(spec, "POST", "/2/tweets", not_theirs)["errors"][0]["message"] == "Your media IDs are invalid."
    params = {"ids": posted.json()["data"]["id"], "tweet.fields": "attachments"}
    looked_up = call(x_sandbox, "GET", "/2/tweets", x_token, params=params)
    assert check_answer(spec, "GET", "/2/tweets", looked_up)["data"][0]["attachments"]["media_keys"]



def test_chunked_upload_answers(spec: dict[str, Any], x_sandbox: Any, x_token: Token) -> None:
    relaxed = relaxed_upload_response(spec)
    x_sandbox.config(gif_processing_polls=2)
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    started = call(x_sandbox, "POST", "/2/media/upload/initialize", x_token,
                   json={"media_type": "image/gif", "total_bytes": len(gif), "media_category": "tweet_gif"})
    assert started.status_code == 200
    media_id = check_answer(relaxed, "POST", "/2/media/upload/initialize", started)["data"]["id"]
    appended = call(x_sandbox, "POST", f"/2/media/upload/{media_id}/append", x_token,
                    json={"media": base64.b64encode(gif).decode(), "segment_index": 0})
    assert appended.status_code == 200
    check_answer(relaxed, "POST", "/2/media/upload/{id}/append", appended)
    finalized = call(x_sandbox, "POST", f"/2/media/upload/{media_id}/finalize", x_token)
    assert finalized.status_code == 200
    info = check_answer(relaxed, "POST", "/2/media/upload/{id}/finalize", finalized)["data"]["processing_info"]
    assert info["state"] == "pending"
    states = []
    for _ in range(2):
        checked = call(x_sandbox, "GET", "/2/media/upload", x_token, params={"command": "STATUS", "media_id": media_id})
        states.append(check_answer(relaxed, "GET", "/2/media/upload", checked)["data"]["processing_info"]["state"])
    assert states == ["in_progress", "succeeded"]
    missing = call(x_sandbox, "GET", "/2/media/upload", x_token, params={"media_id": "1234"})
    assert missing.status_code == 404
    check_answer(spec, "GET", "/2/media/upload", missing)
    refused = call(x_sandbox, "POST", "/2/media/upload/initialize", x_token, json={"media_type": "image/gif"})
    assert refused.status_code == 400
    check_answer(spec, "POST", "/2/media/upload/initialize", refused)
