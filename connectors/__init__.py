"""Clients of the social networks, one module each, usable on their own (nothing here imports ``advocacy``).

A connector's module is imported the first time it is asked for, by name or by attribute: ``connector_class("x")``
imports ``connectors.x`` (which registers ``XConnector``) and returns the class; ``connectors.XConnector`` and
``connectors.x`` do the same. Importing this package, ``connectors.base``, ``connectors.netguard`` or
``connectors.media`` loads none of the clients and none of their libraries (authlib, joserfc, tweepy, oauthlib:
about 16 MiB that a web worker serving pages does not need until it talks to a network).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from connectors import base
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
    http_session,
    register,
)

if TYPE_CHECKING:  # for type checkers only: at run time these load on first use (``__getattr__``)
    from connectors import bluesky, linkedin, mastodon, threads, x
    from connectors.bluesky import BlueskyConnector
    from connectors.linkedin import LinkedInConnector
    from connectors.mastodon import MastodonConnector
    from connectors.threads import ThreadsConnector
    from connectors.x import XConnector

# network name -> the module that registers its connector (each module is named after its network)
NETWORKS = ("bluesky", "linkedin", "mastodon", "threads", "x")
_CLASSES = {"BlueskyConnector": "bluesky", "LinkedInConnector": "linkedin", "MastodonConnector": "mastodon",
            "ThreadsConnector": "threads", "XConnector": "x"}


def connector_class(name: str) -> type:
    """The connector class registered as ``name``, importing its module first if it is one of this package's.

    Raises:
        KeyError: no connector is registered under ``name``.
    """
    if name in NETWORKS:
        importlib.import_module(f"connectors.{name}")
    return base.connector_class(name)


def registered_networks() -> list[str]:
    """Every network with a connector: this package's (imported now) and any registered from elsewhere."""
    for name in NETWORKS:
        importlib.import_module(f"connectors.{name}")
    return base.registered_networks()


def build(name: str, settings: Mapping[str, Any], factory: Callable[..., Any] | None = None) -> Any:
    """Instantiate the connector registered as ``name`` with keyword settings (see each connector's ``__init__``)."""
    return base.build(name, settings, factory or connector_class(name))


def __getattr__(name: str) -> Any:
    """``connectors.x``, ``connectors.XConnector``…: the module is imported on first access (PEP 562)."""
    if name in NETWORKS:
        return importlib.import_module(f"connectors.{name}")
    if name in _CLASSES:
        return getattr(importlib.import_module(f"connectors.{_CLASSES[name]}"), name)
    raise AttributeError(f"module 'connectors' has no attribute {name!r}")


__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_USER_AGENT",
    "NETWORKS",
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
