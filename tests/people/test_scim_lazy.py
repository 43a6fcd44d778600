"""The SCIM endpoint is mounted without its schema library (scim2-models, pydantic, lark): a freshly started app
has not imported it, and the first /scim/v2 request imports it and answers exactly as SCIM does (a list, a created
person, a SCIM 404 body, a validation error, the 401 without a token)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import ROOT, settings_env

FIRST_REQUESTS = r"""
import json, sys
from advocacy import create_app
app = create_app()
out = {"loaded_at_start": sorted(m for m in ("scim2_models", "pydantic", "lark") if m in sys.modules)}
with app.app_context():
    from advocacy.people import scim_tokens
    _, secret = scim_tokens.create_token(None, "Okta")
out["loaded_after_token"] = "scim2_models" in sys.modules
client = app.test_client()
auth = {"Authorization": f"Bearer {secret}", "Content-Type": "application/scim+json"}
def call(method, path, body=None, headers=auth):
    r = client.open("/scim/v2" + path, method=method, headers=headers,
                    data=None if body is None else json.dumps(body))
    return {"status": r.status_code, "type": r.mimetype, "body": r.get_json(force=True, silent=True)}
out["no_token"] = call("GET", "/Users", headers={})
out["list"] = call("GET", "/Users")
out["create"] = call("POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                       "userName": "lazy@acme.test", "emails": [{"value": "lazy@acme.test",
                                                                                "primary": True}]})
out["missing"] = call("GET", "/Users/999999")
out["invalid"] = call("POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                        "userName": 12})
out["wrong_method"] = call("PUT", "/Users")
out["loaded_after"] = "scim2_models" in sys.modules
print(json.dumps(out))
"""


def test_first_scim_request_in_a_fresh_app(app: Any, settings: dict[str, Any]) -> None:
    done = subprocess.run([sys.executable, "-c", FIRST_REQUESTS], env=settings_env(settings), cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["loaded_at_start"] == []
    assert out["loaded_after_token"] is False  # the admin page's tokens need no schema library either
    assert out["no_token"]["status"] == 401
    assert out["no_token"]["body"]["status"] == "401"
    assert out["list"]["status"] == 200
    assert out["list"]["type"] == "application/scim+json"
    assert out["list"]["body"]["totalResults"] == 0
    assert out["create"]["status"] == 201, out["create"]
    assert out["create"]["body"]["userName"] == "lazy@acme.test"
    assert out["missing"]["status"] == 404
    assert out["missing"]["body"]["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert out["invalid"]["status"] == 400
    assert out["invalid"]["body"]["status"] == "400"
    assert out["wrong_method"]["status"] == 405
    assert out["loaded_after"] is True
