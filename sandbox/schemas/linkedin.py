"""Our JSON Schema (draft 7) of the body LinkedIn accepts on ``POST /rest/posts``, and the other documented shapes.

LinkedIn publishes no machine-readable spec (no OpenAPI, no schema files), so nothing can be compared with one:
this module is written from LinkedIn's developer documentation (Posts API, Sign In with LinkedIn using OpenID
Connect, Member Post Analytics, the 3-legged OAuth flow, API versioning) and ``PLATFORMS.md``.
``tests/connectors/test_linkedin_shapes.py`` holds each documented shape explicitly instead of a conformance test.
Rules a schema cannot say (the author must be the token's member, duplicates, commentary length in characters) are
checked in code in ``sandbox/linkedin_web.py`` and ``sandbox/linkedin_state.py``, as LinkedIn checks them after
validating the record.
"""

from __future__ import annotations

from typing import Any

PERSON_URN = r"^urn:li:person:[A-Za-z0-9_-]{1,64}$"
AUTHOR_URN = r"^urn:li:(person|organization):[A-Za-z0-9_-]{1,64}$"
POST_URN = r"^urn:li:(share|ugcPost):[0-9]{1,20}$"
IMAGE_URN = r"^urn:li:image:[A-Za-z0-9_-]{1,64}$"
MEDIA_URN = r"^urn:li:(image|video|document):[A-Za-z0-9_-]{1,64}$"
MAX_ALT_TEXT = 4086  # characters of altText, per the Posts API documentation


def _obj(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


def _urn(pattern: str) -> dict[str, Any]:
    return {"type": "string", "pattern": pattern}


ARTICLE = _obj(
    {
        "source": {"type": "string", "format": "uri", "pattern": r"^https?://"},
        "title": {"type": "string", "maxLength": 400},
        "description": {"type": "string", "maxLength": 4086},
        "thumbnail": _urn(IMAGE_URN),
        "thumbnailAltText": {"type": "string", "maxLength": 4086},
    },
    required=("source",),
)

# Posts API content: one image, video or document (``media``), or 2 to 20 images (``multiImage``).
MEDIA = _obj(
    {"id": _urn(MEDIA_URN), "title": {"type": "string"}, "altText": {"type": "string", "maxLength": MAX_ALT_TEXT}},
    required=("id",),
)
MULTI_IMAGE_RANGE = (2, 20)
MULTI_IMAGE = _obj(
    {
        "images": {
            "type": "array",
            "minItems": MULTI_IMAGE_RANGE[0],
            "maxItems": MULTI_IMAGE_RANGE[1],
            "items": _obj(
                {"id": _urn(IMAGE_URN), "altText": {"type": "string", "maxLength": MAX_ALT_TEXT}}, required=("id",)
            ),
        },
        "options": {"type": "object"},
    },
    required=("images",),
)

POST_CREATE_REQUEST: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Posts API create request (advocacy sandbox, written from LinkedIn's documentation)",
    **_obj(
        {
            "author": _urn(AUTHOR_URN),
            "commentary": {"type": "string"},
            "visibility": {"type": "string", "enum": ["CONNECTIONS", "PUBLIC", "LOGGED_IN", "CONTAINER"]},
            "distribution": _obj(
                {
                    "feedDistribution": {"type": "string", "enum": ["MAIN_FEED", "NONE"]},
                    "targetEntities": {"type": "array", "items": {"type": "object"}},
                    "thirdPartyDistributionChannels": {"type": "array", "items": {"type": "string"}},
                },
                required=("feedDistribution",),
            ),
            "content": {
                "type": "object",
                "properties": {
                    "article": ARTICLE,
                    "media": MEDIA,
                    "multiImage": MULTI_IMAGE,
                    "poll": {"type": "object"},
                    "carousel": {"type": "object"},
                    "celebration": {"type": "object"},
                    "reference": {"type": "object"},
                },
                "additionalProperties": False,
                "minProperties": 1,
                "maxProperties": 1,
            },
            "contentLandingPage": {"type": "string", "pattern": r"^https?://"},
            "contentCallToActionLabel": {"type": "string"},
            "lifecycleState": {"type": "string", "enum": ["DRAFT", "PUBLISHED", "PUBLISH_REQUESTED", "PUBLISH_FAILED"]},
            "isReshareDisabledByAuthor": {"type": "boolean"},
            "reshareContext": _obj({"parent": _urn(POST_URN), "root": _urn(POST_URN)}, required=("parent",)),
            "container": {"type": "string"},
            "adContext": {"type": "object"},
        },
        required=("author", "visibility", "distribution", "lifecycleState"),
    ),
}

# Body fields the sandbox accepts by schema but does not emulate: a request using them gets a clear 422.
NOT_EMULATED = ("content.poll", "content.carousel", "content.celebration",
                "content.reference", "reshareContext", "container", "adContext", "contentLandingPage",
                "contentCallToActionLabel")  # fmt: skip

MAX_COMMENTARY = 3000  # characters of the commentary as received (escapes included), in UTF-16 code units; see sandbox

# Images API (``/rest/images``): ``POST ?action=initializeUpload`` names the owner and answers an upload URL (used with
# a PUT of the bytes, the member's token as bearer) and the image URN; the image is usable in a post once AVAILABLE.
INITIALIZE_UPLOAD_REQUEST = _obj(
    {"initializeUploadRequest": _obj({"owner": _urn(AUTHOR_URN), "mediaLibraryMetadata": {"type": "object"}},
                                     required=("owner",))},
    required=("initializeUploadRequest",),
)  # fmt: skip
IMAGE_STATUSES = ("WAITING_UPLOAD", "PROCESSING", "AVAILABLE", "PROCESSING_FAILED")
IMAGE_FORMATS = {"image/jpeg": "JPG", "image/png": "PNG", "image/gif": "GIF"}  # the documented formats
IMAGE_MAX_PIXELS = 36_152_320  # "images must have less than 36,152,320 pixels"

# OAuth 2.0 (3-legged): scopes a self-serve or partner app can hold; anything else is not authorized for an app.
SCOPES = frozenset(
    {"openid", "profile", "email", "w_member_social", "r_member_postAnalytics", "r_member_social",
     "r_member_profileAnalytics", "w_organization_social", "r_organization_social", "rw_organization_admin"}
)  # fmt: skip
ACCESS_TOKEN_LIFETIME = 60 * 86400  # 60 days
REFRESH_TOKEN_LIFETIME = 365 * 86400  # one year, not extended by refreshing

# GET /v2/userinfo (OpenID Connect): the claims LinkedIn documents, by scope.
USERINFO_CLAIMS = {
    "openid": ("sub",),
    "profile": ("name", "given_name", "family_name", "picture", "locale"),
    "email": ("email", "email_verified"),
}

# Member Post Analytics (``/rest/memberCreatorPostAnalytics``): the documented query types and the metric key.
ANALYTICS_QUERY_TYPES = ("IMPRESSION", "MEMBERS_REACHED", "RESHARE", "REACTION", "COMMENT")
METRIC_TYPE_KEY = "com.linkedin.adsexternalapi.memberanalytics.v1.CreatorPostAnalyticsMetricTypeV1"

# Versioned APIs (``/rest/``): ``LinkedIn-Version: YYYYMM``; a version lives about a year, then answers 426.
VERSION_FORMAT = r"^(20[0-9]{2})(0[1-9]|1[0-2])(\.[0-9]{2})?$"
VERSION_LIFETIME_MONTHS = 12
RESTLI_PROTOCOL_VERSION = "2.0.0"

# Error bodies: Rest.li's ``{"status", "serviceErrorCode", "code", "message"}``.
SERVICE_ERRORS = {
    "INVALID_ACCESS_TOKEN": (401, 65600, "Invalid access token"),
    "EXPIRED_ACCESS_TOKEN": (401, 65601, "The token used in the request has expired"),
    "REVOKED_ACCESS_TOKEN": (401, 65602, "The token used in the request has been revoked by the user"),
    "ACCESS_DENIED": (403, 100, "Not enough permissions to access: {resource}"),
    # {scope}: APPLICATION (the app's daily limit) or APPLICATION_AND_MEMBER (one member's, per app), as recorded
    "TOO_MANY_REQUESTS": (429, 101, "Resource level throttle {scope} DAY limit for calls to this resource is reached."),
}
