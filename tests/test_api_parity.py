"""API parity: whatever a person does on the pages, a token of the same role does over the JSON API, through the same
domain function, documented in the OpenAPI document; a lower role is refused and bad input is a 422 naming the field.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from sqlalchemy import func, select

from advocacy.delivery.models import Share
from advocacy.extensions import db
from advocacy.people.models import Team, User
from tests.conftest import run_jobs
from tests.delivery.support import Sandbox, approved, employee
from tests.reach.conftest import rollup

# Every state-changing page action and the API operation that does the same. A page action added without an API
# operation (or without an entry here) fails test_every_page_action_has_an_api_operation.
PARITY = {
    "accounts.disconnect": ("DELETE", "/api/me/accounts/{account_id}"),
    "ops.retry_share": ("POST", "/api/operations/shares/{share_id}/retry"),
    "people.admin_add_person": ("POST", "/api/admin/people"),
    "people.admin_update_person": ("PATCH", "/api/admin/people/{user_id}"),
    "people.admin_end_sessions": ("POST", "/api/admin/people/{user_id}/sign-out"),
    "people.admin_teams": ("POST", "/api/admin/teams"),  # and PATCH /api/admin/teams/{team_id} to rename
    "people.publish_policy": ("POST", "/api/policy"),
    "people.opt_in": ("POST", "/api/policy/opt-in"),
    "people.opt_out": ("POST", "/api/policy/opt-out"),
    "people.acknowledge": ("POST", "/api/policy/acknowledge"),
    "people.create_api_token": ("POST", "/api/tokens"),
    "people.revoke_api_token": ("DELETE", "/api/tokens/{token_id}"),
    "scim_admin.create_token": ("POST", "/api/admin/scim-tokens"),
    "scim_admin.revoke_token": ("DELETE", "/api/admin/scim-tokens/{token_id}"),
    "screening.update": ("PUT", "/api/screening/rules/{key}"),
    "delivery.preferences": ("PUT", "/api/me/preferences"),
    "notifications.preferences": ("PUT", "/api/me/notifications"),
    "notifications.admin_defaults": ("PUT", "/api/admin/notification-defaults"),
    "delivery.renew_linkedin_consent": ("PUT", "/api/me/linkedin-consent"),
    "notify_setup.my_teams_webhook": ("PUT", "/api/me/teams-webhook"),
    "notify_setup.team_webhooks": ("PUT", "/api/admin/teams/{team_id}/teams-webhook"),
    "delivery.share": ("POST", "/api/shares"),
    "delivery.share_all": ("POST", "/api/shares/all"),
    "delivery.share_dialog": ("POST", "/api/shares/dialog"),
    "reach.leaderboard_preference": ("PUT", "/api/reach/me/preferences"),
    "reach.record_result": ("POST", "/api/reach/results"),
    "reach.add_rate_card": ("POST", "/api/reach/rate-cards"),
    "content.create": ("POST", "/api/talking-points"),
    "content.edit": ("PATCH", "/api/talking-points/{tp_id}"),
    "content.submit": ("POST", "/api/talking-points/{tp_id}/submit"),
    "content.approve": ("POST", "/api/talking-points/{tp_id}/approve"),
    "content.reject": ("POST", "/api/talking-points/{tp_id}/reject"),
    "content.comment": ("POST", "/api/talking-points/{tp_id}/comments"),
    "content.withdraw": ("POST", "/api/talking-points/{tp_id}/withdraw"),
    "content.image": ("PUT", "/api/talking-points/{tp_id}/image"),
    "content.remove_image": ("DELETE", "/api/talking-points/{tp_id}/image"),
    "content.refetch_link_preview": ("POST", "/api/talking-points/{tp_id}/link-preview"),
    "content.set_link_title": ("PATCH", "/api/talking-points/{tp_id}"),  # its ``link_title`` field
    "content.delete_post": ("POST", "/api/talking-points/{tp_id}/live-posts/{share_id}/delete"),
    "content.suggest": ("POST", "/api/talking-points/suggestions"),
    "integrations.add_source": ("POST", "/api/sources"),
    "integrations.edit_source": ("PATCH", "/api/sources/{source_id}"),
    "integrations.add_webhook": ("POST", "/api/webhooks/endpoints"),
    "integrations.edit_webhook": ("PATCH", "/api/webhooks/endpoints/{endpoint_id}"),
    "integrations.replay": ("POST", "/api/webhooks/deliveries/{delivery_id}/replay"),
    "slack_admin.disconnect": ("DELETE", "/api/admin/slack"),
    "slack_admin.check_me": ("POST", "/api/me/slack/lookup"),
    "oneclick.share": ("POST", "/api/shares"),  # a one-tap link's Share: a token shares directly
    "oneclick.email_again": ("POST", "/api/me/email/again"),
}
# Page actions that are about the browser itself, with nothing for a token to do.
BROWSER_ONLY = {
    "people.login": "a token is the API's sign-in",
    "people.logout": "a token has no session to end: revoke it (DELETE /api/tokens/{token_id})",
    "people.end_my_sessions": "ends browser sessions; a token is revoked instead",
    "accounts.connect": "connecting is the person's consent on the network's own page, in a browser",
    "slack_admin.start": "installing the Slack app is an admin's consent on Slack's own page, in a browser",
    "slack_interactivity.interactivity": "Slack's own signed request (a click in a DM), not a page action",
    "oneclick.not_for_me": "the answer to a one-tap link in a message; a token has no message to answer",
    "oneclick.unsubscribe_post": "a mail's List-Unsubscribe link; a token uses PUT /api/me/notifications",
}
# Pages that read, and the API operation that gives the same (with the same filters).
PAGE_READS = {
    "content.studio": "/api/talking-points",  # the library: q, status, topic, author
    "content.calendar_page": "/api/calendar",  # from, to (and tz)
    "content.calendar_day": "/api/calendar",  # one day: from = to
}
# Every report page and the CSV the API gives of it.
REPORT_CSV = {
    "reach.report": "/api/reach/talking-points",  # JSON; its CSV is /reach/export.csv
    "reach.leaderboard": "/api/reach/leaderboard.csv",
    "reach.rate_cards": "/api/reach/rate-cards.csv",
    "reach.impact": "/api/reach/me/impact.csv",
}


def test_every_page_action_has_an_api_operation(app, client):
    spec = client.get("/api/openapi.json").get_json()
    operations = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    actions = {rule.endpoint for rule in app.url_map.iter_rules()
               if not rule.rule.startswith(("/api/", "/scim/", "/static/"))
               and (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}}
    unmapped = sorted(actions - set(PARITY) - set(BROWSER_ONLY))
    assert unmapped == [], f"page actions without an API operation in PARITY: {unmapped}"
    missing = sorted(f"{e}: {m} {p}" for e, (m, p) in PARITY.items() if (m, p) not in operations)
    assert missing == [], f"API operations named in PARITY but not in the OpenAPI document: {missing}"
    assert {p for p in REPORT_CSV.values()} <= {p for _m, p in operations}
    for path in ("/api/reach/results.csv", "/api/reach/me/results.csv", "/api/archive/export"):
        assert ("GET", path) in operations
    missing_reads = sorted(f"{e}: GET {p}" for e, p in PAGE_READS.items() if ("GET", p) not in operations)
    assert missing_reads == [], f"pages whose JSON is not in the OpenAPI document: {missing_reads}"


# ------------------------------------------------------------------------------------------------------- helpers
def _token(browser: Any, role: str) -> str:
    made = browser.api("POST", "/api/tokens", {"name": f"{role} script", "role": role})
    assert made.status_code == 201, made.get_json()
    return str(made.get_json()["secret"])


def _bearer(client: Any, method: str, path: str, secret: str, json: Any = None) -> Any:
    return client.open(path, method=method, json=json, headers={"Authorization": f"Bearer {secret}"})


def _fields(answer: Any) -> dict[str, Any]:
    return dict(answer.get_json()["errors"]["json"])


# --------------------------------------------------------------------------------------- sharing in my own words
def test_share_in_my_own_words_over_the_api_is_screened_as_on_the_feed(app, sandbox, policy, browser_factory):
    tp = approved()
    fixed = approved("As written", employees_may_edit=False)
    employee("emma@acme.test", "emma_acme")
    emma = browser_factory("emma@acme.test")
    secret = _token(emma, "employee")
    api = emma.client

    typed = "Join us! This is CONFIDENTIAL, internal only."
    refused = _bearer(api, "POST", "/api/shares", secret, {"talking_point_id": tp.id, "network": "x", "text": typed})
    assert refused.status_code == 422 and "screening blocked it" in _fields(refused)["text"][0]
    page = emma.post("/share", {"talking_point_id": tp.id, "network": "x", "text": typed, "when": "now"})
    assert page.status_code == 422 and "Your wording: screening blocked it" in page.get_data(as_text=True)
    edited = _bearer(api, "POST", "/api/shares", secret, {"talking_point_id": fixed.id, "network": "x",
                                                          "text": "My own words"})
    assert edited.status_code == 403 and "shared as written" in edited.get_json()["message"]
    assert db.session.scalar(select(func.count(Share.id))) == 0  # nothing stored

    as_written = _bearer(api, "POST", "/api/shares", secret, {"talking_point_id": fixed.id, "network": "x",
                                                              "text": " Come build the platform with us. "})
    assert as_written.status_code == 201, as_written.get_json()  # the copy unchanged: shared as written
    ok = _bearer(api, "POST", "/api/shares", secret, {"talking_point_id": tp.id, "network": "x",
                                                      "text": "Great team, great work."})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["text"] == "Great team, great work. #hiring #iworkforacme"
    run_jobs(app)
    posted = Sandbox(sandbox["x"]).posts()
    assert len(posted) == 2 and any(p["text"].startswith("Great team, great work. #hiring #iworkforacme")
                                    for p in posted)


def test_schedule_share_all_and_share_dialog_over_the_api(app, sandbox, policy, browser_factory):
    import datetime as dt

    tp, later = approved(), approved("Later")
    employee("emma@acme.test", "emma_acme")
    emma = browser_factory("emma@acme.test")
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    scheduled = emma.api("POST", "/api/shares", {"talking_point_id": later.id, "network": "x", "scheduled_at": at,
                                                 "text": "Tomorrow, in my words."})
    assert scheduled.status_code == 201 and scheduled.get_json()["status"] == "scheduled"

    everywhere = emma.api("POST", "/api/shares/all", {"talking_point_id": tp.id})
    assert everywhere.status_code == 200
    assert [(o["network"], o["outcome"]) for o in everywhere.get_json()] == [("x", "shared")]
    again = emma.api("POST", "/api/shares/all", {"talking_point_id": tp.id}).get_json()
    assert [(o["network"], o["outcome"]) for o in again] == [("x", "already_shared")]
    assert emma.api("POST", "/api/shares/all", {"talking_point_id": "one"}).status_code == 422

    dialog = emma.api("POST", "/api/shares/dialog", {"talking_point_id": tp.id, "network": "facebook"})
    assert dialog.status_code == 201 and dialog.get_json()["share"]["status"] == "opened"
    assert "facebook.com" in dialog.get_json()["url"] and dialog.get_json()["share"]["code"] in dialog.get_json()["url"]
    assert set(_fields(emma.api("POST", "/api/shares/dialog", {"talking_point_id": tp.id, "network": "myspace"}))) \
        == {"network"}


# ---------------------------------------------------------------------------------------------------- preferences
def test_my_preferences_and_auto_share_topics_over_the_api(app, client, policy, make_user, browser_factory):
    make_user("emma@acme.test")
    emma = browser_factory("emma@acme.test")
    saved = emma.api("PUT", "/api/me/preferences", {"timezone": "Europe/Paris", "auto_share_topics": ["Hiring",
                                                    "#cloud"], "share_hours_start": 8, "digest": "daily"})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["auto_share_topics"] == ["hiring", "cloud"] and saved.get_json()["digest"] == "daily"
    page = emma.get("/preferences").get_data(as_text=True)
    assert "hiring cloud" in page and "Europe/Paris" in page  # the page shows what the API stored

    bad = emma.api("PUT", "/api/me/preferences", {"timezone": "Mars/Olympus", "digest": "hourly"})
    assert bad.status_code == 422 and set(_fields(bad)) == {"digest"}  # the schema's own check first
    bad = emma.api("PUT", "/api/me/preferences", {"timezone": "Mars/Olympus", "daily_share_cap": 2})
    assert bad.status_code == 422 and set(_fields(bad)) == {"timezone"}  # the domain's check, naming the field
    reversed_hours = emma.api("PUT", "/api/me/preferences", {"share_hours_end": 8})
    assert reversed_hours.status_code == 422 and set(_fields(reversed_hours)) == {"share_hours_end"}
    stored = emma.api("GET", "/api/me/preferences").get_json()
    assert stored["timezone"] == "Europe/Paris" and stored["daily_share_cap"] == 3  # nothing changed by the refusals
    assert client.get("/api/me/preferences").status_code == 401


# ------------------------------------------------------------------------------------------ admin: people, teams
def test_admin_manages_people_and_teams_over_the_api(app, make_user, browser_factory):
    make_user("ada@acme.test", "admin")
    make_user("chris@acme.test", "comms")
    ada, chris = browser_factory("ada@acme.test"), browser_factory("chris@acme.test")
    secret = _token(ada, "admin")

    team = _bearer(ada.client, "POST", "/api/admin/teams", secret, {"name": "Sales"})
    assert team.status_code == 201
    team_id = team.get_json()["id"]
    clash = _bearer(ada.client, "POST", "/api/admin/teams", secret, {"name": "sales"})
    assert clash.status_code == 422 and "exists already" in _fields(clash)["name"][0]
    renamed = _bearer(ada.client, "PATCH", f"/api/admin/teams/{team_id}", secret, {"name": "Sales EMEA"})
    assert renamed.status_code == 200 and db.session.get(Team, team_id).name == "Sales EMEA"

    person = _bearer(ada.client, "POST", "/api/admin/people", secret,
                     {"email": "bo@acme.test", "name": "Bo", "role": "employee", "team_id": team_id,
                      "password": "a long first password"})
    assert person.status_code == 201 and person.get_json()["team_id"] == team_id
    assert "password" not in person.get_json()
    bad = _bearer(ada.client, "POST", "/api/admin/people", secret,
                  {"email": "not-an-address", "name": "X", "role": "king", "password": "short"})
    assert bad.status_code == 422 and set(_fields(bad)) == {"role", "password"}
    bad_email = _bearer(ada.client, "POST", "/api/admin/people", secret,
                        {"email": "not-an-address", "name": "X", "password": "a long first password"})
    assert bad_email.status_code == 422 and set(_fields(bad_email)) == {"email"}

    bo_id = person.get_json()["id"]
    promoted = _bearer(ada.client, "PATCH", f"/api/admin/people/{bo_id}", secret, {"role": "comms"})
    assert promoted.status_code == 200 and promoted.get_json()["role"] == "comms"
    assert promoted.get_json()["team_id"] == team_id  # left out: unchanged
    gone = _bearer(ada.client, "PATCH", f"/api/admin/people/{bo_id}", secret, {"active": False})
    assert gone.status_code == 200 and gone.get_json()["active"] is False
    db.session.expire_all()
    assert db.session.get(User, bo_id).active is False
    me = db.session.scalar(select(User).where(User.email == "ada@acme.test"))
    myself = _bearer(ada.client, "PATCH", f"/api/admin/people/{me.id}", secret, {"role": "employee"})
    assert myself.status_code == 422 and set(_fields(myself)) == {"role"}
    assert _bearer(ada.client, "POST", f"/api/admin/people/{bo_id}/sign-out", secret).status_code == 204
    assert ada.api("GET", "/api/admin/people").status_code == 200

    for path, method, body in (("/api/admin/people", "GET", None), ("/api/admin/teams", "POST", {"name": "X"}),
                               (f"/api/admin/people/{bo_id}", "PATCH", {"active": True})):
        assert chris.api(method, path, body).status_code == 403  # comms is not admin
    narrow = _token(ada, "comms")  # an admin's own token narrowed to comms is refused too
    assert _bearer(ada.client, "GET", "/api/admin/people", narrow).status_code == 403


def test_a_narrowed_token_cannot_mint_a_wider_one(app, make_user, browser_factory):
    make_user("ada@acme.test", "admin")
    ada = browser_factory("ada@acme.test")
    employee_token = _token(ada, "employee")
    wider = _bearer(ada.client, "POST", "/api/tokens", employee_token, {"name": "escalate", "role": "admin"})
    assert wider.status_code == 422 and set(_fields(wider)) == {"role"}
    listed = _bearer(ada.client, "GET", "/api/tokens", employee_token).get_json()
    assert [t["role"] for t in listed] == ["employee"]
    revoked = _bearer(ada.client, "DELETE", f"/api/tokens/{listed[0]['id']}", employee_token)
    assert revoked.status_code == 204
    assert _bearer(ada.client, "GET", "/api/tokens", employee_token).status_code == 401  # revoked at once


# ---------------------------------------------------------------------------------------------------- operations
def test_retry_a_failed_share_over_the_api(app, sandbox, policy, make_user, browser_factory):
    from advocacy.delivery import services

    tp = approved()
    emma = employee("emma@acme.test", "emma_acme")
    share = services.create_share(emma, tp, "x")
    services.claim(share.id)
    services.mark_failed(share.id, "network said no")
    make_user("chris@acme.test", "comms")
    chris, mine = browser_factory("chris@acme.test"), browser_factory("emma@acme.test")
    assert mine.api("POST", f"/api/operations/shares/{share.id}/retry").status_code == 403
    again = chris.api("POST", f"/api/operations/shares/{share.id}/retry")
    assert again.status_code == 200 and again.get_json()["status"] == "queued"
    assert "retried by" in again.get_json()["last_error"]
    twice = chris.api("POST", f"/api/operations/shares/{share.id}/retry")
    assert twice.status_code == 422 and set(_fields(twice)) == {"status"}
    assert chris.api("POST", "/api/operations/shares/99999/retry").status_code == 404
    run_jobs(app)
    assert len(Sandbox(sandbox["x"]).posts()) == 1


def test_my_accounts_and_linkedin_consent_over_the_api(app, sandbox, policy, browser_factory):
    employee("emma@acme.test", "emma_acme")
    emma = browser_factory("emma@acme.test")
    accounts = emma.api("GET", "/api/me/accounts").get_json()
    assert [(a["network"], a["status"]) for a in accounts] == [("x", "active")]
    gone = emma.api("DELETE", f"/api/me/accounts/{accounts[0]['id']}")
    assert gone.status_code == 200 and gone.get_json()["status"] == "disconnected"
    assert "access_token" not in str(gone.get_json())

    given = emma.api("PUT", "/api/me/linkedin-consent", {"given": True})
    assert given.status_code == 200 and given.get_json()["given"] is True and given.get_json()["lapses_at"]
    assert emma.api("PUT", "/api/me/linkedin-consent", {"given": "maybe"}).status_code == 422
    withdrawn = emma.api("PUT", "/api/me/linkedin-consent", {"given": False})
    assert withdrawn.get_json()["given"] is False


# ---------------------------------------------------------------------------------------------------- CSV exports
def _rows(answer: Any) -> list[list[str]]:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    assert answer.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(answer.get_data(as_text=True))))


def test_csv_exports_of_every_report(app, sandbox, policy, make_user, browser_factory):
    from advocacy.reach.services import add_rate_card

    tp = approved()
    emma = employee("emma@acme.test", "emma_acme")
    emma.name = "=HYPERLINK(\"http://evil.test\")"
    db.session.commit()
    make_user("ana@acme.test", "analyst")
    ada = make_user("ada@acme.test", "admin")
    add_rate_card(ada, {"network": "x", "effective_from": "2026-01-01", "cpm": "5", "cpc": "0.5",
                        "per_engagement": "0.1", "currency": "EUR", "note": "+1 formula"})
    me, ana = browser_factory("emma@acme.test"), browser_factory("ana@acme.test")
    share = me.api("POST", "/api/shares", {"talking_point_id": tp.id, "network": "x"}).get_json()
    run_jobs(app)
    rollup()  # the figures the reports read
    recorded = me.api("POST", "/api/reach/results", {"share_id": share["id"], "kind": "lead", "note": "@SUM(A1)"})
    assert recorded.status_code == 201, recorded.get_json()
    board = _rows(me.get("/api/reach/leaderboard.csv", buffered=True))
    assert board[0] == ["rank", "user_id", "name", "shares", "unique_clicks", "engagements", "points"]
    assert any(r[2] == "'=HYPERLINK(\"http://evil.test\")" for r in board[1:]), board  # formula neutralised

    results = _rows(ana.get("/api/reach/results.csv", buffered=True))
    assert results[1][2:6] == ["lead", "'@SUM(A1)", str(share["id"]), "x"]
    assert me.get("/api/reach/results.csv", buffered=True).status_code == 403  # the results log is for readers
    mine = _rows(me.get("/api/reach/me/results.csv", buffered=True))
    assert len(mine) == 2 and mine[1][4] == str(share["id"])

    cards = _rows(ana.get("/api/reach/rate-cards.csv", buffered=True))
    assert cards[1][:3] == ["x", "1", "2026-01-01"] and cards[1][7] == "'+1 formula"
    assert me.get("/api/reach/rate-cards.csv", buffered=True).status_code == 403

    impact = me.get("/api/reach/me/impact.csv", buffered=True)
    assert impact.status_code == 200 and impact.get_data(as_text=True).startswith("share_id")

    for path in ("/api/reach/leaderboard.csv", "/api/reach/results.csv", "/api/reach/me/impact.csv"):
        bad = ana.get(f"{path}?from=yesterday", buffered=True)
        assert bad.status_code == 422 and set(_fields(bad)) == {"from"}, path
        reversed_range = ana.get(f"{path}?from=2026-05-02&to=2026-05-01", buffered=True)
        assert reversed_range.status_code == 422 and "from" in _fields(reversed_range)
    page = ana.get("/reach/rate-cards").get_data(as_text=True)
    assert re.search(r'href="/api/reach/rate-cards\.csv"', page)  # the page's CSV button
