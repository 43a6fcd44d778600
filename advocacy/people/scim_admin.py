"""Admins create and revoke the SCIM tokens identity providers provision with (a page, and ``advocacy scim`` commands).

A cookie-authenticated admin page like the others (CSRF-checked); the SCIM endpoint itself is ``scim_views``.
"""

from __future__ import annotations

from typing import Any

import click
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from advocacy.auth import roles_required
from advocacy.errors import DomainError
from advocacy.people import scim_tokens as scim  # not ``scim``: its schema library loads with /scim/v2
from advocacy.people.models import Role

bp = Blueprint("scim_admin", __name__, cli_group="scim")


def _page(secret: str | None = None, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    return render_template("admin/scim.html", tokens=scim.all_tokens(), secret=secret, errors=errors or {},
                           endpoint=request.host_url.rstrip("/") + "/scim/v2"), status


@bp.get("/admin/scim")
@roles_required(Role.ADMIN)
def tokens() -> Any:
    """SCIM provisioning: the endpoint's address, and one token per identity provider."""
    return _page()


@bp.post("/admin/scim")
@roles_required(Role.ADMIN)
def create_token() -> Any:
    """Create a token for an identity provider; its secret is shown on this page only."""
    try:
        _, secret = scim.create_token(current_user, request.form.get("name", ""))
    except DomainError as exc:
        return _page(errors={exc.field or "name": exc.message}, status=422)
    return _page(secret=secret)


@bp.post("/admin/scim/<int:token_id>/revoke")
@roles_required(Role.ADMIN)
def revoke_token(token_id: int) -> Any:
    """Revoke a token: the identity provider's next request gets a 401."""
    try:
        token = scim.revoke_token(current_user, token_id)
    except DomainError:
        abort(404)
    flash(f"SCIM token {token.name} revoked: it no longer works.", "success")
    return redirect(url_for("scim_admin.tokens"))


@bp.cli.command("create-token")
@click.argument("name")
def create_token_command(name: str) -> None:
    """Create a SCIM token for the identity provider NAME and print it (shown once)."""
    try:
        _, secret = scim.create_token(None, name)
    except DomainError as exc:
        raise click.UsageError(f"{exc.field}: {exc.message}") from None
    click.echo(secret)


@bp.cli.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token_command(token_id: int) -> None:
    """Revoke the SCIM token TOKEN_ID."""
    try:
        token = scim.revoke_token(None, token_id)
    except DomainError as exc:
        raise click.UsageError(exc.message) from None
    click.echo(f"revoked {token.id} ({token.name})")


@bp.cli.command("tokens")
def list_tokens_command() -> None:
    """List the SCIM tokens: id, name, first characters, last use, revoked."""
    for t in scim.all_tokens():
        click.echo(f"{t.id}\t{t.name}\t{t.prefix}…\tlast used {t.last_used_at or 'never'}\t"
                   f"{'revoked ' + str(t.revoked_at) if t.revoked_at else 'active'}")
