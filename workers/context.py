"""The Flask app a job runs in.

A job started by ``advocacy worker`` finds the worker's app context already pushed; after RQ forks a work horse,
the child must not reuse the parent's database connections, so the pool is dropped in the child (SQLAlchemy's
recipe for ``os.fork``).
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, current_app, has_app_context

_app: Flask | None = None


def app() -> Flask:
    """The current app: the pushed context's, or one created (once per process) from the environment."""
    global _app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _app is None:
        from advocacy import create_app

        _app = create_app()
        _app.app_context().push()
    return _app


def after_fork_in_child() -> None:
    if not has_app_context():
        return
    from advocacy.extensions import db

    engine: Any = db.engine
    engine.dispose(close=False)


os.register_at_fork(after_in_child=after_fork_in_child)
