"""The baseline of the click benchmark: a bare Flask app answering ``/r/<code>`` with a fixed redirect."""

from flask import Flask, redirect

app = Flask(__name__)


@app.get("/r/<code>")
def follow(code: str):  # type: ignore[no-untyped-def]
    """Redirect without looking anything up or recording anything."""
    return redirect("https://acme.test/jobs?utm_source=x&utm_medium=advocacy", code=302)
