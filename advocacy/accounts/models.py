"""An employee's connected account on one network, with its tokens encrypted at rest."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy.extensions import db
from advocacy.models_base import UTCDateTime, utcnow
from advocacy.people.models import User


class AccountStatus:
    ACTIVE = "active"
    REVOKED = "revoked"  # the person must reconnect
    DISCONNECTED = "disconnected"


class ConnectedAccount(db.Model):
    __tablename__ = "connected_accounts"
    __table_args__ = (UniqueConstraint("user_id", "network", name="uq_connected_accounts_user_network"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    network: Mapped[str] = mapped_column(String(32))
    network_user_id: Mapped[str] = mapped_column(String(128))
    handle: Mapped[str] = mapped_column(String(200))
    followers: Mapped[int | None] = mapped_column()
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    scope: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.ACTIVE)
    connected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    # the server the account lives on, for networks of many servers (Mastodon); None where there is one network
    server_url: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()


class MastodonApp(db.Model):
    """This app's registration on one Mastodon server (``POST /api/v1/apps``), made once and reused by everyone."""

    __tablename__ = "mastodon_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_url: Mapped[str] = mapped_column(String(255), unique=True)
    client_id: Mapped[str] = mapped_column(String(255))
    client_secret_encrypted: Mapped[str] = mapped_column(Text)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scopes: Mapped[str] = mapped_column(String(500))
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
