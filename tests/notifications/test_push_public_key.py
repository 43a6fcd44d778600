"""The VAPID public key the preferences page hands the browser: kept in the instance folder once worked out, and
worked out again when the private key changes (a browser subscribing with a stale key would have every push
refused)."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

from advocacy import create_app
from advocacy.notifications import push


def _point(key: Vapid02) -> str:
    raw = key.public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _fresh(settings: dict[str, Any], **extra: Any) -> str:
    """``public_key()`` in a new app (nothing cached in the process), as a new web worker would answer it."""
    application = create_app({**settings, **extra})
    with application.app_context():
        return push.public_key()


def test_the_public_key_follows_the_private_key(settings):
    first = Vapid02()
    first.generate_keys()
    second = Vapid02()
    second.generate_keys()
    assert _fresh(settings, NOTIFY_PUSH_VAPID_PRIVATE_KEY=first.private_pem().decode()) == _point(first)
    assert _fresh(settings, NOTIFY_PUSH_VAPID_PRIVATE_KEY=first.private_pem().decode()) == _point(first)
    assert _fresh(settings, NOTIFY_PUSH_VAPID_PRIVATE_KEY=second.private_pem().decode()) == _point(second)
    generated = _fresh(settings, NOTIFY_PUSH_VAPID_PRIVATE_KEY="")  # the instance folder's own key
    application = create_app({**settings, "NOTIFY_PUSH_VAPID_PRIVATE_KEY": ""})
    with application.app_context():
        assert generated == _point(push.vapid())
    assert generated not in (_point(first), _point(second))
