"""What the emulated Slack workspace remembers: its members, the app's grants and bot tokens, DMs, messages,
modal views and the interactions sent to the app. Every public method takes the lock."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.common import ControlError, SandboxState

CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "slack-sandbox-client-secret"
SIGNING_SECRET = "slack-sandbox-signing-secret"
TEAM_ID = "T0SANDBOX"
APP_ID = "A0ADVOCACY"
BOT_USER_ID = "U0ADVOBOT"
# the scope each Web API method needs (none: any valid token), as Slack's method reference lists them
METHOD_SCOPES: Mapping[str, str | None] = {
    "auth.test": None,
    "users.lookupByEmail": "users:read.email",
    "users.info": "users:read",
    "conversations.open": "im:write",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "views.open": None,
}
KNOWN_SCOPES = frozenset({"users:read", "users:read.email", "im:write", "chat:write", "im:history", "channels:read",
                          "commands", "team:read"})
# Slack's rate tiers per method and workspace (calls per minute); chat.postMessage ≈ 1 per second per channel,
# with bursts allowed: 60 a minute per channel here
DEFAULT_RATE_LIMITS = {"tier2": (20, 60), "tier3": (50, 60), "tier4": (100, 60), "post": (60, 60)}
METHOD_TIERS = {"users.lookupByEmail": "tier3", "users.info": "tier4", "conversations.open": "tier3",
                "chat.update": "tier3", "views.open": "tier4", "auth.test": "tier4", "chat.postMessage": "post"}
# the workspace the demo starts with: the demo people (tests reset it and add their own)
DEMO_MEMBERS = (("admin@example.com", "Ada Admin"), ("comms@example.com", "Chris Comms"),
                ("comms2@example.com", "Casey Comms"), ("employee@example.com", "Emma Employee"),
                ("analyst@example.com", "Andy Analyst"))


@dataclass
class Config:
    """What the control API can change (``POST /_sandbox/config``)."""

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    signing_secret: str = SIGNING_SECRET
    redirect_uris: str = ""  # whitespace-separated; empty: any http(s) URL is taken as registered
    interactivity_url: str = ""  # the app's Request URL for interactivity (where clicks are POSTed)
    team_name: str = "Acme (sandbox)"
    code_lifetime: int = 600
    trigger_lifetime: int = 3  # seconds a trigger_id can open a modal
    response_url_uses: int = 5
    response_url_lifetime: int = 1800
    max_blocks: int = 50
    rate_limits: dict[str, int] = field(default_factory=lambda: {k: v[0] for k, v in DEFAULT_RATE_LIMITS.items()})
    latency_ms: int = 0
    seed: int = 0


@dataclass
class Member:
    id: str
    email: str
    name: str
    deleted: bool = False


@dataclass
class Grant:
    redirect_uri: str
    scopes: tuple[str, ...]
    expires_at: float
    used: bool = False


@dataclass
class BotToken:
    scopes: tuple[str, ...]
    revoked: bool = False


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    edited: bool = False
    ephemeral_for: str | None = None  # a response_url answer seen only by this member


@dataclass
class View:
    id: str
    user: str
    view: dict[str, Any]
    open: bool = True


@dataclass
class ResponseUrl:
    channel: str
    ts: str
    user: str
    uses: int
    expires_at: float


@dataclass
class Interaction:
    """One payload sent to the app's Request URL, and what the app answered."""

    kind: str
    user: str
    action_id: str
    status: int
    answer: str
    at: float


class SlackState(SandboxState):
    """Everything the emulated Slack remembers."""

    config_class = Config
    rate_defaults = DEFAULT_RATE_LIMITS

    def reset(self) -> None:
        with self.lock:
            super().reset()
            self.members: dict[str, Member] = {}
            self.grants: dict[str, Grant] = {}
            self.tokens: dict[str, BotToken] = {}
            self.ims: dict[str, str] = {}  # member id -> DM channel id
            self.messages: list[Message] = []
            self.views: dict[str, View] = {}
            self.triggers: dict[str, tuple[str, float]] = {}  # trigger_id -> member, expiry
            self.response_urls: dict[str, ResponseUrl] = {}
            self.interactions: list[Interaction] = []
            self._ts = 0
            for email, name in DEMO_MEMBERS:
                self.upsert_user({"email": email, "name": name})

    # ------------------------------------------------------------------------------------------------ members
    def member_by_email(self, email: str) -> Member | None:
        with self.lock:
            return next((m for m in self.members.values() if m.email.lower() == email.lower()), None)

    def upsert_user(self, data: Mapping[str, Any]) -> dict[str, Any]:
        email = data.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ControlError("email is required: the member's e-mail address")
        for key in ("name",):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ControlError(f"{key} must be a string")
        if data.get("deleted") is not None and not isinstance(data["deleted"], bool):
            raise ControlError("deleted must be true or false (a deactivated member)")
        with self.lock:
            member = self.member_by_email(email)
            if member is None:
                member = Member(id="U" + secrets.token_hex(5).upper(), email=email,
                                name=data.get("name") or email.split("@")[0])
                self.members[member.id] = member
            if data.get("name"):
                member.name = data["name"]
            if data.get("deleted") is not None:
                member.deleted = data["deleted"]
            return self.member_view(member)

    def member_view(self, member: Member) -> dict[str, Any]:
        return {"id": member.id, "team_id": TEAM_ID, "name": member.email.split("@")[0], "real_name": member.name,
                "deleted": member.deleted, "is_bot": False, "profile": {"email": member.email,
                                                                        "real_name": member.name}}

    def user_views(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self.member_view(m) | {"dm": self.ims.get(m.id)} for m in self.members.values()]

    # ------------------------------------------------------------------------------------------------- tokens
    def expire_tokens(self, handle: str | None) -> int:
        return self.revoke_tokens(handle or "")  # Slack bot tokens do not expire (no rotation): revoke instead

    def revoke_tokens(self, handle: str) -> int:
        """Uninstall the app (``handle`` is ignored: a bot token belongs to the workspace)."""
        with self.lock:
            live = [t for t in self.tokens.values() if not t.revoked]
            for token in live:
                token.revoked = True
            return len(live)

    def new_token(self, scopes: tuple[str, ...]) -> str:
        with self.lock:
            token = f"xoxb-{TEAM_ID}-{secrets.token_hex(6)}-{secrets.token_urlsafe(18)}"
            self.tokens[token] = BotToken(scopes)
            return token

    # ------------------------------------------------------------------------------------------------ messages
    def next_ts(self) -> str:
        with self.lock:
            self._ts += 1
            return f"{int(time.time())}.{self._ts:06d}"

    def im_for(self, member_id: str) -> str:
        with self.lock:
            if member_id not in self.ims:
                self.ims[member_id] = "D" + secrets.token_hex(5).upper()
            return self.ims[member_id]

    def owner_of(self, channel: str) -> str | None:
        with self.lock:
            return next((m for m, c in self.ims.items() if c == channel), None)

    def message(self, channel: str, ts: str) -> Message | None:
        with self.lock:
            return next((m for m in self.messages if m.channel == channel and m.ts == ts and not m.ephemeral_for),
                        None)

    def post_views(self) -> list[dict[str, Any]]:
        """Every message (``GET /_sandbox/posts``), with whose DM it is in."""
        with self.lock:
            out = []
            for m in self.messages:
                owner = self.members.get(self.owner_of(m.channel) or "")
                out.append({"channel": m.channel, "ts": m.ts, "text": m.text, "blocks": m.blocks,
                            "edited": m.edited, "ephemeral_for": m.ephemeral_for,
                            "to": owner.email if owner else None})
            return out

    def set_metrics(self, post_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        raise ControlError("Slack messages have no metrics")

    def new_trigger(self, member_id: str) -> str:
        with self.lock:
            trigger = f"{int(time.time())}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"
            self.triggers[trigger] = (member_id, time.time() + self.config.trigger_lifetime)
            return trigger

    def new_response_url(self, base: str, channel: str, ts: str, member_id: str) -> str:
        with self.lock:
            key = secrets.token_urlsafe(18)
            self.response_urls[key] = ResponseUrl(channel, ts, member_id, self.config.response_url_uses,
                                                  time.time() + self.config.response_url_lifetime)
            return f"{base}/_hooks/actions/{TEAM_ID}/{key}"
