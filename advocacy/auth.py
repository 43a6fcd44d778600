"""Who is signed in, and which roles may use a view."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required

from advocacy.extensions import csrf, db, login
from advocacy.people.models import User

F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Flask) -> None:
    login.login_view = "people.login"
    login.login_message = "Please sign in."

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    @login.request_loader
    def load_from_token(req: Any) -> User | None:
        """``Authorization: Bearer adv_…`` on the JSON API: the token's owner, with the token's role in force."""
        header = req.headers.get("Authorization", "")
        if not req.path.startswith("/api/") or not header.startswith("Bearer "):
            return None
        from advocacy.people import tokens

        return tokens.authenticate(header[len("Bearer "):].strip())

    @app.before_request
    def csrf_for_cookie_sessions() -> None:
        """CSRF protects what a browser's cookie authenticates; a bearer token is not sent by a browser on its own."""
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        if request.path.startswith("/api/") and request.headers.get("Authorization", "").startswith("Bearer "):
            return
        if app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect(apply_exemptions=True)

    @login.unauthorized_handler
    def unauthorized() -> Any:
        if request.path.startswith("/api/"):
            abort(401)
        return redirect(url_for("people.login", next=request.full_path if request.query_string else request.path))


def public(view: F) -> F:
    """Declare a view open to anyone, signed in or not (the route × role test requires a declaration on every view)."""
    view.allowed_roles = ("public",)  # type: ignore[attr-defined]
    return view


def roles_required(*roles: str) -> Callable[[F], F]:
    """Let signed-in users with one of ``roles`` in; others get 403 (``roles`` empty: any signed-in user)."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if roles and not current_user.has_role(*roles):
                if request.path.startswith("/api/"):
                    abort(403)
                flash("Your role does not give access to that page.", "error")
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = roles or ("any",)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate
