"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""

import gc

from advocacy import create_app

app = create_app()
# What exists now (modules, SQLAlchemy and Jinja internals: about 180,000 objects) lives as long as the process:
# keep it out of the garbage collector's full passes, which otherwise stop a request for 100+ ms on a busy machine
# (BENCHMARKS.md, report pages).
gc.freeze()
