"""A web worker loads on first use what most requests never need (issue 18, ``bench/web_memory.py``): a freshly
started app has imported neither requests (nor urllib3, charset_normalizer, the outbound guard) nor the screening
libraries (phonenumbers, regex, python-stdnum, the Threads text rules); the first screened text imports them and
finds what it always found, and the first HTTP session imports requests with its default timeout."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import ROOT, settings_env

LAZY = ("requests", "urllib3", "charset_normalizer", "connectors.netguard", "phonenumbers", "regex", "stdnum",
        "connectors.threads")

FIRST_USE = rf"""
import json, sys
from advocacy import create_app
app = create_app()
def loaded():
    return sorted(m for m in {LAZY!r} if m in sys.modules)
out = {{"at_start": loaded()}}
client = app.test_client()
out["login_page"] = client.get("/login").status_code
out["after_page"] = loaded()
from advocacy.content import screening
text = ("Call +1 415 555 2671, card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32. " + "e\u0301" * 301)
found = screening.screen(text, networks=("bluesky", "threads"))
out["rules"] = sorted({{f.rule for f in found}})
out["after_screening"] = loaded()
out["threads_length"] = screening.measure("\U0001F600", "threads")
out["bluesky_length"] = screening.measure("e\u0301" * 3, "bluesky")
from connectors.base import http_session
session = http_session(timeout=3.5)
adapter = session.get_adapter("https://example.test/")
out["adapter"] = [type(adapter).__name__, adapter._timeout, session.headers["User-Agent"]]
out["after_session"] = loaded()
print(json.dumps(out))
"""


def test_first_use_loads_what_a_page_does_not_need(app: Any, settings: dict[str, Any]) -> None:
    # OUTBOUND_ALLOW empty, as installations have it by default: a set allow-list is checked at start by the outbound
    # guard (connectors.netguard), which imports requests
    env = settings_env(settings | {"OUTBOUND_ALLOW": ""})
    done = subprocess.run([sys.executable, "-c", FIRST_USE], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["at_start"] == []
    assert out["login_page"] == 200
    assert out["after_page"] == []
    assert {"phone", "payment_card", "iban", "length_bluesky"} <= set(out["rules"]), out["rules"]
    assert {"phonenumbers", "regex", "stdnum", "connectors.threads"} <= set(out["after_screening"])
    assert out["threads_length"] == 4  # an emoji counts as its UTF-8 bytes on Threads
    assert out["bluesky_length"] == 3  # graphemes: an e and its combining accent are one
    assert out["adapter"][0] == "TimeoutAdapter" and out["adapter"][1] == 3.5 and out["adapter"][2]
    assert {"requests", "urllib3"} <= set(out["after_session"])
