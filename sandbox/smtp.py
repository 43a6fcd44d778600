"""SMTP sandbox: a mail server (aiosmtpd) that keeps every message it accepts, and a web inbox per recipient.

The SMTP listener runs beside the sandbox's web app (``SmtpState.listen``, started by ``sandbox.runner``; its address
is ``smtp://127.0.0.1:<port>`` under the name ``smtp_server``). It refuses what a real server refuses:

- a recipient in a domain that cannot receive mail (``.invalid``, ``.example``, ``.test`` is fine; a domain without a
  dot) is **550 5.1.2**; a mailbox named ``unknown``/``nobody`` is **550 5.1.1** (a permanent refusal on RCPT);
- a message over ``max_size`` bytes (SIZE in EHLO, 10 MB unless configured) is **552**;
- a line over 998 characters (RFC 5321 4.5.3.1.6) is **500 5.5.2**;
- an injected fault (``POST /_sandbox/faults {"rcpt": "a@b.test", "code": 451, "message": "…"}``; ``"*"`` for every
  recipient) answers RCPT with that code, once or ``times`` times: 4xx is a temporary failure, 5xx a refusal.

Pages: ``/`` lists recipients and their mails; ``/messages/<id>`` shows one mail (headers, text) with its HTML part in
``/messages/<id>/html`` (served with scripts off, its links working), so the demo shows where each person's mail
went. JSON: ``GET /_sandbox/messages`` (``?to=<address>``), ``GET /_sandbox/server`` (the SMTP address);
``POST /_sandbox/reset``, ``POST /_sandbox/config {"max_size": n}``, ``DELETE /_sandbox/faults``.
"""

from __future__ import annotations

import email.policy
import logging
import threading
import time
from collections.abc import Mapping
from email import message_from_bytes
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from flask import Flask, Response, abort, request

from sandbox.common import ControlError, control_body, e, json_response

log = logging.getLogger(__name__)
MAX_LINE = 998  # characters, without the CRLF (RFC 5321 4.5.3.1.6)
DEAD_DOMAINS = (".invalid", ".example", ".localhost")
DEAD_MAILBOXES = ("unknown", "nobody")


class SmtpState:
    """The mails accepted, the faults to inject, the size limit; and the SMTP listener (not kept across restarts)."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.lock = threading.Lock()
        self.max_size = int((config or {}).get("max_size", 10 * 1024 * 1024))
        self.messages: list[dict[str, Any]] = []
        self.faults: dict[str, dict[str, Any]] = {}  # recipient ("*": any) -> {"code", "message", "times"}
        self.next_id = 1
        self.controller: Controller | None = None
        self.host, self.port = "127.0.0.1", 0

    # ------------------------------------------------------------------------------------------ the listener
    def listen(self, host: str = "127.0.0.1", port: int = 0) -> dict[str, str]:
        """Start the SMTP server on ``host``: on ``port``, else the port of its saved state (a demo restart keeps
        it), else a free one. Returns its address by name."""
        ports = [port] if port else [*([self.port] if self.port else []), 0]
        for i, candidate in enumerate(ports):
            controller = Controller(_Handler(self), hostname=host, port=candidate or _free_port(host),
                                    data_size_limit=self.max_size, ready_timeout=10)
            try:
                controller.start()
            except (OSError, RuntimeError):  # the saved port is taken: another one
                if i == len(ports) - 1:
                    raise
                continue
            self.controller = controller
            break
        assert self.controller is not None
        self.host, self.port = host, int(self.controller.port)
        log.info("smtp sandbox listening host=%s port=%s", host, self.port)
        return {"smtp_server": f"smtp://{host}:{self.port}"}

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __getstate__(self) -> dict[str, Any]:  # the listener is a live thread: never saved
        return {k: v for k, v in vars(self).items() if k not in ("controller", "lock")}

    # ------------------------------------------------------------------------------------------------ rules
    def refuse_rcpt(self, address: str) -> str | None:
        """The SMTP answer refusing ``address`` as a recipient, or None to accept it."""
        with self.lock:
            for key in (address.lower(), "*"):
                fault = self.faults.get(key)
                if fault is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        del self.faults[key]
                    return f"{fault['code']} {fault['message']}"
        local, _, domain = address.rpartition("@")
        domain = domain.lower().rstrip(".")
        if not local or "." not in domain or domain.endswith(DEAD_DOMAINS):
            return (f"550 5.1.2 <{address}>: Recipient address rejected: domain {domain or '(none)'} does not "
                    "accept mail")
        if local.lower() in DEAD_MAILBOXES:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        return None

    def keep(self, mail_from: str, rcpt_tos: list[str], content: bytes) -> int:
        with self.lock:
            number = self.next_id
            self.next_id += 1
            self.messages.append({"id": number, "mail_from": mail_from, "rcpt_tos": list(rcpt_tos),
                                  "received_at": time.time(), "raw": content})
        return number

    def reset(self) -> None:
        with self.lock:
            self.messages, self.faults, self.next_id = [], {}, 1

    def listing(self, to: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            kept = list(self.messages)
        wanted = to.lower() if to else None
        return [_view(m) for m in kept if wanted is None or wanted in (r.lower() for r in m["rcpt_tos"])]

    def find(self, number: int) -> dict[str, Any] | None:
        with self.lock:
            return next((m for m in self.messages if m["id"] == number), None)


class _Handler:
    """aiosmtpd's handler hooks (their names are aiosmtpd's)."""

    def __init__(self, state: SmtpState) -> None:
        self.state = state

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        refused = self.state.refuse_rcpt(address)
        if refused:
            return refused
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.original_content or envelope.content
        if any(len(line) > MAX_LINE for line in content.split(b"\r\n")):
            return f"500 5.5.2 Line too long: at most {MAX_LINE} characters a line (RFC 5321 4.5.3.1.6)"
        if len(content) > self.state.max_size:
            return "552 5.3.4 Message size exceeds fixed maximum message size"
        number = self.state.keep(envelope.mail_from, envelope.rcpt_tos, content)
        return f"250 2.0.0 Ok: queued as {number}"


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _parts(raw: bytes) -> tuple[EmailMessage, str, str]:
    message = message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    return (message, str(text.get_content()) if text is not None else "",
            str(html.get_content()) if html is not None else "")


def _view(kept: dict[str, Any]) -> dict[str, Any]:
    message, text, html = _parts(kept["raw"])
    headers = {name: str(value) for name, value in message.items()}
    return {"id": kept["id"], "mail_from": kept["mail_from"], "to": kept["rcpt_tos"],
            "subject": str(message.get("Subject", "")), "received_at": kept["received_at"], "size": len(kept["raw"]),
            "headers": headers, "text": text, "html": html}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · SMTP sandbox</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f4f4f6; color: #1d1d1f; margin: 0; }}
 main {{ max-width: 48rem; margin: 1.5rem auto; padding: 0 1rem; }}
 .badge {{ font-size: .75rem; background: #444; color: #fff; border-radius: .5rem; padding: .1rem .5rem; }}
 section {{ background: #fff; border-radius: .5rem; padding: .75rem 1rem; margin: 1rem 0;
   box-shadow: 0 1px 3px #0002; }}
 li {{ margin: .25rem 0; }} .muted {{ color: #666; font-size: .85rem; }}
 iframe {{ width: 100%; min-height: 32rem; border: 1px solid #ddd; border-radius: .25rem; background: #fff; }}
 pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
</style></head>
<body><main><p><span class="badge">sandbox</span> SMTP server · where each person's mail went</p>{body}</main>
</body></html>"""


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response(PAGE.format(title=e(title), body=body), status, mimetype="text/html")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    state = SmtpState(config)
    app.extensions["smtp_sandbox"] = state
    _pages(app, state)
    _control(app, state)
    return app


def _pages(app: Flask, state: SmtpState) -> None:
    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status=204)  # no icon; a browser showing a mail asks for one

    @app.get("/")
    def inbox() -> Response:
        by_person: dict[str, list[dict[str, Any]]] = {}
        for mail in state.listing():
            for rcpt in mail["to"]:
                by_person.setdefault(rcpt.lower(), []).append(mail)
        sections = "".join(
            f'<section><h2 id="to-{e(person)}">{e(person)}</h2><ul>' + "".join(
                f'<li><a href="/messages/{m["id"]}">{e(m["subject"]) or "(no subject)"}</a> '
                f'<span class="muted">{time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(m["received_at"]))} UTC'
                f' · from {e(m["mail_from"])}</span></li>' for m in reversed(mails)) + "</ul></section>"
            for person, mails in sorted(by_person.items()))
        return _page("Inbox", sections or "<p>No mail yet.</p>")

    def one(number: int) -> dict[str, Any]:
        kept = state.find(number)
        if kept is None:
            abort(404)
        return _view(kept)

    @app.get("/messages/<int:number>")
    def message(number: int) -> Response:
        mail = one(number)
        shown = ("List-Unsubscribe", "Date", "Message-ID")
        facts = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in mail["headers"].items() if k in shown)
        frame = (f'<iframe title="The mail as HTML" src="/messages/{number}/html"></iframe>'
                 if mail["html"] else "")
        body = (f'<p><a href="/">All mail</a></p><section><h1>{e(mail["subject"])}</h1>'
                f'<p class="muted">From {e(mail["mail_from"])} to {e(", ".join(mail["to"]))}</p><dl>{facts}</dl>'
                f'{frame}<details><summary>Plain text</summary><pre>{e(mail["text"])}</pre></details></section>')
        return _page(mail["subject"], body)

    @app.get("/messages/<int:number>/html")
    def message_html(number: int) -> Response:
        mail = one(number)
        if not mail["html"]:
            abort(404)
        response = Response(mail["html"], mimetype="text/html")
        # as a mail client shows it: no scripts, links open the app in the whole window
        response.headers["Content-Security-Policy"] = "script-src 'none'; object-src 'none'"
        return response


def _control(app: Flask, state: SmtpState) -> None:
    @app.get("/_sandbox/messages")
    def list_messages() -> Response:
        mails = state.listing(request.args.get("to"))
        for mail in mails:
            mail.pop("raw", None)
        return json_response({"messages": mails})

    @app.get("/_sandbox/server")
    def server() -> Response:
        return json_response({"host": state.host, "port": state.port, "max_size": state.max_size})

    @app.post("/_sandbox/reset")
    def reset() -> Response:
        state.reset()
        return json_response({"reset": True})

    @app.post("/_sandbox/faults")
    def add_fault() -> Response:
        body = control_body()
        code = body.get("code")
        if not isinstance(code, int) or not 400 <= code <= 599:
            raise ControlError("code must be an SMTP reply code from 400 to 599")
        rcpt = str(body.get("rcpt") or "*").lower()
        times = body.get("times", 1)
        if not isinstance(times, int) or times < 1:
            raise ControlError("times must be a whole number of at least 1")
        text = str(body.get("message") or ("4.3.0 Try again later" if code < 500 else "5.7.1 Refused"))
        with state.lock:
            state.faults[rcpt] = {"code": code, "message": text, "times": times}
        return json_response({"rcpt": rcpt, "code": code, "message": text, "times": times}, 201)

    @app.delete("/_sandbox/faults")
    def clear_faults() -> Response:
        with state.lock:
            state.faults = {}
        return json_response({"faults": []})

    @app.post("/_sandbox/config")
    def configure() -> Response:
        body = control_body()
        size = body.get("max_size")
        if not isinstance(size, int) or size < 1:
            raise ControlError("max_size must be a whole number of bytes, at least 1")
        state.max_size = size
        if state.controller is not None:  # new connections see the new SIZE
            state.controller.SMTP_kwargs["data_size_limit"] = size
        return json_response({"max_size": size})

    @app.errorhandler(ControlError)
    def control_error(exc: ControlError) -> Response:
        return json_response({"error": str(exc)}, 400)


