"""The SCIM 2.0 endpoint at ``/scim/v2``, mounted without its schema library: the blueprint's routes and handlers are
registered when the app starts, and the views themselves (``scim_api``, with scim2-models, pydantic and lark: ~16 MiB
a web worker needs only for identity providers) are imported on the first ``/scim/v2`` request.

Authenticated by an identity provider's SCIM token alone (never a cookie, so no CSRF token either), answering
``application/scim+json``; errors are SCIM error bodies and change nothing. SCIM's own errors and the schema's
validation errors are answered around each view (their classes live in the library this module does not import);
hostile input, unique-index races, 404 and 405 by the blueprint's error handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from flask import Blueprint, Response
from sqlalchemy.exc import IntegrityError

from advocacy.auth import scim_token
from advocacy.security import HostileInput

bp = Blueprint("scim", __name__, url_prefix="/scim/v2")

ANY = ("GET", "POST", "PUT", "PATCH", "DELETE")
# rule, endpoint (the function of ``scim_api`` that answers), methods
ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/ServiceProviderConfig", "service_provider_config", ("GET",)),
    ("/ResourceTypes", "resource_types", ("GET",)),
    ("/ResourceTypes/<name>", "resource_type", ("GET",)),
    ("/Schemas", "schemas", ("GET",)),
    ("/Schemas/<path:urn>", "one_schema", ("GET",)),
    ("/Users", "users", ("GET",)),
    ("/Users/.search", "search_users", ("POST",)),
    ("/Users", "create_user", ("POST",)),
    ("/Users/<user_id>", "user", ("GET",)),
    ("/Users/<user_id>", "replace_user", ("PUT",)),
    ("/Users/<user_id>", "patch_user", ("PATCH",)),
    ("/Users/<user_id>", "delete_user", ("DELETE",)),
    ("/Groups", "groups", ("GET",)),
    ("/Groups/.search", "search_groups", ("POST",)),
    ("/Groups", "create_group", ("POST",)),
    ("/Groups/<group_id>", "group", ("GET",)),
    ("/Groups/<group_id>", "replace_group", ("PUT",)),
    ("/Groups/<group_id>", "patch_group", ("PATCH",)),
    ("/Groups/<group_id>", "delete_group", ("DELETE",)),
    ("/<path:anything>", "unknown", ANY),
)


def _api() -> ModuleType:
    """The views, imported on the first SCIM request (then Python's module cache answers)."""
    from advocacy.people import scim_api

    return scim_api


def _view(endpoint: str) -> Callable[..., Response]:
    @scim_token
    def view(**kwargs: Any) -> Response:
        api = _api()
        try:
            answer: Response = getattr(api, endpoint)(**kwargs)
        except api.RAISED as exc:
            return api.handle(exc)
        return answer

    view.__name__ = view.__qualname__ = endpoint
    return view


for _rule, _endpoint, _methods in ROUTES:
    bp.add_url_rule(_rule, _endpoint, _view(_endpoint), methods=list(_methods))


@bp.before_request
def _authenticate() -> Response | None:
    return _api().authenticate()


@bp.errorhandler(HostileInput)
def _hostile(exc: HostileInput) -> Response:
    """What the hostile-input guard refuses (a body nested too deep, a NUL character): a SCIM error, not a page."""
    return _api().hostile(exc)


@bp.errorhandler(IntegrityError)
def _race(exc: IntegrityError) -> Response:
    """Two requests creating the same userName at once: the database's unique index refuses the second."""
    return _api().race(exc)


@bp.errorhandler(404)
@bp.errorhandler(405)
def _not_here(exc: Any) -> Response:
    return _api().not_here(exc)
