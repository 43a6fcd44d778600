"""Emulated social networks for tests and the demo: one Flask app per network, started by ``runner``.

Production code never imports this package; only the demo command and the tests start it.
"""

from sandbox.runner import NETWORKS, SandboxServer, start, start_all

__all__ = ["NETWORKS", "SandboxServer", "start", "start_all"]
