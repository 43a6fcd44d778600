"""Our JSON Schema (draft 7) of the body X accepts on ``POST /2/tweets``.

Written by us for the sandbox; ``tests/connectors/test_x_conformance.py`` compares it with the official spec so the
two cannot drift apart silently. Rules JSON Schema cannot say (text or media must be present, the weighted length
of the text) are checked in code in ``sandbox/x/web.py``, as X checks them after schema validation.
"""

from __future__ import annotations

from typing import Any

NUMERIC_ID: dict[str, Any] = {"type": "string", "pattern": "^[0-9]{1,19}$"}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _id_list(min_items: int | None = None, max_items: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": NUMERIC_ID}
    if min_items is not None:
        schema["minItems"] = min_items
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


REPLY_AUDIENCES = ["following", "mentionedUsers", "subscribers", "verified"]

TWEET_CREATE_REQUEST: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "TweetCreateRequest (advocacy sandbox)",
    **_obj(
        {
            "text": {"type": "string"},
            "reply": _obj(
                {
                    "in_reply_to_tweet_id": NUMERIC_ID,
                    "exclude_reply_user_ids": _id_list(),
                    "auto_populate_reply_metadata": {"type": "boolean"},
                },
                required=("in_reply_to_tweet_id",),
            ),
            "quote_tweet_id": NUMERIC_ID,
            "reply_settings": {"type": "string", "enum": REPLY_AUDIENCES},
            "media": _obj(
                {"media_ids": _id_list(1, 4), "tagged_user_ids": _id_list(0, 10)},
                required=("media_ids",),
            ),
            "poll": _obj(
                {
                    "options": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 4,
                        "items": {"type": "string", "minLength": 1, "maxLength": 25},
                    },
                    "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 10080},
                    "reply_settings": {"type": "string", "enum": REPLY_AUDIENCES},
                },
                required=("options", "duration_minutes"),
            ),
            "geo": _obj({"place_id": {"type": "string"}}),
            "for_super_followers_only": {"type": "boolean"},
            "nullcast": {"type": "boolean"},
            "share_with_followers": {"type": "boolean"},
            "direct_message_deep_link": {"type": "string"},
            "card_uri": {"type": "string"},
            "community_id": NUMERIC_ID,
            "edit_options": _obj({"previous_post_id": NUMERIC_ID}, required=("previous_post_id",)),
        }
    ),
}

# Body fields the sandbox accepts by schema but does not emulate: a request using them gets a clear 400.
NOT_EMULATED = ("card_uri", "community_id", "direct_message_deep_link", "edit_options")

# Weighted length rules of twitter-text v3 (the counting X applies to the text of a post).
MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))  # one unit each; everything else counts two

# ----------------------------------------------------------------------------------------------------- media
# ``POST /2/media/upload`` in one request (the spec's ``MediaUploadRequestOneShot``), as JSON (``media`` base64) or
# multipart/form-data (``media`` the file; the other fields as form fields). Checked in code after the schema: the
# bytes themselves (an image X takes, no larger than IMAGE_MAX_BYTES, of the ``media_type`` named if one is).
MEDIA_CATEGORIES_ONE_SHOT = ["tweet_image", "dm_image", "subtitles"]
MEDIA_TYPES_ONE_SHOT = [
    "text/srt", "text/vtt", "image/jpeg", "image/bmp", "image/png", "image/webp", "image/pjpeg", "image/tiff"
]  # fmt: skip

MEDIA_UPLOAD_REQUEST: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "MediaUploadRequestOneShot (advocacy sandbox)",
    **_obj(
        {
            "additional_owners": {"type": "array", "items": NUMERIC_ID},
            "media": {"anyOf": [{"type": "string", "format": "binary"}, {"type": "string", "format": "byte"}]},
            "media_category": {"type": "string", "enum": MEDIA_CATEGORIES_ONE_SHOT},
            "media_type": {"type": "string", "enum": MEDIA_TYPES_ONE_SHOT},
            "shared": {"type": "boolean"},
        },
        required=("media", "media_category"),
    ),
}

# ``POST /2/media/metadata`` (``MetadataCreateRequest``): the sandbox emulates the alt text; the spec's other metadata
# (``METADATA_NOT_EMULATED``) get a clear 400. Open objects, as in the spec.
ALT_TEXT_MAX = 1000
METADATA_CREATE_REQUEST: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "MetadataCreateRequest (advocacy sandbox)",
    "type": "object",
    "properties": {
        "id": NUMERIC_ID,
        "metadata": {
            "type": "object",
            "properties": {
                "alt_text": {
                    "type": "object",
                    "properties": {"text": {"type": "string", "maxLength": ALT_TEXT_MAX}},
                    "required": ["text"],
                },
            },
        },
    },
    "required": ["id"],
}
METADATA_NOT_EMULATED = (
    "allow_download_status", "audience_policy", "content_expiration", "domain_restrictions", "found_media_origin",
    "geo_restrictions", "management_info", "preview_image", "sensitive_media_warning", "shared_info", "sticker_info",
    "upload_source",
)  # fmt: skip

# The chunked upload (``initialize``, ``append`` segments, ``finalize``, then ``GET /2/media/upload`` for the status
# while X processes it), the way GIFs go up (``tweet_gif``). ``MediaUploadConfigRequest`` and
# ``MediaUploadAppendRequest`` of the spec; the sandbox emulates ``tweet_gif`` and ``tweet_image``.
MEDIA_CATEGORIES = ["amplify_video", "tweet_gif", "tweet_image", "tweet_video", "dm_gif", "dm_image", "dm_video",
                    "subtitles"]
MEDIA_TYPES = [
    "video/mp4", "video/webm", "video/mp2t", "video/quicktime", "text/srt", "text/vtt", "image/jpeg", "image/gif",
    "image/bmp", "image/png", "image/webp", "image/pjpeg", "image/tiff", "model/gltf-binary", "model/vnd.usdz+zip",
]  # fmt: skip
MEDIA_INIT_REQUEST: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "MediaUploadConfigRequest (advocacy sandbox)",
    **_obj(
        {
            "additional_owners": {"type": "array", "items": NUMERIC_ID},
            "media_category": {"type": "string", "enum": MEDIA_CATEGORIES},
            "media_type": {"type": "string", "enum": MEDIA_TYPES},
            "shared": {"type": "boolean"},
            "total_bytes": {"type": "integer", "minimum": 0, "maximum": 17179869184},
        }
    ),
}
SEGMENT_INDEX: dict[str, Any] = {
    "oneOf": [
        {"type": "integer", "minimum": 0, "maximum": 999},
        {"type": "string", "pattern": "^[0-9]{1,3}$"},
    ]
}
MEDIA_APPEND_REQUEST: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "MediaUploadAppendRequest (advocacy sandbox)",
    "type": "object",
    "properties": {"media": {"type": "string"}, "segment_index": SEGMENT_INDEX},
    "required": ["media", "segment_index"],
}
GIF_MAX_BYTES = 15 * 1024 * 1024  # X's limit for a GIF (tweet_gif)
SEGMENT_MAX_BYTES = 5 * 1024 * 1024  # one appended segment
CHUNKED_CATEGORIES = {"tweet_gif": ("image/gif",), "tweet_image": ("image/jpeg", "image/png", "image/webp")}

# What X takes in one request for ``tweet_image`` (docs.x.com, media best practices): images up to 5 MB.
# GIFs are not among the one-shot ``media_type`` values: X takes them through the chunked upload (``tweet_gif``).
IMAGE_MAX_BYTES = 5 * 1024 * 1024
IMAGE_TYPES_ONE_SHOT = ("image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff")
MEDIA_LIFETIME = 86400  # seconds an uploaded image can be attached (``expires_after_secs``)
