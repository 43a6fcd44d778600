"""Fixtures for the delivery tests: a policy in force and the sandbox's control API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.delivery.support import Sandbox


@pytest.fixture()
def x(app: Any, sandbox: dict[str, str], policy: Any) -> Sandbox:
    """The X sandbox (reset by ``app``), with a policy people acknowledge."""
    return Sandbox(sandbox["x"])
