"""Our JSON Schema (draft 7) of the body X accepts on ``POST /2/tweets``.

Written by us for the sandbox; ``tests/connectors/test_x_conformance.py`` compares it with the official spec so the
two cannot drift apart silently. Rules JSON Schema cannot say (text or media must be present, the weighted length
of the text) are checked in code in ``connectors/sandbox/x.py``, as X checks them after schema validation.
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
