"""Access control: every route declares who may use it, and the declaration holds for every role.

The walk covers the whole route table, so a route added without ``@roles_required(...)`` or ``@public`` fails here.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from advocacy.people.models import Role

ROLES = [r.value for r in Role]
# Flask's static files and flask-smorest's OpenAPI document are public by nature; they have no view of ours.
FRAMEWORK_ENDPOINTS = {"static"}
FRAMEWORK_BLUEPRINTS = {"api-docs"}
# A sign-out in the middle of the walk would sign the walker out; both are tested in tests/security.
SKIP = {("POST", "/logout"), ("POST", "/settings/sessions/end")}


def declared_roles(app: Any, endpoint: str, method: str) -> tuple[str, ...] | None:
    view = app.view_functions[endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is not None:  # flask-smorest MethodView: the decorators sit on each method
        view = getattr(view_class, method.lower(), None)
    return getattr(view, "allowed_roles", None)


def routes(app: Any) -> list[tuple[str, str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in FRAMEWORK_ENDPOINTS or rule.endpoint.split(".")[0] in FRAMEWORK_BLUEPRINTS:
            continue
        path = re.sub(r"<(?:int:)?[^>]+>", lambda m: "999999" if "int:" in m.group(0) else "zz-unknown", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (method, path) not in SKIP:
                found.append((rule.endpoint, method, path))
    return found


def test_every_route_declares_who_may_use_it(app):
    missing = [f"{method} {path} ({endpoint})" for endpoint, method, path in routes(app)
               if declared_roles(app, endpoint, method) is None]
    assert missing == [], "routes without @roles_required(...) or @public:\n" + "\n".join(missing)


@pytest.fixture()
def walkers(app, make_user, browser_factory):
    signed_in = {}
    for role in ROLES:
        make_user(f"{role}@walk.test", role)
        signed_in[role] = browser_factory(f"{role}@walk.test")
    return signed_in


def call(browser: Any, method: str, path: str) -> Any:
    """One request, read to its end inside the request (``buffered``): a streamed answer (a CSV export) would hold its
    request and its database session, in a transaction, until it was read, and PostgreSQL's clean-up between tests
    would wait on that transaction for ever."""
    if path.startswith("/api/"):
        return browser.client.open(path, method=method, json={}, headers={"X-CSRFToken": browser.token},
                                   buffered=True)
    if method == "GET":
        return browser.client.get(path, buffered=True)
    return browser.client.open(path, method=method, data={"csrf_token": browser.token}, buffered=True)


def test_every_role_gets_exactly_what_its_declaration_says(app, client, walkers):
    wrong = []
    for endpoint, method, path in routes(app):
        allowed = declared_roles(app, endpoint, method) or ()
        anonymous = client.open(path, method=method, json={} if path.startswith("/api/") else None, buffered=True)
        if "public" not in allowed:
            signed_out = anonymous.status_code == 401 or (
                anonymous.status_code in (302, 303) and "/login" in anonymous.headers.get("Location", ""))
            if not signed_out and anonymous.status_code != 400:  # 400: the CSRF check refused it even earlier
                wrong.append(f"anonymous {method} {path} -> {anonymous.status_code}")
        for role, browser in walkers.items():
            status = call(browser, method, path).status_code
            may = "public" in allowed or "any" in allowed or role in allowed
            refused = (401, 403) if "public" not in allowed else (403,)  # a public sign-in may answer 401 itself
            if may and status in refused:
                wrong.append(f"{role} {method} {path} -> {status}, but the route allows {allowed}")
            if not may and status != 403:
                wrong.append(f"{role} {method} {path} -> {status}, but only {allowed} may")
            if status >= 500:
                wrong.append(f"{role} {method} {path} -> {status}")
    assert wrong == [], "\n".join(wrong)
