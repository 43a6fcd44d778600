"""What the emulated Bluesky PDS checks in a request, and how it reads a stored post: XRPC errors, the lexicon checks
of an ``app.bsky.feed.post`` record (limits, formats, facets against the text's UTF-8 bytes, images embeds, the blobs
they name) and the facets and images of a record, flattened for the control API and the pages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from sandbox.schemas.bluesky import (
    CREATE_RECORD_INPUT,
    CREATE_SESSION_INPUT,
    DELETE_RECORD_INPUT,
    EMBED_IMAGES,
    FACET_FEATURES,
    IMAGE_ACCEPT,
    IMAGE_MAX_BYTES,
    IMAGES_EMBED,
    LINK_FEATURE,
    MENTION_FEATURE,
    POST_COLLECTION,
    POST_RECORD,
    TAG_FEATURE,
    VALIDATOR,
)

DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]{1,2000}$")
URI = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_VALIDATORS = {
    name: VALIDATOR(schema)
    for name, schema in (
        ("createSession", CREATE_SESSION_INPUT),
        ("createRecord", CREATE_RECORD_INPUT),
        ("deleteRecord", DELETE_RECORD_INPUT),
        ("post", POST_RECORD),
        ("images", EMBED_IMAGES),
        ("blob", EMBED_IMAGES["properties"]["images"]["items"]["properties"]["image"]),
    )
}




class XrpcError(Exception):
    """An XRPC error answer: ``{"error": name, "message": text}``."""

    def __init__(self, status: int, name: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.message = message
        self.headers = dict(headers or {})


def invalid(message: str) -> XrpcError:
    return XrpcError(400, "InvalidRequest", message)


class StoredBlob(Protocol):
    mime_type: str
    size: int


class HoldsBlobs(Protocol):
    def blob(self, did: str, cid: str) -> StoredBlob | None: ...


FEATURE_KINDS = {LINK_FEATURE: ("link", "uri"), TAG_FEATURE: ("tag", "tag"), MENTION_FEATURE: ("mention", "did")}


def facet_spans(text: str, facets: Any) -> list[dict[str, Any]]:
    """Every link, tag and mention feature of a record's facets with the text its UTF-8 byte slice covers (what an
    app underlines): ``kind`` (link, tag, mention), ``value`` (the URI, the tag, the DID), ``byteStart``, ``byteEnd``
    and ``text``."""
    data = text.encode("utf-8")
    spans = []
    for facet in facets if isinstance(facets, list) else []:
        index = facet.get("index", {}) if isinstance(facet, dict) else {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        for feature in facet.get("features", []) if isinstance(facet, dict) else []:
            kind = FEATURE_KINDS.get(str(feature.get("$type"))) if isinstance(feature, dict) else None
            if kind is None:
                continue
            covered = data[start:end].decode("utf-8", "replace") if isinstance(start, int) else ""
            spans.append({"kind": kind[0], "value": feature.get(kind[1]), "byteStart": start, "byteEnd": end,
                          "text": covered})
    return spans


def facet_links(text: str, facets: Any) -> list[dict[str, Any]]:
    """Each link facet with the text its UTF-8 byte slice covers: ``uri``, ``byteStart``, ``byteEnd``, ``text``."""
    return [{"uri": f["value"], "byteStart": f["byteStart"], "byteEnd": f["byteEnd"], "text": f["text"]}
            for f in facet_spans(text, facets) if f["kind"] == "link"]


# ------------------------------------------------------------------------------------------------- validation
def schema_problem(kind: str, prefix: str, body: Any) -> None:
    """Raise the PDS's InvalidRequest for the first lexicon violation, worded as @atproto/lexicon words it."""
    errors = sorted(_VALIDATORS[kind].iter_errors(body), key=lambda x: (len(x.absolute_path), str(x.absolute_path)))
    if not errors:
        return
    err = errors[0]
    where = "/".join([prefix, *map(str, err.absolute_path)])
    if err.validator == "required":
        name = err.message.split("'")[1]
        raise invalid(f'{where} must have the property "{name}"')
    if err.validator == "type":
        article = "an" if str(err.validator_value)[0] in "aeiou" else "a"
        raise invalid(f"{where} must be {article} {err.validator_value}")
    if err.validator == "minimum":
        raise invalid(f"{where} can not be less than {err.validator_value}")
    if err.validator == "maxItems":
        raise invalid(f"{where} must not have more than {err.validator_value} elements")
    raise invalid(f"{where} {err.message}")


def check_post_record(record: dict[str, Any]) -> None:
    """What the PDS checks in an app.bsky.feed.post beyond JSON types: the lexicon's limits and formats."""
    schema_problem("post", "Record", record)
    if record.get("$type") not in (None, POST_COLLECTION):
        raise invalid(f"Invalid $type: expected {POST_COLLECTION}, got {record.get('$type')}")
    created = record["createdAt"]
    if not DATETIME.match(created):
        raise invalid("Record/createdAt must be an valid atproto datetime (both RFC-3339 and ISO-8601)")
    if "embed" in record:
        _check_embed(record["embed"])
    _check_facets(record["text"], record.get("facets", []))


def _check_facets(text: str, facets: list[dict[str, Any]]) -> None:
    """Each facet against the text's UTF-8 bytes and its feature's lexicon: a slice within the text, starting and
    ending between characters, and features of the known types well formed (a tag of at most 64 graphemes and 640
    bytes, without its ``#``; a mention's DID; a link's absolute URI).

    The reference PDS stores a facet that slices nothing or cuts a character (apps then drop it, so the link or tag
    is silently plain text); the sandbox refuses it, so a test sees the mistake the person would only notice later.
    """
    data = text.encode("utf-8")
    for i, facet in enumerate(facets):
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        where = f"Record/facets/{i}"
        if end < start:
            raise invalid(f"{where}/index: byteEnd is before byteStart")
        if end > len(data):
            raise invalid(f"{where}/index: byteEnd {end} is past the end of the text ({len(data)} bytes)")
        for name, at in (("byteStart", start), ("byteEnd", end)):
            if at < len(data) and data[at] & 0xC0 == 0x80:
                raise invalid(f"{where}/index: {name} {at} is inside a UTF-8 character, not between two")
        for j, feature in enumerate(facet["features"]):
            _check_feature(f"{where}/features/{j}", feature)


def _check_feature(where: str, feature: dict[str, Any]) -> None:
    kind = feature["$type"]
    schema = FACET_FEATURES.get(kind)
    if schema is None:
        return  # an open union: a feature of another type is stored as it is
    errors = sorted(VALIDATOR(schema).iter_errors(feature), key=lambda x: str(x.absolute_path))
    if errors:
        err = errors[0]
        path = "/".join([where, *map(str, err.absolute_path)])
        raise invalid(f"{path} {err.message}")
    if kind == MENTION_FEATURE and not DID.match(feature["did"]):
        raise invalid(f"{where}/did must be a valid did")
    if kind == LINK_FEATURE and not URI.match(feature["uri"]):
        raise invalid(f"{where}/uri must be a uri")


def _check_embed(embed: dict[str, Any]) -> None:
    """An ``app.bsky.embed.images`` embed checked against its lexicon: at most 4 images, each a blob ref with ``alt``,
    the blob's declared ``mimeType`` in the lexicon's ``accept`` and its ``size`` within ``maxSize``."""
    kind = embed["$type"]
    if kind != IMAGES_EMBED:
        raise invalid(f"Record/embed: the sandbox emulates {IMAGES_EMBED} embeds only, not {kind}")
    images = embed.get("images")
    if isinstance(images, list):
        for i, item in enumerate(images):
            blob = item.get("image") if isinstance(item, dict) else None
            if blob is not None and not _VALIDATORS["blob"].is_valid(blob):
                raise invalid(f"Record/embed/images/{i}/image should be a blob ref")
    schema_problem("images", "Record/embed", embed)
    for i, item in enumerate(embed["images"]):
        blob = item["image"]
        if not any(_mime_accepted(blob["mimeType"], pattern) for pattern in IMAGE_ACCEPT):
            raise invalid(f"Record/embed/images/{i}/image mimeType {blob['mimeType']} is not accepted: "
                          f"the lexicon accepts {', '.join(IMAGE_ACCEPT)}")  # fmt: skip
        if blob["size"] > IMAGE_MAX_BYTES:
            raise invalid(f"Record/embed/images/{i}/image is too big: {blob['size']} bytes, the lexicon's maxSize "
                          f"is {IMAGE_MAX_BYTES}")  # fmt: skip


def _mime_accepted(mime: str, pattern: str) -> bool:
    if pattern.endswith("/*"):
        return mime.startswith(pattern[:-1])
    return mime == pattern or pattern == "*/*"


def _record_blobs(value: Any) -> list[dict[str, Any]]:
    """Every blob ref anywhere in a record (as the PDS finds them, whatever validated the record)."""
    if isinstance(value, dict):
        if value.get("$type") == "blob":
            return [value]
        return [b for v in value.values() for b in _record_blobs(v)]
    if isinstance(value, list):
        return [b for v in value for b in _record_blobs(v)]
    return []


def check_blobs(state: HoldsBlobs, did: str, record: dict[str, Any]) -> None:
    """What the PDS checks of each blob a record names: uploaded by this repo, and the same type and size."""
    for ref in _record_blobs(record):
        link = ref.get("ref")
        cid = str(link.get("$link", "")) if isinstance(link, dict) else ""
        stored = state.blob(did, cid)
        if stored is None:
            raise XrpcError(400, "BlobNotFound", f"Could not find blob: {cid}")
        if ref.get("mimeType") != stored.mime_type:
            raise XrpcError(400, "InvalidMimeType", "Referenced Mimetype does not match stored blob. "
                            f"Expected: {stored.mime_type}, Got: {ref.get('mimeType')}")  # fmt: skip
        if ref.get("size") != stored.size:
            raise XrpcError(400, "InvalidSize", "Referenced Size does not match stored blob. "
                            f"Expected: {stored.size}, Got: {ref.get('size')}")  # fmt: skip


def embedded_images(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The images of a post's ``app.bsky.embed.images`` embed, flattened for the control API."""
    embed = record.get("embed")
    if not isinstance(embed, dict) or embed.get("$type") != IMAGES_EMBED:
        return []
    found = []
    for item in embed.get("images", []):
        blob = item.get("image", {})
        found.append({"cid": blob.get("ref", {}).get("$link"), "mime_type": blob.get("mimeType"),
                      "size": blob.get("size"), "alt": item.get("alt"), "aspect_ratio": item.get("aspectRatio")})
    return found
