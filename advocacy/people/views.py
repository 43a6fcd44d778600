"""Sign-in, the social-media policy and opt-in."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from advocacy.auth import end_sessions, public, roles_required, sign_in, sign_out
from advocacy.errors import DomainError
from advocacy.extensions import limiter
from advocacy.people import services, sso, tokens
from advocacy.people.models import Role

bp = Blueprint("people", __name__)
log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never send someone to another host after sign-in."""
    if not target:
        return None
    parts = urlparse(target)
    if (parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(c) < 32 for c in target)):
        return None
    return target


@bp.get("/")
@public
def home() -> Any:
    """Send each person to the page their role starts on (after sign-in too): employees the feed, comms the
    studio, admins admin, analysts Reach."""
    if not current_user.is_authenticated:
        return redirect(url_for("people.login"))
    if current_user.has_role(Role.ANALYST):
        return redirect(url_for("reach.report"))
    if current_user.has_role(Role.ADMIN):
        return redirect(url_for("people.admin_home"))
    if current_user.has_role(Role.COMMS):
        return redirect(url_for("content.studio"))
    return redirect(url_for("delivery.feed"))


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _failed(response: Any) -> bool:
    return bool(response.status_code == 401)


def _account_key() -> str:
    return "account:" + request.form.get("email", "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed)
@limiter.limit(_login_limit, methods=["POST"], deduct_when=_failed, key_func=_account_key)
def login() -> Any:
    """Local sign-in with e-mail and password."""
    if request.method == "POST":
        user = services.authenticate(request.form.get("email", ""), request.form.get("password", ""))
        if user is None:
            flash("That e-mail and password do not match an active account.", "error")
            return render_template("people/login.html", email=request.form.get("email", "")), 401
        sign_in(user)
        return redirect(_safe_next(request.args.get("next")) or url_for("people.home"))
    return render_template("people/login.html", email="")


@bp.get("/login/sso")
@public
def sso_start() -> Any:
    """Send the person to the company's identity provider (OpenID Connect, with state, nonce and PKCE)."""
    if not sso.enabled():
        abort(404)
    session["sso.next"] = _safe_next(request.args.get("next"))
    return sso.client().authorize_redirect(url_for("people.sso_callback", _external=True))


@bp.get("/login/sso/callback")
@public
def sso_callback() -> Any:
    """Where the identity provider sends the person back: verify the ID token, find or create the person."""
    if not sso.enabled():
        abort(404)
    if request.args.get("error"):
        flash(f"Single sign-on did not complete: {request.args.get('error_description') or request.args['error']}.",
              "error")
        return redirect(url_for("people.login"))
    from authlib.integrations.base_client import OAuthError  # authlib loads only where SSO is used

    try:
        token = sso.client().authorize_access_token()
        user = sso.user_for(dict(token.get("userinfo") or {}))
    except (OAuthError, DomainError) as exc:
        log.warning("event=sso_failed error=%s", type(exc).__name__)
        flash(f"Single sign-on failed: {getattr(exc, 'description', None) or exc}. Please try again.", "error")
        return redirect(url_for("people.login"))
    if not user.active:
        flash("This account is deactivated.", "error")
        return redirect(url_for("people.login"))
    sign_in(user)
    return redirect(session.pop("sso.next", None) or url_for("people.home"))


@bp.post("/logout")
@public
def logout() -> Any:
    """Sign out: this session's cookie, even replayed, no longer signs anyone in (every session of the person ends)."""
    sign_out()
    return redirect(url_for("people.login"))


@bp.post("/settings/sessions/end")
@roles_required()
def end_my_sessions() -> Any:
    """Sign out everywhere: every browser signed in as me (this one included) is signed out."""
    sign_out()
    flash("You are signed out everywhere.", "success")
    return redirect(url_for("people.login"))


@bp.get("/policy")
@roles_required()
def policy() -> Any:
    """The current social-media policy, with acknowledgement and opt-in."""
    policy = services.current_policy()
    return render_template("people/policy.html", policy=policy,
                           body_html=services.render_markdown(policy.body_markdown) if policy else "",
                           acknowledged=services.has_acknowledged_current(current_user))


@bp.post("/policy/acknowledge")
@roles_required()
def acknowledge() -> Any:
    """Acknowledge the version of the policy the person read."""
    try:
        services.acknowledge_policy(current_user, int(request.form.get("version", "0") or 0))
        flash("Thank you: policy acknowledged.", "success")
    except (DomainError, ValueError) as exc:
        flash(str(exc), "error")
    return redirect(url_for("people.policy"))


@bp.post("/opt-in")
@roles_required()
def opt_in() -> Any:
    """Join the advocacy programme."""
    try:
        services.opt_in(current_user)
        flash("You are in. Connect an account and start sharing.", "success")
        return redirect(url_for("accounts.index"))
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("people.policy"))


@bp.post("/opt-out")
@roles_required()
def opt_out() -> Any:
    """Leave the programme: pending shares are cancelled and stored tokens deleted."""
    services.opt_out(current_user)
    flash("You have opted out. Pending shares were cancelled and your tokens deleted.", "success")
    return redirect(url_for("people.policy"))


@bp.route("/admin/policy", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def publish_policy() -> Any:
    """Publish a new version of the social-media policy: everyone is asked to acknowledge it again."""
    current = services.current_policy()
    form = {"title": current.title if current else "Social-media policy",
            "body_markdown": current.body_markdown if current else ""}
    if request.method == "POST":
        form = {f: request.form.get(f, "") for f in ("title", "body_markdown")}
        try:
            policy = services.publish_policy(current_user, form["title"], form["body_markdown"])
        except DomainError as exc:
            return render_template("admin/policy.html", form=form, errors={exc.field: exc.message},
                                   versions=services.policies()), exc.status
        flash(f"Version {policy.version} published: everyone is asked to acknowledge it.", "success")
        return redirect(url_for("people.publish_policy"))
    return render_template("admin/policy.html", form=form, errors={}, versions=services.policies())


@bp.get("/settings/tokens")
@roles_required()
def api_tokens() -> Any:
    """My API tokens: create one (shown once), see when each was last used, revoke."""
    return render_template("people/tokens.html", tokens=tokens.of(current_user),
                           grantable=tokens.GRANTABLE.get(current_user.role, ()), secret=None, errors={})


@bp.post("/settings/tokens")
@roles_required()
def create_api_token() -> Any:
    """Create a token; its secret is on this page only."""
    try:
        token, secret = tokens.create(current_user, request.form.get("name", ""), request.form.get("role", ""))
    except DomainError as exc:
        return render_template("people/tokens.html", tokens=tokens.of(current_user),
                               grantable=tokens.GRANTABLE.get(current_user.role, ()), secret=None,
                               errors={exc.field: exc.message}), 422
    return render_template("people/tokens.html", tokens=tokens.of(current_user),
                           grantable=tokens.GRANTABLE.get(current_user.role, ()), secret=secret, created=token,
                           errors={})


@bp.post("/settings/tokens/<int:token_id>/revoke")
@roles_required()
def revoke_api_token(token_id: int) -> Any:
    """Revoke one of my tokens at once."""
    try:
        tokens.revoke(current_user, token_id)
    except DomainError:
        abort(404)
    flash("Token revoked: it no longer works.", "success")
    return redirect(url_for("people.api_tokens"))


def _rollback() -> None:
    from advocacy.extensions import db

    db.session.rollback()


# ------------------------------------------------------------------------------------------------------ admin
ADMIN_LINKS = (  # (endpoint, label, what it is for); links whose page is not installed are left out
    ("people.admin_people", "People and roles", "add people, change their role and team, deactivate them"),
    ("people.admin_teams", "Teams", "create and rename teams (targeting and reports use them)"),
    ("scim_admin.tokens", "SCIM provisioning", "tokens for Okta or Microsoft Entra to provision people and teams"),
    ("reach.rate_cards", "Rate cards", "what a click, an impression and an engagement are worth, per network"),
    ("screening.rules", "Screening rules", "length limits, banned terms, personal data, the disclosure line"),
    ("people.publish_policy", "Policy versions", "publish the social-media policy everyone acknowledges"),
    ("audit.index", "Audit log and archive", "every action, and every post as it went out"),
    ("ops.operations_page", "Operations", "queues, workers, posting budgets and failed shares"),
    ("people.api_tokens", "API tokens", "personal tokens for the JSON API"),
    ("slack_admin.page", "Slack", "connect the Slack workspace: new talking points as DMs, review requests"),
    ("notifications.admin_defaults", "Notification defaults",
     "where people hear about new talking points until they choose: channels, how often, quiet hours"),
)


@bp.get("/admin")
@roles_required(Role.ADMIN)
def admin_home() -> Any:
    """One page linking every administration page."""
    links = [(url_for(e), label, why) for e, label, why in ADMIN_LINKS if e in current_app.view_functions]
    users, teams = services.people_and_teams()
    return render_template("admin/index.html", links=links, users=users, teams=teams)


def _people_page(form: dict[str, Any], errors: dict[str, str], status: int = 200, row: int | None = None) -> Any:
    users, teams = services.people_and_teams()
    return render_template("admin/people.html", users=users, teams=teams, roles=[r.value for r in Role], form=form,
                           errors=errors, row=row), status


@bp.get("/admin/people")
@roles_required(Role.ADMIN)
def admin_people() -> Any:
    """Everyone, with their role, team and whether they may sign in; a form to add a person."""
    return _people_page({"role": Role.EMPLOYEE.value}, {})


@bp.post("/admin/people")
@roles_required(Role.ADMIN)
def admin_add_person() -> Any:
    """Add a person; bad input shows the form again with what was typed (never the password) and the field."""
    form = {f: request.form.get(f, "") for f in ("email", "name", "role", "team_id")}
    try:
        user = services.add_person(current_user, password=request.form.get("password", ""), **form)
    except DomainError as exc:
        _rollback()
        return _people_page(form, {exc.field or "_form": exc.message}, exc.status)
    flash(f"Added {user.name} as {user.role}.", "success")
    return redirect(url_for("people.admin_people"))


@bp.post("/admin/people/<int:user_id>")
@roles_required(Role.ADMIN)
def admin_update_person(user_id: int) -> Any:
    """Change one person's role, team, or whether they may sign in."""
    from advocacy.extensions import db
    from advocacy.people.models import User

    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        services.update_person(current_user, user, role=request.form.get("role", ""),
                               team_id=request.form.get("team_id", ""), active="active" in request.form)
    except DomainError as exc:
        _rollback()
        return _people_page({"role": Role.EMPLOYEE.value}, {f"{user_id}.{exc.field}": exc.message}, exc.status,
                            row=user_id)
    flash(f"Saved {user.name}: {user.role}{'' if user.active else ', deactivated'}.", "success")
    return redirect(url_for("people.admin_people") + f"#person-{user.id}")


@bp.post("/admin/people/<int:user_id>/sign-out")
@roles_required(Role.ADMIN)
def admin_end_sessions(user_id: int) -> Any:
    """Sign a person out everywhere: every browser signed in as them must sign in again (their API tokens are left
    as they are: revoke those on their own, or deactivate the person)."""
    from advocacy.extensions import db
    from advocacy.people.models import User

    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    end_sessions(user, actor=current_user)
    if user.id == current_user.id:
        sign_out()
        return redirect(url_for("people.login"))
    flash(f"{user.name} is signed out everywhere.", "success")
    return redirect(url_for("people.admin_people") + f"#person-{user.id}")


@bp.route("/admin/teams", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_teams() -> Any:
    """Teams: create one, or rename one (POST with ``team_id``)."""
    from advocacy.extensions import db
    from advocacy.people.models import Team

    form: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = {"name": request.form.get("name", ""), "team_id": request.form.get("team_id", "")}
        team = None
        if form["team_id"]:
            number = int(form["team_id"]) if form["team_id"].isdigit() else 0
            team = db.session.get(Team, number) if 1 <= number <= 2**31 - 1 else None
            if team is None:
                abort(404)
        try:
            saved = services.save_team(current_user, form["name"], team)
        except DomainError as exc:
            _rollback()
            errors, status = {f"{form['team_id'] or 'new'}.{exc.field}": exc.message}, exc.status
        else:
            flash(f"Team {saved.name} saved.", "success")
            return redirect(url_for("people.admin_teams"))
    users, teams = services.people_and_teams()
    sizes = {t.id: sum(1 for u in users if u.team_id == t.id and u.active) for t in teams}
    return render_template("admin/teams.html", teams=teams, sizes=sizes, form=form, errors=errors), status
