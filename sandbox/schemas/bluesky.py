"""Our JSON Schemas of the XRPC inputs and the post record a Bluesky PDS accepts, written by us for the sandbox.

``tests/connectors/test_bluesky_conformance.py`` compares them with the official lexicons so the two cannot drift
apart silently. Lexicon strings are limited in UTF-8 bytes (``maxLength``) and in grapheme clusters
(``maxGraphemes``); JSON Schema's own ``maxLength`` counts code points, so ours say ``maxBytes`` and ``maxGraphemes``,
two keywords ``VALIDATOR`` adds. A lexicon array's ``maxLength`` (a count of items) is our ``maxItems``. Objects stay
open to unknown fields, as lexicon objects are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import regex

STRING: dict[str, Any] = {"type": "string"}


def _string(fmt: str | None = None, **limits: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", **limits}
    if fmt:
        schema["format"] = fmt
    return schema


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _union(*refs: str) -> dict[str, Any]:
    """A lexicon union: an object naming its member in ``$type`` (open: other types are let through)."""
    return {"type": "object", "required": ["$type"], "x-union": list(refs)}


STRONG_REF = _obj({"uri": _string("at-uri"), "cid": _string("cid")}, ("uri", "cid"))

BYTE_SLICE = _obj(
    {"byteStart": {"type": "integer", "minimum": 0}, "byteEnd": {"type": "integer", "minimum": 0}},
    ("byteStart", "byteEnd"),
)
FACET_FEATURES = {
    "app.bsky.richtext.facet#mention": _obj({"did": _string("did")}, ("did",)),
    "app.bsky.richtext.facet#link": _obj({"uri": _string("uri")}, ("uri",)),
    "app.bsky.richtext.facet#tag": _obj({"tag": _string(maxBytes=640, maxGraphemes=64)}, ("tag",)),
}
FACET = _obj(
    {"index": BYTE_SLICE, "features": {"type": "array", "items": _union(*FACET_FEATURES)}},
    ("index", "features"),
)

POST_EMBEDS = (
    "app.bsky.embed.images",
    "app.bsky.embed.video",
    "app.bsky.embed.gallery",
    "app.bsky.embed.external",
    "app.bsky.embed.record",
    "app.bsky.embed.recordWithMedia",
)
# app.bsky.embed.images: a blob is ``{"$type": "blob", "ref": {"$link": cid}, "mimeType", "size"}`` (the atproto data
# model); the lexicon's ``accept`` and ``maxSize`` of the image blob are kept in ``x-blob``, checked by the sandbox
# against what was uploaded. ``app.bsky.embed.defs#aspectRatio`` is not among the lexicons stored beside us: its shape
# (width and height, integers >= 1, both required) is written from the documentation, its name kept in ``x-ref``.
IMAGE_MAX_BYTES = 2_000_000  # app.bsky.embed.images#image: image maxSize ("up to 2 MB, formerly limited to 1 MB")
IMAGE_ACCEPT = ("image/*",)
MAX_IMAGES = 4  # app.bsky.embed.images: images maxLength
BLOB: dict[str, Any] = {
    "type": "object",
    "properties": {
        "$type": {"const": "blob"},
        "ref": _obj({"$link": _string("cid")}, ("$link",)),
        "mimeType": STRING,
        "size": {"type": "integer", "minimum": 0},
    },
    "required": ["$type", "ref", "mimeType", "size"],
}
ASPECT_RATIO: dict[str, Any] = {
    **_obj(
        {"width": {"type": "integer", "minimum": 1}, "height": {"type": "integer", "minimum": 1}}, ("width", "height")
    ),
    "x-ref": "app.bsky.embed.defs#aspectRatio",
}
EMBED_IMAGE = _obj(
    {
        "image": {**BLOB, "x-blob": {"accept": list(IMAGE_ACCEPT), "maxSize": IMAGE_MAX_BYTES}},
        "alt": STRING,
        "aspectRatio": ASPECT_RATIO,
    },
    ("image", "alt"),
)
EMBED_IMAGES = _obj({"images": {"type": "array", "maxItems": MAX_IMAGES, "items": EMBED_IMAGE}}, ("images",))
IMAGES_EMBED = "app.bsky.embed.images"

TEXT_SLICE = _obj(
    {"start": {"type": "integer", "minimum": 0}, "end": {"type": "integer", "minimum": 0}}, ("start", "end")
)

POST_RECORD: dict[str, Any] = {
    "title": "app.bsky.feed.post (advocacy sandbox)",
    **_obj(
        {
            "text": _string(maxBytes=3000, maxGraphemes=300),
            "entities": {
                "type": "array",
                "items": _obj({"index": TEXT_SLICE, "type": STRING, "value": STRING}, ("index", "type", "value")),
            },
            "facets": {"type": "array", "items": FACET},
            "reply": _obj({"root": STRONG_REF, "parent": STRONG_REF}, ("root", "parent")),
            "embed": _union(*POST_EMBEDS),
            "langs": {"type": "array", "maxItems": 3, "items": _string("language")},
            "labels": _union("com.atproto.label.defs#selfLabels"),
            "tags": {"type": "array", "maxItems": 8, "items": _string(maxBytes=640, maxGraphemes=64)},
            "createdAt": _string("datetime"),
        },
        ("text", "createdAt"),
    ),
}

CREATE_SESSION_INPUT = _obj(
    {"identifier": STRING, "password": STRING, "authFactorToken": STRING, "allowTakendown": {"type": "boolean"}},
    ("identifier", "password"),
)
CREATE_RECORD_INPUT = _obj(
    {
        "repo": _string("at-identifier"),
        "collection": _string("nsid"),
        "rkey": _string("record-key", maxBytes=512),
        "validate": {"type": "boolean"},
        "record": {"type": "object"},  # lexicon "unknown": checked against the collection's record lexicon
        "swapCommit": _string("cid"),
    },
    ("repo", "collection", "record"),
)
DELETE_RECORD_INPUT = _obj(
    {
        "repo": _string("at-identifier"),
        "collection": _string("nsid"),
        "rkey": _string("record-key"),
        "swapRecord": _string("cid"),
        "swapCommit": _string("cid"),
    },
    ("repo", "collection", "rkey"),
)

GET_POSTS_MAX_URIS = 25  # app.bsky.feed.getPosts: uris maxLength
POST_COLLECTION = "app.bsky.feed.post"
LINK_FEATURE = "app.bsky.richtext.facet#link"
TAG_FEATURE = "app.bsky.richtext.facet#tag"
MENTION_FEATURE = "app.bsky.richtext.facet#mention"


# ------------------------------------------------------------------------------------------------- validation
def graphemes(text: str) -> int:
    """Grapheme clusters in ``text``, as the lexicon's ``maxGraphemes`` counts them.

    Args:
        text: any string.
    """
    return len(regex.findall(r"\X", text))


def _max_bytes(
    validator: Any, limit: int, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if isinstance(instance, str) and len(instance.encode("utf-8")) > limit:
        yield jsonschema.ValidationError(f"must not be longer than {limit} characters")


def _max_graphemes(
    validator: Any, limit: int, instance: Any, schema: dict[str, Any]
) -> Iterator[jsonschema.ValidationError]:
    if isinstance(instance, str) and graphemes(instance) > limit:
        yield jsonschema.ValidationError(f"must not be longer than {limit} graphemes")


VALIDATOR = jsonschema.validators.extend(
    jsonschema.Draft202012Validator, {"maxBytes": _max_bytes, "maxGraphemes": _max_graphemes}
)
