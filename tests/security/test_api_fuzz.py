"""Schemathesis over /api/openapi.json: generated requests, valid and not, never get a server error.

(schemathesis' pytest plugin does not run on this pytest; its strategies are driven with Hypothesis directly.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from advocacy.people import tokens

EXAMPLES = 10
PLUS_JSON_EXAMPLES = 5
# JSON bodies sent as other JSON media types (the API parses every application/*+json body as JSON)
PLUS_JSON = ("application/vnd.api+json", "application/merge-patch+json")


def fuzz(operation, mode, sent_as, examples, headers):
    """Send ``examples`` generated requests of ``operation``; JSON bodies as ``sent_as`` when given."""

    @given(case=operation.as_strategy(generation_mode=mode))
    # derandomized: the same examples on every run, so a failure reproduces and the suite never flakes on a draw
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              derandomize=True)
    def run(case):
        if sent_as and case.media_type == "application/json":
            case.media_type = sent_as  # the same body, serialized as JSON under another JSON media type
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    run()


def test_no_server_errors_for_any_operation(app, make_user, policy):
    admin = make_user("fuzz-admin@acme.test", "admin")
    _, secret = tokens.create(admin, "fuzz", "admin")
    headers = {"Authorization": f"Bearer {secret}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    failures = []
    for operation in operations:
        passes = [(mode, None, EXAMPLES) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
        if any(body.media_type == "application/json" for body in operation.body):
            passes += [(GenerationMode.NEGATIVE, media_type, PLUS_JSON_EXAMPLES) for media_type in PLUS_JSON]
        for mode, media_type, examples in passes:
            try:
                fuzz(operation, mode, media_type, examples, headers)
            except Unsatisfiable:  # nothing invalid to send: an operation without parameters or body
                continue
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}, "
                                f"{media_type or 'as documented'}): {exc}"[:2000])
    assert failures == [], "\n\n".join(failures)
