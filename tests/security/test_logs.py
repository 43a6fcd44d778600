"""Logs never carry tokens or passwords, even at DEBUG level, through the whole loop."""

from __future__ import annotations

import logging

from sqlalchemy import select

from advocacy.accounts.models import ConnectedAccount
from advocacy.accounts.services import refresh, token_of
from advocacy.extensions import db
from tests.conftest import PASSWORD, connect_x, run_jobs


def test_the_loop_logs_no_secret(app, caplog, browser_factory, make_user, policy):
    from tests.e2e.test_employee_journey import approved_talking_point

    caplog.set_level(logging.DEBUG)  # every logger, libraries included
    tp = approved_talking_point(make_user)
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    emma.post("/policy/acknowledge", {"version": 1})
    emma.post("/opt-in")
    connect_x(emma, "emma_acme")
    account = db.session.scalars(select(ConnectedAccount)).one()
    first = token_of(account)
    second = refresh(account)
    assert emma.post("/share", {"talking_point_id": tp.id, "network": "x"}).status_code == 302
    run_jobs(app)

    logged = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "event=published" in logged  # the capture did see the loop
    for secret in (PASSWORD, first.access_token, first.refresh_token, second.access_token, second.refresh_token):
        assert secret and secret not in logged
    assert app.config["SECRET_KEY"] not in logged
