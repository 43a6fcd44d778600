"""The Bluesky sandbox held against the official lexicons (``../shared/specs/bluesky-lexicons/``).

Two kinds of check: our schemas (``sandbox/schemas/bluesky.py``) agree with the lexicons field by field
(types, required fields, byte and grapheme limits, formats, union members), and live sandbox answers validate against
the lexicons' outputs (refs across the lexicon files followed, formats checked) and carry no field the lexicons do
not declare. The lexicons are read where they lie beside the project, never copied in; without them every test
here is skipped with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from connectors.base import Media, Token
from connectors.bluesky import IMAGE_MAX_BYTES as CONNECTOR_IMAGE_MAX_BYTES
from connectors.bluesky import MAX_IMAGES as CONNECTOR_MAX_IMAGES
from connectors.bluesky import jwt_claims
from sandbox.schemas.bluesky import (
    CREATE_RECORD_INPUT,
    CREATE_SESSION_INPUT,
    DELETE_RECORD_INPUT,
    EMBED_IMAGE,
    EMBED_IMAGES,
    FACET,
    FACET_FEATURES,
    GET_POSTS_MAX_URIS,
    POST_RECORD,
    VALIDATOR,
)
from tests.connectors.imagefiles import png

REPO = Path(__file__).resolve().parents[2]
LEXICONS = REPO.parent / "shared" / "specs" / "bluesky-lexicons"
SKIP_REASON = (
    "../shared/specs/bluesky-lexicons/ not beside the project (fresh clone): "
    "conformance against the Bluesky lexicons skipped"
)
# error names every XRPC server may answer with, beside those a lexicon lists for its method
XRPC_ERRORS = {"InvalidRequest", "ExpiredToken", "InvalidToken", "AuthMissing", "AuthenticationRequired",
               "RateLimitExceeded", "MethodNotImplemented", "InternalServerError"}  # fmt: skip
FORMATS = {
    "did": r"^did:[a-z]+:[a-zA-Z0-9._:%-]+$",
    "handle": r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$",
    "at-uri": r"^at://[^/\s]+(/[a-zA-Z0-9.-]+(/[a-zA-Z0-9._~:-]+)?)?$",
    "cid": r"^b[a-z2-7]{50,}$",
    "datetime": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
    "uri": r"^[a-z][a-z0-9+.-]*:\S+$",
    "tid": r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$",
}


class Lexicons:
    """The lexicon files as one JSON Schema document (``$defs`` named ``nsid#def``) with format checks."""

    def __init__(self, root: Path) -> None:
        self.defs: dict[str, dict[str, Any]] = {}
        for path in sorted(root.rglob("*.json")):
            doc = json.loads(path.read_text(encoding="utf-8"))
            for name, node in doc["defs"].items():
                self.defs[f"{doc['id']}#{name}"] = node
                if name == "main":
                    self.defs[doc["id"]] = node
        self.schema = {"$defs": {self._key(k): self.convert(v, k.split("#")[0]) for k, v in self.defs.items()}}

    @staticmethod
    def _key(ref: str) -> str:
        return ref.replace("#", "__")

    def full(self, ref: str, nsid: str) -> str:
        return nsid + ref if ref.startswith("#") else ref

    def node(self, ref: str, nsid: str = "") -> dict[str, Any] | None:
        return self.defs.get(self.full(ref, nsid))

    def convert(self, node: Mapping[str, Any], nsid: str) -> dict[str, Any]:
        """One lexicon type as JSON Schema (limits via our maxBytes/maxGraphemes keywords)."""
        kind = node.get("type")
        if kind == "record":
            return self.convert(node["record"], nsid)
        if kind in ("query", "procedure", "subscription", "token", "permission-set"):
            return {}
        if kind == "object":
            props = {k: self.convert(v, nsid) for k, v in node.get("properties", {}).items()}
            for name in node.get("nullable", []):
                props[name] = {"anyOf": [props[name], {"type": "null"}]}
            return {"type": "object", "properties": props, "required": list(node.get("required", []))}
        if kind == "ref":
            target = self.full(node["ref"], nsid)
            return {"$ref": f"#/$defs/{self._key(target)}"} if target in self.defs else {}
        if kind == "union":
            return self._union(node, nsid)
        if kind == "string":
            return _string(node)
        if kind == "integer":
            return {"type": "integer", **{k: node[k] for k in ("minimum", "maximum") if k in node}}
        if kind == "boolean":
            return {"type": "boolean"}
        if kind == "array":
            schema = {"type": "array", "items": self.convert(node["items"], nsid)}
            if "maxLength" in node:
                schema["maxItems"] = node["maxLength"]
            return schema
        if kind == "blob":  # the data model's blob ref; accept and maxSize are checked against the stored blob
            return {"type": "object", "required": ["$type", "ref", "mimeType", "size"], "properties": {
                "$type": {"const": "blob"}, "mimeType": {"type": "string"}, "size": {"type": "integer"},
                "ref": {"type": "object", "required": ["$link"], "properties": {"$link": {"format": "cid"}}}}}
        return {}  # unknown, bytes, cid-link: any value

    def _union(self, node: Mapping[str, Any], nsid: str) -> dict[str, Any]:
        """A union: an object with ``$type``; members stored beside us are validated as themselves."""
        branches = [
            {"if": {"properties": {"$type": {"const": ref}}, "required": ["$type"]},
             "then": {"$ref": f"#/$defs/{self._key(ref)}"}}
            for ref in (self.full(r, nsid) for r in node["refs"]) if ref in self.defs
        ]  # fmt: skip
        schema: dict[str, Any] = {"type": "object", "required": ["$type"], "allOf": branches}
        if node.get("closed"):
            schema["properties"] = {"$type": {"enum": [self.full(r, nsid) for r in node["refs"]]}}
        return schema

    def validator(self, ref: str) -> jsonschema.Validator:
        checker = jsonschema.FormatChecker()
        for name, pattern in FORMATS.items():
            checker.checks(name)(lambda value, p=pattern: not isinstance(value, str) or re.match(p, value) is not None)
        checker.checks("at-identifier")(
            lambda v: not isinstance(v, str) or bool(re.match(FORMATS["did"], v) or re.match(FORMATS["handle"], v))
        )
        return VALIDATOR({**self.schema, "$ref": f"#/$defs/{self._key(ref)}"}, format_checker=checker)

    def output(self, nsid: str) -> str:
        """The ``$defs`` name of a method's output schema (a ref, or the method's own object)."""
        schema = self.defs[nsid]["output"]["schema"]
        if schema.get("type") == "ref":
            return self.full(schema["ref"], nsid)
        key = f"{nsid}#output"
        self.defs[key] = schema
        self.schema["$defs"][self._key(key)] = self.convert(schema, nsid)
        return key

    def strict_problems(self, instance: Any, node: Mapping[str, Any], nsid: str, where: str = "$") -> Iterator[str]:
        """Every field of ``instance`` a lexicon object does not declare (refs and unions followed)."""
        kind = node.get("type")
        if kind == "ref":
            target = self.full(node["ref"], nsid)
            if target in self.defs:
                yield from self.strict_problems(instance, self.defs[target], target.split("#")[0], where)
        elif kind == "union" and isinstance(instance, dict):
            target = instance.get("$type")
            if target in [self.full(r, nsid) for r in node["refs"]] and target in self.defs:
                yield from self.strict_problems(instance, self.defs[target], target.split("#")[0], where)
        elif kind == "record":
            yield from self.strict_problems(instance, node["record"], nsid, where)
        elif kind == "object" and isinstance(instance, dict):
            props = node.get("properties", {})
            for key, value in instance.items():
                if key == "$type":
                    continue
                if key not in props:
                    yield f"{where}.{key}: not declared in the lexicon"
                else:
                    yield from self.strict_problems(value, props[key], nsid, f"{where}.{key}")
        elif kind == "array" and isinstance(instance, list):
            for i, item in enumerate(instance):
                yield from self.strict_problems(item, node["items"], nsid, f"{where}[{i}]")

    def check(self, ref: str, instance: Any) -> None:
        errors = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in self.validator(ref).iter_errors(instance)
        ]
        errors += list(self.strict_problems(instance, self.defs[ref], ref.split("#")[0]))
        assert not errors, f"{ref} drifted from the lexicon: {errors}\n{instance}"


def _string(node: Mapping[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for lex, ours in (("maxLength", "maxBytes"), ("maxGraphemes", "maxGraphemes"), ("format", "format")):
        if lex in node:
            schema[ours] = node[lex]
    schema |= {k: node[k] for k in ("enum", "const") if k in node}
    return schema


@pytest.fixture(scope="module")
def lexicons() -> Lexicons:
    if not LEXICONS.is_dir():
        pytest.skip(SKIP_REASON)
    return Lexicons(LEXICONS)


# ------------------------------------------------------------------------------------------ our schemas vs lexicons
def compare(lex: Lexicons, ours: Mapping[str, Any], theirs: Mapping[str, Any], nsid: str, where: str) -> Iterator[str]:
    """Differences between our schema and the lexicon's, for everything either says."""
    kind = theirs.get("type")
    if kind in ("ref", "blob"):
        yield from _compare_ref_or_blob(lex, ours, theirs, nsid, where)
        return
    if kind == "record":
        yield from compare(lex, ours, theirs["record"], nsid, where)
        return
    expected = {"union": "object", "unknown": "object"}.get(str(kind), kind)
    if ours.get("type") != expected:
        yield f"{where}: type {ours.get('type')} vs lexicon {kind}"
    if kind == "union":
        refs = [lex.full(r, nsid) for r in theirs["refs"]]
        if ours.get("x-union") != refs:
            yield f"{where}: union members {ours.get('x-union')} vs lexicon {refs}"
    if kind == "string":
        for lex_key, our_key in (("maxLength", "maxBytes"), ("maxGraphemes", "maxGraphemes"), ("format", "format")):
            if theirs.get(lex_key) != ours.get(our_key):
                yield f"{where}: {our_key} {ours.get(our_key)} vs lexicon {lex_key} {theirs.get(lex_key)}"
    if kind == "integer" and theirs.get("minimum") != ours.get("minimum"):
        yield f"{where}: minimum {ours.get('minimum')} vs lexicon {theirs.get('minimum')}"
    if kind == "array":
        if theirs.get("maxLength") != ours.get("maxItems"):
            yield f"{where}: maxItems {ours.get('maxItems')} vs lexicon maxLength {theirs.get('maxLength')}"
        yield from compare(lex, ours.get("items", {}), theirs["items"], nsid, f"{where}[]")
    if kind == "object":
        yield from _compare_object(lex, ours, theirs, nsid, where)


def _compare_ref_or_blob(
    lex: Lexicons, ours: Mapping[str, Any], theirs: Mapping[str, Any], nsid: str, where: str
) -> Iterator[str]:
    if theirs["type"] == "blob":  # ours: the data model's blob ref, the lexicon's accept and maxSize in x-blob
        limits = {k: theirs[k] for k in ("accept", "maxSize") if k in theirs}
        if ours.get("type") != "object" or ours.get("x-blob") != limits:
            yield f"{where}: blob {ours.get('type')} {ours.get('x-blob')} vs lexicon {limits}"
        return
    target = lex.full(theirs["ref"], nsid)
    if target not in lex.defs:  # a lexicon not stored beside us: ours must at least name it
        if ours.get("x-ref") != target:
            yield f"{where}: ref {target} (not stored beside us) vs ours {ours.get('x-ref')}"
        return
    yield from compare(lex, ours, lex.defs[target], target.split("#")[0], where)


def _compare_object(
    lex: Lexicons, ours: Mapping[str, Any], theirs: Mapping[str, Any], nsid: str, where: str
) -> Iterator[str]:
    mine, spec_props = ours.get("properties", {}), theirs.get("properties", {})
    if set(mine) != set(spec_props):
        yield (
            f"{where}: properties ours only {sorted(set(mine) - set(spec_props))}, "
            f"lexicon only {sorted(set(spec_props) - set(mine))}"
        )
    if set(ours.get("required", [])) != set(theirs.get("required", [])):
        yield f"{where}: required {ours.get('required')} vs lexicon {theirs.get('required')}"
    for name in set(mine) & set(spec_props):
        yield from compare(lex, mine[name], spec_props[name], nsid, f"{where}.{name}")


@pytest.mark.parametrize(
    ("name", "ours", "lexicon"),
    [
        ("post record", POST_RECORD, "app.bsky.feed.post"),
        ("facet", FACET, "app.bsky.richtext.facet"),
        ("createSession input", CREATE_SESSION_INPUT, "com.atproto.server.createSession#input"),
        ("createRecord input", CREATE_RECORD_INPUT, "com.atproto.repo.createRecord#input"),
        ("deleteRecord input", DELETE_RECORD_INPUT, "com.atproto.repo.deleteRecord#input"),
        ("images embed", EMBED_IMAGES, "app.bsky.embed.images"),
        ("embedded image", EMBED_IMAGE, "app.bsky.embed.images#image"),
    ],
)
def test_our_schemas_agree_with_the_lexicons(lexicons: Lexicons, name: str, ours: dict[str, Any], lexicon: str) -> None:
    nsid, _, part = lexicon.partition("#")
    if part and part not in ("input", "output"):
        theirs = lexicons.defs[lexicon]
    else:
        theirs = lexicons.defs[nsid][part]["schema"] if part else lexicons.defs[nsid]
    differences = list(compare(lexicons, ours, theirs, nsid, name))
    if name == "post record":  # the union members of embeds name lexicons not stored beside us: compare by name
        differences = [d for d in differences if not d.startswith(f"{name}.embed: union members")]
        assert (
            POST_RECORD["properties"]["embed"]["x-union"]
            == lexicons.defs[nsid]["record"]["properties"]["embed"]["refs"]
        )
    assert not differences, differences


def test_facet_features_agree_with_the_lexicon(lexicons: Lexicons) -> None:
    for ref, ours in FACET_FEATURES.items():
        differences = list(compare(lexicons, ours, lexicons.defs[ref], ref.split("#")[0], ref))
        assert not differences, differences


def test_get_posts_limit_and_session_errors(lexicons: Lexicons) -> None:
    uris = lexicons.defs["app.bsky.feed.getPosts"]["parameters"]["properties"]["uris"]
    assert uris["maxLength"] == GET_POSTS_MAX_URIS
    errors = {e["name"] for e in lexicons.defs["com.atproto.server.refreshSession"]["errors"]}
    assert {"ExpiredToken", "InvalidToken"} <= errors  # the names the sandbox answers a bad refresh JWT with


# ---------------------------------------------------------------------------------------- live sandbox answers
def xrpc(sandbox: Any, method: str, nsid: str, bearer: str | None, **kw: Any) -> requests.Response:
    headers = ({"Authorization": f"Bearer {bearer}"} if bearer else {}) | kw.pop("headers", {})
    return requests.request(method, f"{sandbox.url}/xrpc/{nsid}", headers=headers, timeout=5, **kw)


def check_error(lexicons: Lexicons, nsid: str, answer: requests.Response, name: str) -> None:
    body = answer.json()
    assert set(body) == {"error", "message"} and body["error"] == name and isinstance(body["message"], str)
    declared = {e["name"] for e in lexicons.defs[nsid].get("errors", [])}
    assert name in declared | XRPC_ERRORS, f"{nsid} answered an error the lexicon does not know: {name}"


def test_session_answers(lexicons: Lexicons, bluesky_sandbox: Any) -> None:
    created = xrpc(
        bluesky_sandbox,
        "POST",
        "com.atproto.server.createSession",
        None,
        json={"identifier": "alice.bsky.social", "password": "abcd-efgh-2345-wxyz"},
    )
    assert created.status_code == 200
    session = created.json()
    lexicons.check(lexicons.output("com.atproto.server.createSession"), session)
    refreshed = xrpc(bluesky_sandbox, "POST", "com.atproto.server.refreshSession", session["refreshJwt"])
    assert refreshed.status_code == 200
    lexicons.check(lexicons.output("com.atproto.server.refreshSession"), refreshed.json())
    reused = xrpc(bluesky_sandbox, "POST", "com.atproto.server.refreshSession", session["refreshJwt"])
    assert reused.status_code == 400
    check_error(lexicons, "com.atproto.server.refreshSession", reused, "InvalidToken")
    bluesky_sandbox.config(refresh_lifetime=0)
    short = xrpc(
        bluesky_sandbox,
        "POST",
        "com.atproto.server.createSession",
        None,
        json={"identifier": "alice.bsky.social", "password": "abcd-efgh-2345-wxyz"},
    ).json()
    expired = xrpc(bluesky_sandbox, "POST", "com.atproto.server.refreshSession", short["refreshJwt"])
    check_error(lexicons, "com.atproto.server.refreshSession", expired, "ExpiredToken")
    wrong = xrpc(
        bluesky_sandbox,
        "POST",
        "com.atproto.server.createSession",
        None,
        json={"identifier": "alice.bsky.social", "password": "nope"},
    )
    assert wrong.status_code == 401
    check_error(lexicons, "com.atproto.server.createSession", wrong, "AuthenticationRequired")


def test_record_answers(lexicons: Lexicons, bluesky_sandbox: Any, bluesky_connector: Any, bluesky_token: Token) -> None:
    post = bluesky_connector.publish(bluesky_token.access_token, "Conformance ✓ https://example.com/x")
    (stored,) = bluesky_sandbox.posts()
    lexicons.check("app.bsky.feed.post", stored["record"])  # what our connector sends is a valid post record
    did = jwt_claims(bluesky_token.access_token)["sub"]
    body = {
        "repo": did,
        "collection": "app.bsky.feed.post",
        "record": {"$type": "app.bsky.feed.post", "text": "Raw", "createdAt": "2026-01-02T03:04:05.000Z"},
    }
    created = xrpc(bluesky_sandbox, "POST", "com.atproto.repo.createRecord", bluesky_token.access_token, json=body)
    assert created.status_code == 200
    lexicons.check(lexicons.output("com.atproto.repo.createRecord"), created.json())
    rkey = post.id.rsplit("/", 1)[-1]
    deleted = xrpc(
        bluesky_sandbox,
        "POST",
        "com.atproto.repo.deleteRecord",
        bluesky_token.access_token,
        json={"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey},
    )
    assert deleted.status_code == 200
    lexicons.check(lexicons.output("com.atproto.repo.deleteRecord"), deleted.json())
    invalid = xrpc(bluesky_sandbox, "POST", "com.atproto.repo.createRecord", bluesky_token.access_token, json={})
    check_error(lexicons, "com.atproto.repo.createRecord", invalid, "InvalidRequest")


def test_query_answers(lexicons: Lexicons, bluesky_sandbox: Any, bluesky_connector: Any, bluesky_token: Token) -> None:
    post = bluesky_connector.publish(bluesky_token.access_token, "Counted https://example.com/c")
    bluesky_sandbox.set_metrics(post.id, likeCount=3, quoteCount=None)
    posts = xrpc(
        bluesky_sandbox, "GET", "app.bsky.feed.getPosts", bluesky_token.access_token, params={"uris": [post.id]}
    )
    assert posts.status_code == 200
    lexicons.check(lexicons.output("app.bsky.feed.getPosts"), posts.json())
    (view,) = posts.json()["posts"]
    lexicons.check("app.bsky.feed.post", view["record"])
    assert view["likeCount"] == 3 and "quoteCount" not in view  # not provided is left out, never a zero
    did = jwt_claims(bluesky_token.access_token)["sub"]
    profile = xrpc(
        bluesky_sandbox, "GET", "app.bsky.actor.getProfile", bluesky_token.access_token, params={"actor": did}
    )
    assert profile.status_code == 200
    lexicons.check(lexicons.output("app.bsky.actor.getProfile"), profile.json())
    bluesky_sandbox.expire_tokens()
    expired = xrpc(
        bluesky_sandbox, "GET", "app.bsky.actor.getProfile", bluesky_token.access_token, params={"actor": did}
    )
    assert expired.status_code == 400
    check_error(lexicons, "app.bsky.actor.getProfile", expired, "ExpiredToken")


def test_the_checker_catches_drift(
    lexicons: Lexicons, bluesky_sandbox: Any, bluesky_connector: Any, bluesky_token: Token
) -> None:
    """The checks fail for a renamed count, an invented field or a bad format (guards against a lax checker)."""
    post = bluesky_connector.publish(bluesky_token.access_token, "Drift")
    body = xrpc(
        bluesky_sandbox, "GET", "app.bsky.feed.getPosts", bluesky_token.access_token, params={"uris": [post.id]}
    ).json()
    ref = lexicons.output("app.bsky.feed.getPosts")
    body["posts"][0]["likes"] = body["posts"][0].pop("likeCount")
    with pytest.raises(AssertionError, match="likes: not declared"):
        lexicons.check(ref, body)
    body["posts"][0].pop("likes")
    body["posts"][0]["author"]["did"] = "alice"
    with pytest.raises(AssertionError, match="is not a 'did'"):
        lexicons.check(ref, body)
    with pytest.raises(AssertionError, match="longer than 300 graphemes"):
        lexicons.check("app.bsky.feed.post", {"text": "a" * 301, "createdAt": "2026-01-02T03:04:05Z"})


# ----------------------------------------------------------------------------------------------- images embed
def _images_lexicon(lexicons: Lexicons) -> tuple[int, int, list[str]]:
    """(images maxLength, image maxSize, image accept) as the stored app.bsky.embed.images says."""
    main, image = lexicons.defs["app.bsky.embed.images"], lexicons.defs["app.bsky.embed.images#image"]
    blob = image["properties"]["image"]
    return main["properties"]["images"]["maxLength"], blob["maxSize"], blob["accept"]


def test_the_connector_limits_are_the_lexicons(lexicons: Lexicons) -> None:
    most, max_size, accept = _images_lexicon(lexicons)
    assert (CONNECTOR_MAX_IMAGES, CONNECTOR_IMAGE_MAX_BYTES) == (most, max_size)
    assert accept == ["image/*"]  # every type in connectors.base.IMAGE_TYPES is an image/*
    assert set(lexicons.defs["app.bsky.embed.images#image"]["required"]) == {"image", "alt"}


def upload(sandbox: Any, token: Token, data: bytes, content_type: str = "image/png") -> dict[str, Any]:
    answer = xrpc(sandbox, "POST", "com.atproto.repo.uploadBlob", token.access_token, data=data,
                  headers={"Content-Type": content_type})  # fmt: skip
    assert answer.status_code == 200, answer.text
    blob: dict[str, Any] = answer.json()["blob"]
    return blob


def post_body(token: Token, embed: dict[str, Any]) -> dict[str, Any]:
    record = {"$type": "app.bsky.feed.post", "text": "Look", "createdAt": "2026-01-02T03:04:05.000Z", "embed": embed}
    return {"repo": jwt_claims(token.access_token)["sub"], "collection": "app.bsky.feed.post", "record": record}


def test_upload_blob_answer(lexicons: Lexicons, bluesky_sandbox: Any, bluesky_token: Token) -> None:
    """uploadBlob's lexicon is not among the stored ones: checked against it when it is, else as documented."""
    data = png(5, 5)
    blob = upload(bluesky_sandbox, bluesky_token, data, "application/octet-stream")  # the PDS sniffs the type
    if "com.atproto.repo.uploadBlob" in lexicons.defs:
        lexicons.check(lexicons.output("com.atproto.repo.uploadBlob"), {"blob": blob})
    assert set(blob) == {"$type", "ref", "mimeType", "size"} and blob["$type"] == "blob"
    assert re.match(FORMATS["cid"], blob["ref"]["$link"]) and blob["ref"]["$link"].startswith("bafkrei")
    assert (blob["mimeType"], blob["size"]) == ("image/png", len(data))


def test_a_post_with_images_is_valid_and_viewed_as_the_lexicons_say(
    lexicons: Lexicons, bluesky_sandbox: Any, bluesky_connector: Any, bluesky_token: Token
) -> None:
    most, _, _ = _images_lexicon(lexicons)
    media = [Media(png(3 + i, 2), "image/png", alt=f"Picture {i}") for i in range(most)]
    post = bluesky_connector.publish(bluesky_token.access_token, "Four https://example.com/4", media=media)
    (stored,) = bluesky_sandbox.posts()
    lexicons.check("app.bsky.feed.post", stored["record"])  # the embed is validated as app.bsky.embed.images
    assert stored["record"]["embed"]["$type"] == "app.bsky.embed.images"
    posts = xrpc(
        bluesky_sandbox, "GET", "app.bsky.feed.getPosts", bluesky_token.access_token, params={"uris": [post.id]}
    )
    lexicons.check(lexicons.output("app.bsky.feed.getPosts"), posts.json())
    (view,) = posts.json()["posts"]
    assert view["embed"]["$type"] == "app.bsky.embed.images#view"
    assert [i["alt"] for i in view["embed"]["images"]] == [f"Picture {i}" for i in range(most)]
    with pytest.raises(AssertionError, match="alt"):  # the checker does hold an image to the lexicon
        first = stored["record"]["embed"]["images"][0]["image"]
        lexicons.check("app.bsky.embed.images", {"images": [{"image": first}]})


def _refusals(lexicons: Lexicons, sandbox: Any, token: Token) -> list[tuple[str, dict[str, Any], str]]:
    """One embed breaking each constraint of app.bsky.embed.images, with the words the refusal must hold."""
    most, max_size, _ = _images_lexicon(lexicons)
    small = upload(sandbox, token, png(2, 2))
    big = upload(sandbox, token, png(2, 2, size=max_size + 1))
    text = upload(sandbox, token, b"plain words, not a picture", "text/plain")
    image = {"image": small, "alt": "ok"}
    return [
        ("more images than maxLength", {"images": [image] * (most + 1)}, f"must not have more than {most} elements"),
        ("no alt", {"images": [{"image": small}]}, 'must have the property "alt"'),
        ("not a blob ref", {"images": [{"image": {"cid": "x"}, "alt": "a"}]}, "should be a blob ref"),
        ("no images", {}, 'must have the property "images"'),
        ("blob over maxSize", {"images": [{"image": big, "alt": "a"}]}, f"maxSize is {max_size}"),
        ("type outside accept", {"images": [{"image": text, "alt": "a"}]}, "accepts image/*"),
    ]


def test_the_sandbox_refuses_embeds_breaking_the_lexicon(
    lexicons: Lexicons, bluesky_sandbox: Any, bluesky_token: Token
) -> None:
    for name, embed, words in _refusals(lexicons, bluesky_sandbox, bluesky_token):
        body = post_body(bluesky_token, {"$type": "app.bsky.embed.images", **embed})
        answer = xrpc(bluesky_sandbox, "POST", "com.atproto.repo.createRecord", bluesky_token.access_token, json=body)
        assert answer.status_code == 400, (name, answer.text)
        check_error(lexicons, "com.atproto.repo.createRecord", answer, "InvalidRequest")
        assert words in answer.json()["message"], (name, answer.json())
    assert bluesky_sandbox.posts() == []
