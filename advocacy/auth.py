"""Who is signed in (session cookies, bearer tokens, signing out), and which roles may use a view."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from advocacy.extensions import csrf, db, login
from advocacy.people.models import User

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)


SESSION_GENERATION = "_generation"  # the session key holding the person's session generation at sign-in


def bearer_secret(req: Any) -> str | None:
    """The secret of ``Authorization: Bearer …`` on a JSON API request, or None."""
    header = req.headers.get("Authorization", "")
    if not req.path.startswith("/api/") or not header.startswith("Bearer "):
        return None
    return str(header[len("Bearer "):].strip())


def sign_in(user: User) -> None:
    """Start a signed-in session for ``user``, tied to their current session generation."""
    login_user(user)
    session[SESSION_GENERATION] = user.session_generation


def sign_out() -> None:
    """Sign out: the person's session generation moves on, so this session's cookie, replayed, signs nobody in.

    A stateless session cookie cannot be taken back one by one: every session of the person ends with it.
    """
    if current_user.is_authenticated and not getattr(current_user, "token_role", None):
        end_sessions(current_user)
    logout_user()
    session.pop(SESSION_GENERATION, None)


def end_sessions(user: User, actor: User | None = None) -> None:
    """Sign ``user`` out everywhere: every session cookie issued before now stops working at its next request.

    Args:
        user: the person whose sessions end.
        actor: who asks for it when it is not the person themself (an admin); recorded in the audit log.
    """
    user.session_generation = (user.session_generation or 0) + 1
    if actor is not None and actor.id != user.id:
        from advocacy.audit.services import record

        record(actor, "user_signed_out_everywhere", "user", user.id)
    db.session.commit()
    log.info("event=sessions_ended user_id=%s by=%s", user.id, actor.id if actor is not None else user.id)


def init_app(app: Flask) -> None:
    login.login_view = "people.login"
    login.login_message = "Please sign in."

    @login.user_loader
    def load_user(user_id: str) -> User | None:
        """The person of a session cookie, while the session's generation is still theirs.

        A JSON API request carrying a bearer token is authenticated by the token alone, never by a cookie beside it.
        """
        if bearer_secret(request) is not None or not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or session.get(SESSION_GENERATION) != user.session_generation:
            return None
        return user

    @login.request_loader
    def load_from_token(req: Any) -> User | None:
        """``Authorization: Bearer adv_…`` on the JSON API: the token's owner, with the token's role in force."""
        secret = bearer_secret(req)
        if secret is None:
            return None
        from advocacy.people import tokens

        user = tokens.authenticate(secret)
        g.bearer_authenticated = user is not None
        return user

    @app.before_request
    def csrf_for_cookie_sessions() -> None:
        """CSRF protects what a browser's cookie authenticates. It is skipped only for a request a valid bearer token
        authenticated (a browser never sends one on its own); a write carrying a token that does not authenticate is
        refused whatever cookie comes with it."""
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return
        if request.blueprint == "scim":  # the identity provider's SCIM token alone authenticates it, never a cookie
            return
        if bearer_secret(request) is not None:
            current_user._get_current_object()  # runs the loaders: the token is checked now
            if g.get("bearer_authenticated"):
                return
            abort(401)  # a token that does not authenticate: the cookie beside it does not count either
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


def scim_token(view: F) -> F:
    """Declare a SCIM view: no person's session or role opens it, only an identity provider's SCIM token, checked
    on every request by the SCIM blueprint (``advocacy.people.scim_views``). To the route × role walk it is open to
    every role alike (each gets the same 401 without the token)."""
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
