"""The SCIM 2.0 endpoint's views (``/scim/v2``, mounted by ``scim_views``): authenticated by an identity provider's
SCIM token alone (never a cookie, so no CSRF token either), answering ``application/scim+json``. Each view parses,
calls ``advocacy.people.scim`` and answers; errors are SCIM error bodies (``scimType`` and ``status``) and change
nothing. This module, and with it the schema library (scim2-models, pydantic, lark), is imported on the first
``/scim/v2`` request, not when the app starts."""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Response, g, request
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    NotFoundException,
    NotImplementedException,
    ResponseParameters,
    SCIMException,
    UnauthorizedException,
    UniquenessException,
)
from sqlalchemy.exc import IntegrityError

from advocacy.extensions import db
from advocacy.people import scim, scim_tokens
from advocacy.people import scim_schema as schema
from advocacy.security import HostileInput

log = logging.getLogger(__name__)


def _base() -> str:
    return request.host_url.rstrip("/") + "/scim/v2"


def _answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, default=str), status, headers=headers, mimetype=schema.MEDIA_TYPE)


def _error(exc: SCIMException) -> Response:
    error = exc.to_error()
    body = error.model_dump()
    body["status"] = str(error.status)
    return _answer(body, int(error.status or 400))


def authenticate() -> Response | None:
    """Before every SCIM request: the identity provider's bearer token, else a SCIM 401."""
    header = request.headers.get("Authorization", "")
    token = scim_tokens.authenticate(header[7:].strip()) if header[:7].lower() == "bearer " else None
    if token is None:
        response = _error(UnauthorizedException(detail="a valid SCIM bearer token is needed"))
        response.headers["WWW-Authenticate"] = 'Bearer realm="scim"'
        return response
    g.scim_source = f"scim:{token.name}"
    return None


def scim_error(exc: SCIMException) -> Response:
    db.session.rollback()
    return _error(exc)


def hostile(exc: HostileInput) -> Response:
    """What the hostile-input guard refuses (a body nested too deep, a NUL character): a SCIM error, not a page."""
    db.session.rollback()
    return _error(InvalidValueException(detail=f"{exc.field} {exc.problem}"))


def race(exc: IntegrityError) -> Response:
    """Two requests creating the same userName at once: the database's unique index refuses the second."""
    db.session.rollback()
    log.info("event=scim_conflict error=%s", type(exc.orig).__name__)
    return _error(UniquenessException(detail="a person or group with these unique values exists already"))


def validation_error(exc: ValidationError) -> Response:
    db.session.rollback()
    errors = Error.from_validation_errors(exc)
    body = errors[0].model_dump()
    body["status"] = str(errors[0].status or 400)
    return _answer(body, int(errors[0].status or 400))


def not_here(exc: Any) -> Response:
    return _error(NotFoundException(detail="no such SCIM endpoint")) if getattr(exc, "code", 404) == 404 else \
        _answer({"schemas": [Error.__schema__], "status": "405", "detail": "method not allowed"}, 405)


def _body() -> Any:
    from advocacy.security import check_json

    raw = request.get_data(as_text=True)
    try:
        body = check_json(raw)
    except ValueError:
        raise InvalidSyntaxException(detail="the body is not JSON") from None
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="the body must be a JSON object")
    return body


def _parameters(source: dict[str, Any]) -> ResponseParameters | None:
    """``attributes`` and ``excludedAttributes`` of a query string (comma-separated) or a search body (lists)."""
    wanted = {}
    for name in ("attributes", "excludedAttributes"):
        value = source.get(name) or []
        wanted[name] = [a.strip() for a in (value.split(",") if isinstance(value, str) else value) if a.strip()]
    return ResponseParameters.model_validate(wanted) if any(wanted.values()) else None


def _dump(resource: Any, parameters: ResponseParameters | None = None) -> dict[str, Any]:
    return dict(resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=parameters))


def _list(total: int, start: int, resources: list[Any], parameters: ResponseParameters | None = None) -> Response:
    return _answer({"schemas": [str(ListResponse.__schema__)], "totalResults": total, "startIndex": start,
                    "itemsPerPage": len(resources), "Resources": [_dump(r, parameters) for r in resources]})


def _query(source: dict[str, Any]) -> tuple[str | None, int, int, ResponseParameters | None]:
    """filter, startIndex, count and the attributes wanted, from a query string or a /.search body."""
    def number(name: str, default: int) -> int:
        raw = source.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise InvalidValueException(detail=f"{name} must be an integer") from None

    start = max(1, number("startIndex", 1))
    count = min(schema.MAX_RESULTS, max(0, number("count", schema.MAX_RESULTS)))
    text = source.get("filter")
    if text is not None and not isinstance(text, str):
        raise InvalidValueException(detail="filter must be a string")
    return text or None, start, count, _parameters(source)


def _one(resource: Any) -> Response:
    return _answer(_dump(resource, _parameters(request.args.to_dict())))


def _without_members() -> bool:
    return "members" in request.args.get("excludedAttributes", "")


# ---------------------------------------------------------------------------------------------- discovery
def service_provider_config() -> Response:
    """What this SCIM server supports (PATCH, filters; no bulk, sort or ETags)."""
    return _answer(schema.service_provider_config(_base()).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))


def resource_types() -> Response:
    """User and Group."""
    items = schema.resource_types(_base())
    return _list(len(items), 1, items)


def resource_type(name: str) -> Response:
    found = next((r for r in schema.resource_types(_base()) if r.id == name), None)
    if found is None:
        raise NotFoundException(detail=f"no resource type {name}")
    return _answer(_dump(found))


def schemas() -> Response:
    """The User and Group schemas, with only the attributes this app keeps."""
    items = schema.schemas(_base())
    return _list(len(items), 1, items)


def one_schema(urn: str) -> Response:
    found = next((s for s in schema.schemas(_base()) if str(s.id) == urn), None)
    if found is None:
        raise NotFoundException(detail=f"no schema {urn}")
    return _answer(_dump(found))


# -------------------------------------------------------------------------------------------------- users
def users() -> Response:
    """People, filtered (``userName eq "…"``, ``externalId eq "…"``) and paged (startIndex, count)."""
    return _users(request.args.to_dict())


def search_users() -> Response:
    """The same as GET /Users, with the query in a SearchRequest body."""
    return _users(_body())


def _users(source: dict[str, Any]) -> Response:
    text, start, count, parameters = _query(source)
    total, page = scim.list_users(schema.user_filter(text) if text else None, start, count)
    return _list(total, start, [scim.user_resource(u, _base()) for u in page], parameters)


def create_user() -> Response:
    """Provision a person (409 uniqueness when the userName is taken)."""
    user = scim.create_user(_body(), g.scim_source)
    return _created(scim.user_resource(user, _base()))


def _created(resource: Any) -> Response:
    return _answer(_dump(resource, _parameters(request.args.to_dict())), 201, {"Location": resource.meta.location})


def user(user_id: str) -> Response:
    return _one(scim.user_resource(scim.get_user(user_id), _base()))


def replace_user(user_id: str) -> Response:
    """Okta's update: the whole person; ``active: false`` deactivates them."""
    user = scim.replace_user(scim.get_user(user_id), _body(), g.scim_source)
    return _one(scim.user_resource(user, _base()))


def patch_user(user_id: str) -> Response:
    """Entra's update: PATCH operations; ``active`` replaced by false (or "False") deactivates them."""
    user = scim.patch_user(scim.get_user(user_id), _body(), _base(), g.scim_source)
    return _one(scim.user_resource(user, _base()))


def delete_user(user_id: str) -> Response:
    """Deprovision: deactivated as by an admin, and gone from SCIM (their past posts stay in the reports)."""
    scim.delete_user(scim.get_user(user_id), g.scim_source)
    return Response(status=204)


# ------------------------------------------------------------------------------------------------- groups
def groups() -> Response:
    """Teams provisioned as groups, filtered (``displayName eq``, ``externalId eq``) and paged."""
    return _groups(request.args.to_dict())


def search_groups() -> Response:
    return _groups(_body())


def _groups(source: dict[str, Any]) -> Response:
    text, start, count, parameters = _query(source)
    total, page = scim.list_groups(schema.group_filter(text) if text else None, start, count)
    members = "members" not in str(source.get("excludedAttributes") or "")
    return _list(total, start, [scim.group_resource(t, _base(), members) for t in page], parameters)


def create_group() -> Response:
    team = scim.create_group(_body(), g.scim_source)
    return _created(scim.group_resource(team, _base()))


def group(group_id: str) -> Response:
    return _one(scim.group_resource(scim.get_group(group_id), _base(), not _without_members()))


def replace_group(group_id: str) -> Response:
    team = scim.replace_group(scim.get_group(group_id), _body(), g.scim_source)
    return _one(scim.group_resource(team, _base()))


def patch_group(group_id: str) -> Response:
    """Members added and removed; an unknown member refuses the whole request."""
    team = scim.patch_group(scim.get_group(group_id), _body(), _base(), g.scim_source)
    return _one(scim.group_resource(team, _base(), not _without_members()))


def delete_group(group_id: str) -> Response:
    scim.delete_group(scim.get_group(group_id), g.scim_source)
    return Response(status=204)


def unknown(anything: str) -> Response:
    """Anything else under /scim/v2: a SCIM 405 for a method an endpoint does not take, else a SCIM 404
    (501 for a search across every resource type, which this server does not do)."""
    if anything == ".search":
        raise NotImplementedException(detail="search /Users/.search or /Groups/.search")
    if anything.split("/")[0] in ("ServiceProviderConfig", "ResourceTypes", "Schemas", "Users", "Groups"):
        return _answer({"schemas": [str(Error.__schema__)], "status": "405",
                        "detail": f"{request.method} is not allowed on /{anything}"}, 405)
    raise NotFoundException(detail=f"no SCIM endpoint /{anything}")


def handle(exc: Exception) -> Response:
    """A SCIM error body for what a view raised: SCIM's own errors and the schema's validation errors."""
    if isinstance(exc, ValidationError):
        return validation_error(exc)
    assert isinstance(exc, SCIMException)
    return scim_error(exc)


RAISED = (SCIMException, ValidationError)  # what ``handle`` answers (``scim_views`` catches these around each view)
