"""The ``advocacy`` command: Flask's CLI plus our own commands (demo, worker, seed-demo, create-user, settings)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from advocacy.config import ConfigError

DEMO_PASSWORD = "advocacy-demo"
DEMO_USERS = (
    ("admin@example.com", "Ada Admin", "admin", None),
    ("comms@example.com", "Chris Comms", "comms", "Communications"),
    ("comms2@example.com", "Casey Comms", "comms", "Communications"),
    ("employee@example.com", "Emma Employee", "employee", "Engineering"),
    ("analyst@example.com", "Andy Analyst", "analyst", "Marketing"),
)
POLICY = """# Social-media policy (demo)

1. Share only approved talking points, or your own words that follow this policy.
2. Every post carries the disclosure line: you work here, and readers must know it.
3. Never share confidential, internal-only or personal data about customers or colleagues.
4. You may stop at any time: opting out cancels what is pending and deletes your stored tokens.
"""


def _create_app_or_exit(info: Any = None) -> Flask:
    from advocacy import create_app

    try:
        return create_app()
    except ConfigError as exc:
        click.echo(f"advocacy: configuration error: {exc}", err=True)
        sys.exit(2)


def main() -> None:
    """Entry point of the ``advocacy`` console script."""
    cli = FlaskGroup(create_app=_create_app_or_exit, add_version_option=False, add_default_commands=True)
    cli(prog_name="advocacy")


def register_commands(app: Flask) -> None:
    for command in (worker, seed_demo, create_user, settings_table, demo, generate_key, rotate_keys):
        app.cli.add_command(command)
    from advocacy.reach.commands import reach_cli

    app.cli.add_command(reach_cli)


@click.command("worker")
@click.option("--queues", "queue_names", default="publish,default", show_default=True,
              help="comma-separated queues this worker serves, in priority order")
@click.option("--burst", is_flag=True, help="stop when the queues are empty")
@click.option("--no-scheduler", is_flag=True, help="do not run RQ's scheduler in this worker")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="shares posted at once by this process when it serves publish [default: ADVOCACY_WORKER_THREADS]")
@with_appcontext
def worker(queue_names: str, burst: bool, no_scheduler: bool, threads: int | None) -> None:
    """Run an RQ worker (with its scheduler) on the given queues; it survives a Redis restart."""
    from advocacy.extensions import redis_client
    from workers import process, queues, schedule

    names = [q.strip() for q in queue_names.split(",") if q.strip()]
    unknown = [n for n in names if n not in queues.ALL_QUEUES]
    if unknown:
        raise click.BadParameter(f"unknown queue(s) {', '.join(unknown)}; known: {', '.join(queues.ALL_QUEUES)}",
                                 param_hint="--queues")
    intervals = {"reach-rollup-clicks": current_app.config["REACH_ROLLUP_SECONDS"],
                 "reach-fetch-metrics": current_app.config["REACH_METRICS_POLL_SECONDS"]}
    intervals.update(schedule.intervals_from(current_app.config))
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    process.run(redis_client, names, burst=burst, with_scheduler=not no_scheduler,
                logging_level=current_app.config["LOG_LEVEL"], intervals=intervals,
                fork=current_app.config["WORKER_FORK"], threads=threads or current_app.config["WORKER_THREADS"],
                context=app.app_context)


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Create the demo users (one per role), a policy and demo talking points, if missing."""
    for line in seed():
        click.echo(line)


def seed() -> list[str]:
    from sqlalchemy import select

    from advocacy.content import images, workflow
    from advocacy.extensions import db
    from advocacy.people.models import PolicyVersion, Team, User
    from advocacy.people.services import create_user as make_user

    lines = []
    if db.session.scalar(select(PolicyVersion).limit(1)) is None:
        db.session.add(PolicyVersion(version=1, title="Social-media policy", body_markdown=POLICY))
    teams: dict[str, Team] = {t.name: t for t in db.session.scalars(select(Team))}
    for email, name, role, team_name in DEMO_USERS:
        team = None
        if team_name:
            team = teams.get(team_name) or Team(name=team_name)
            teams[team_name] = team
        if db.session.scalar(select(User).where(User.email == email)) is None:
            make_user(email, name, DEMO_PASSWORD, role, team)
        lines.append(f"  {role:<9} {email:<24} password: {DEMO_PASSWORD}")
    db.session.commit()
    from advocacy.content.models import TalkingPoint

    if db.session.scalar(select(TalkingPoint).limit(1)) is None:
        author = db.session.scalar(select(User).where(User.email == "comms@example.com"))
        approver = db.session.scalar(select(User).where(User.email == "comms2@example.com"))
        assert author and approver
        tp = workflow.create_talking_point(
            author, title="We are hiring platform engineers",
            link="https://example.com/careers/platform?ref=demo",
            text="Our platform team is hiring: remote-friendly, on-call that respects sleep, and real ownership.",
            hashtags="#hiring #platform", disclosure="#iworkforacme")
        images.set_image(tp, author, demo_png(), DEMO_ALT, "platform-team.png")
        workflow.submit(tp, author)
        workflow.approve(tp, approver)
        draft = workflow.create_talking_point(
            author, title="Our 2026 sustainability report is out",
            link="https://example.com/sustainability/2026",
            text="Scope 3 emissions down 18% year on year. The full report, method included:",
            hashtags="#sustainability", disclosure="#iworkforacme")
        workflow.submit(draft, author)
    return lines


DEMO_ALT = "Six bars rising from left to right, shading from blue to green: a team that keeps growing."


def demo_png(width: int = 240, height: int = 126) -> bytes:
    """A small PNG drawn here (zlib and struct, no imaging library): six bars rising on a pale background."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            bar, inside = divmod(x - 20, 34)
            top = height - 16 - (bar + 1) * 15
            if 0 <= bar < 6 and inside < 26 and top <= y < height - 16:
                rows += bytes((30 + bar * 20, 90 + bar * 18, 200 - bar * 8))
            else:
                rows += bytes((238, 243, 250))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits per channel, RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(rows), 9))
            + chunk(b"IEND", b""))


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "comms", "employee", "analyst"]), default="employee")
@click.password_option()
@with_appcontext
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create a local user."""
    from advocacy.errors import DomainError
    from advocacy.extensions import db
    from advocacy.people.services import create_user as make_user

    try:
        make_user(email, name, password, role)
    except DomainError as exc:
        raise click.BadParameter(exc.message, param_hint=exc.field) from None
    db.session.commit()
    click.echo(f"created {role} {email}")


@click.command("settings")
def settings_table() -> None:
    """Print every setting with its environment variable and default."""
    from advocacy.config import describe

    click.echo(describe())


@click.command("generate-key")
def generate_key() -> None:
    """Print a new key for ADVOCACY_TOKEN_KEYS."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@click.command("rotate-keys")
@click.option("--new-key", is_flag=True,
              help="embedded installs: first add a new key to the instance folder's token_keys file")
@with_appcontext
def rotate_keys(new_key: bool) -> None:
    """Re-encrypt every stored token with the first key of ADVOCACY_TOKEN_KEYS.

    With keys in the environment: put a new key first (advocacy generate-key), keep the old ones after it, restart
    the web and worker processes, run this, then drop the old keys and restart again. Every listed key decrypts,
    so nothing stops meanwhile.
    """
    import os

    from advocacy.accounts import crypto

    if new_key:
        if os.environ.get("ADVOCACY_TOKEN_KEYS"):
            raise click.UsageError("--new-key is for keys kept in the instance folder; ADVOCACY_TOKEN_KEYS is set, "
                                   "so put the new key first in it yourself")
        path = crypto.add_instance_key(current_app.instance_path)
        click.echo(f"added a new first key to {path}: restart the web and worker processes so they all know it, "
                   "then run 'advocacy rotate-keys' to re-encrypt what is stored")
        return
    done = crypto.rotate()
    click.echo(f"re-encrypted {done.values} values in {', '.join(done.columns)} with the first key")


# ------------------------------------------------------------------------------------------------------------ demo
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(env: dict[str, str], log_dir: Path,
                  state_dir: Path | None = None) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start the sandbox networks in their own process and wait for their URLs.

    With ``state_dir``, the networks keep their accounts, tokens and posts (saved when the process stops) and
    their ports across demo restarts: connected accounts store the sandbox URLs.
    """
    ready = Path(tempfile.mkdtemp()) / "ready.json"
    keep = ["--state-dir", str(state_dir)] if state_dir is not None else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--network", "all", "--host", "127.0.0.1", "--port", "0",
         "--ready-file", str(ready), *keep],
        env=env, stdout=open(log_dir / "sandbox.log", "ab"), stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise click.ClickException(f"the sandbox networks did not start; see {log_dir / 'sandbox.log'}")
        time.sleep(0.1)
    time.sleep(0.05)
    return proc, json.loads(ready.read_text())


def sandbox_env(urls: dict[str, str]) -> dict[str, str]:
    from advocacy.notifications.slack import demo as slack_demo

    x = urls["x"]
    return {
        "ADVOCACY_X_API_BASE_URL": x, "ADVOCACY_X_AUTHORIZE_URL": f"{x}/i/oauth2/authorize",
        "ADVOCACY_X_TOKEN_URL": f"{x}/2/oauth2/token", "ADVOCACY_X_WEB_BASE_URL": x,
        "ADVOCACY_X_CLIENT_ID": os.environ.get("ADVOCACY_X_CLIENT_ID") or "advocacy-demo",
        # the sandboxes listen on loopback, which URLs people choose may not reach unless allowed
        "ADVOCACY_OUTBOUND_ALLOW": ",".join(filter(None, (os.environ.get("ADVOCACY_OUTBOUND_ALLOW"), "127.0.0.1"))),
    } | linkedin_sandbox_env(urls["linkedin"]) | oidc_sandbox_env(urls) | fediverse_sandbox_env(urls) | (
        threads_sandbox_env(urls["threads"]) if "threads" in urls else {}) | smtp_sandbox_env(urls) | (
        slack_demo.sandbox_env(urls))


def smtp_sandbox_env(urls: dict[str, str]) -> dict[str, str]:
    """Send the e-mail (announcements, digests) to the SMTP sandbox, which keeps it in its inbox page."""
    if "smtp_server" not in urls or os.environ.get("ADVOCACY_NOTIFY_SMTP_HOST"):
        return {}
    server = urlsplit(urls["smtp_server"])
    return {"ADVOCACY_NOTIFY_SMTP_HOST": server.hostname or "127.0.0.1", "ADVOCACY_NOTIFY_SMTP_PORT": str(server.port),
            "ADVOCACY_NOTIFY_SMTP_STARTTLS": "false", "ADVOCACY_NOTIFY_MAIL_FROM": "advocacy@demo.test"}


def threads_sandbox_env(url: str) -> dict[str, str]:
    """Point the Threads settings (API, token calls, consent page, post pages) at the Threads sandbox at ``url``,
    with the one app the sandbox knows (``sandbox.threads``)."""
    return {
        "ADVOCACY_THREADS_API_BASE_URL": url, "ADVOCACY_THREADS_AUTHORIZE_URL": f"{url}/oauth/authorize",
        "ADVOCACY_THREADS_TOKEN_URL": f"{url}/oauth/access_token", "ADVOCACY_THREADS_WEB_BASE_URL": url,
        "ADVOCACY_THREADS_CLIENT_ID": "threads-sandbox-app", "ADVOCACY_THREADS_CLIENT_SECRET": "threads-sandbox-secret",
    }


def fediverse_sandbox_env(urls: dict[str, str]) -> dict[str, str]:
    """Suggest the Mastodon sandbox server on the connect form and sign Bluesky people in to the sandbox PDS.

    In the sandboxes any name works: the Mastodon consent page creates the account, and the Bluesky PDS takes any
    handle with an app-password-shaped password (``abcd-efgh-ijkl-mnop``). The Bluesky sandbox also serves the DID
    documents (as the PLC directory) and is the OAuth authorization server; the demo's plain-http public URL makes
    the app a loopback OAuth client, so no public URL is needed.
    """
    return {"ADVOCACY_MASTODON_DEFAULT_INSTANCE": urls["mastodon"], "ADVOCACY_BLUESKY_PDS_URL": urls["bluesky"],
            "ADVOCACY_BLUESKY_WEB_BASE_URL": urls["bluesky"], "ADVOCACY_BLUESKY_PLC_URL": urls["bluesky"]}


def oidc_sandbox_env(urls: dict[str, str]) -> dict[str, str]:
    """Single sign-on through the sandbox identity provider, unless the operator configured a real one."""
    if "oidc" not in urls or os.environ.get("ADVOCACY_OIDC_ISSUER"):
        return {}
    return {"ADVOCACY_OIDC_ISSUER": urls["oidc"], "ADVOCACY_OIDC_CLIENT_ID": "advocacy-demo",
            "ADVOCACY_OIDC_LABEL": "Sign in with the demo identity provider",
            "ADVOCACY_OIDC_ROLE_MAP": "advocacy-admins=admin,advocacy-comms=comms,marketing=analyst"}


def linkedin_sandbox_env(url: str) -> dict[str, str]:
    """Point the LinkedIn settings (API, OAuth, post pages, share dialog) at the LinkedIn sandbox at ``url``."""
    return {
        "ADVOCACY_LINKEDIN_API_BASE_URL": url, "ADVOCACY_LINKEDIN_AUTHORIZE_URL": f"{url}/oauth/v2/authorization",
        "ADVOCACY_LINKEDIN_TOKEN_URL": f"{url}/oauth/v2/accessToken", "ADVOCACY_LINKEDIN_WEB_BASE_URL": url,
        "ADVOCACY_LINKEDIN_SHARE_URL": f"{url}/sharing/share-offsite/",
        "ADVOCACY_LINKEDIN_CLIENT_ID": os.environ.get("ADVOCACY_LINKEDIN_CLIENT_ID") or "advocacy-demo",
        "ADVOCACY_LINKEDIN_CLIENT_SECRET": os.environ.get("ADVOCACY_LINKEDIN_CLIENT_SECRET") or "advocacy-demo-secret",
    }


@click.command("demo")
@click.option("--port", default=8000, show_default=True, help="port of the web app on 127.0.0.1")
@click.option("--workers", "web_workers", default=2, show_default=True, help="gunicorn web processes")
@with_appcontext
def demo(port: int, web_workers: int) -> None:
    """Run the whole product on this machine: web, worker with scheduler, embedded Redis, sandbox networks."""
    from flask_migrate import upgrade

    from workers import queues

    app = current_app
    log_dir = Path(app.instance_path) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    upgrade(revision="heads")  # branches from parallel work apply until merged
    users = seed()
    redis_url = app.config["REDIS_URL"] or queues.embedded_redis_url(app.instance_path)
    public_url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, REDIS_URL=redis_url, ADVOCACY_PUBLIC_URL=public_url,
               ADVOCACY_INSTANCE_PATH=app.instance_path, PYTHONUNBUFFERED="1")
    children: list[subprocess.Popen[bytes]] = []

    def stop(*_: Any) -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()

    try:
        sandbox, urls = start_sandbox(env, log_dir, Path(app.instance_path) / "sandbox")
        children.append(sandbox)
        env.update(sandbox_env(urls))
        from advocacy.notifications.demo_wiring import wire
        from advocacy.notifications.slack import demo as slack_demo

        where = wire(urls, env["ADVOCACY_OUTBOUND_ALLOW"])  # the demo employee's Teams chat and subscribed browser
        where += slack_demo.wire(urls, public_url)  # the Slack sandbox clicks back to this app
        # request logs and the worker's log go to instance/logs/, the terminal keeps the URLs and users
        children.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(web_workers),
             "--access-logfile", str(log_dir / "web-access.log"), "--error-logfile", str(log_dir / "web.log"),
             "--graceful-timeout", "10", "--no-control-socket", "wsgi:app"],
            env=env, cwd=str(Path(__file__).resolve().parent.parent),
            stdout=open(log_dir / "web.log", "ab"), stderr=subprocess.STDOUT))
        children.append(subprocess.Popen([sys.executable, "-m", "advocacy.cli", "worker"], env=env,
                                         stdout=open(log_dir / "worker.log", "ab"), stderr=subprocess.STDOUT))
        click.echo("\nadvocacy demo is running")
        click.echo(f"  open            {public_url}")
        for network, label in (("x", "X"), ("linkedin", "LinkedIn"), ("mastodon", "Mastodon"), ("bluesky", "Bluesky"),
                               ("threads", "Threads")):
            if network in urls:
                click.echo(f"  sandbox {label:<9}{urls[network]}  (posts: {urls[network]}/_sandbox/posts)")
        click.echo("                   Bluesky: OAuth with any handle such as you.bsky.social, or an app password "
                   "such as abcd-efgh-ijkl-mnop")
        if "smtp" in urls:
            click.echo(f"  mail inbox      {urls['smtp']}  (every e-mail the demo sends, by recipient)")
        for line in where:
            click.echo(line)
        click.echo(f"  health          {public_url}/healthz")
        click.echo(f"  logs            {log_dir}/ (web-access.log, web.log, worker.log, sandbox.log)")
        click.echo(f"  sandbox state   {Path(app.instance_path) / 'sandbox'} (kept across restarts; delete it to "
                   "start the networks empty)")
        click.echo("  demo users:")
        for line in users:
            click.echo(line)
        click.echo("  Ctrl-C stops everything.\n")
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        while all(c.poll() is None for c in children):
            time.sleep(0.5)
        failed = [c.args for c in children if c.poll() is not None]
        raise click.ClickException(f"a demo process stopped unexpectedly: {failed}")
    except KeyboardInterrupt:
        click.echo("\nstopping…")
    finally:
        stop()
        if not app.config["REDIS_URL"]:
            queues.stop_embedded(app.instance_path)


if __name__ == "__main__":
    main()
