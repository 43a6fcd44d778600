"""Clients of the social networks, one module each, usable on their own (nothing here imports ``advocacy``).

Importing this package fills the registry: ``connector_class("x")`` then returns ``XConnector``.
"""

from connectors import bluesky, linkedin, mastodon, threads, x
from connectors.base import (
    DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT,
    AppCredentials,
    AuthExpired,
    AuthRequest,
    AuthRevoked,
    ConfigurationError,
    Connector,
    ConnectorError,
    Duplicate,
    PostMetrics,
    Profile,
    PublishedPost,
    RateLimited,
    Rejected,
    Token,
    Transient,
    build,
    connector_class,
    http_session,
    register,
    registered_networks,
)
from connectors.bluesky import BlueskyConnector
from connectors.linkedin import LinkedInConnector
from connectors.mastodon import MastodonConnector
from connectors.threads import ThreadsConnector
from connectors.x import XConnector

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_USER_AGENT",
    "AppCredentials",
    "AuthExpired",
    "AuthRequest",
    "AuthRevoked",
    "BlueskyConnector",
    "ConfigurationError",
    "Connector",
    "ConnectorError",
    "Duplicate",
    "LinkedInConnector",
    "MastodonConnector",
    "PostMetrics",
    "Profile",
    "PublishedPost",
    "RateLimited",
    "Rejected",
    "ThreadsConnector",
    "Token",
    "Transient",
    "XConnector",
    "bluesky",
    "build",
    "connector_class",
    "http_session",
    "linkedin",
    "mastodon",
    "register",
    "registered_networks",
    "threads",
    "x",
]
