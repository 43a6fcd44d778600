"""``advocacy reach …`` commands."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

reach_cli = AppGroup("reach", help="Reach: report totals.")


@reach_cli.command("rebuild-totals")
def rebuild_totals() -> None:
    """Recreate the report totals from the per-share figures, clicks, snapshots and results (after an upgrade, a bulk
    import or a repair); the reports read the per-share rows until it is done."""
    from advocacy.extensions import db
    from advocacy.reach import totals

    started = time.perf_counter()
    shares = totals.rebuild()
    db.session.commit()
    click.echo(f"report totals rebuilt: {shares} shares in {time.perf_counter() - started:.1f} s")
