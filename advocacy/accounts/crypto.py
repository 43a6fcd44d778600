"""Encryption of stored secrets with MultiFernet: the first key encrypts, every key decrypts, so keys rotate.

Convention: every column whose name ends in ``_encrypted`` holds a value made by :func:`encrypt`. Rotation finds
them by that name, so a new secret column needs nothing more than the suffix.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import Column, Table, select, update

from advocacy.extensions import db

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

log = logging.getLogger(__name__)
SUFFIX = "_encrypted"


def _keys() -> list[str]:
    return [k.strip() for k in current_app.config["TOKEN_KEYS"].split(",") if k.strip()]


def _fernet() -> MultiFernet:
    cached = current_app.extensions.get("advocacy.fernet")
    if cached is None:
        from cryptography.fernet import Fernet, MultiFernet  # ~8 MiB a web worker loads when it first needs a secret

        cached = current_app.extensions["advocacy.fernet"] = MultiFernet([Fernet(k) for k in _keys()])
    return cached


def encrypt(value: str | None) -> str | None:
    return None if value is None else _fernet().encrypt(value.encode()).decode()


def decrypt(value: str | None) -> str | None:
    return None if value is None else _fernet().decrypt(value.encode()).decode()


def encrypted_columns() -> list[tuple[Table, Column[str]]]:
    return [(table, column) for table in db.metadata.sorted_tables for column in table.columns
            if column.name.endswith(SUFFIX)]


@dataclass(frozen=True)
class Rotation:
    values: int
    columns: list[str]


def rotate() -> Rotation:
    """Re-encrypt every stored secret with the first key; afterwards the older keys can be dropped."""
    fernet = _fernet()
    count = 0
    names = []
    for table, column in encrypted_columns():
        names.append(f"{table.name}.{column.name}")
        key = list(table.primary_key.columns)[0]
        rows = db.session.execute(select(key, column).where(column.is_not(None))).all()
        for row_id, value in rows:
            db.session.execute(update(table).where(key == row_id)
                               .values({column.name: fernet.rotate(value.encode()).decode()}))
            count += 1
    db.session.commit()
    log.info("event=keys_rotated values=%s columns=%s", count, ",".join(names))
    return Rotation(count, names)


def add_instance_key(instance_path: str) -> str:
    """Put a new key first in the instance folder's generated key file (embedded installs); returns the file."""
    path = Path(instance_path) / "token_keys"
    from cryptography.fernet import Fernet

    old = path.read_text().strip() if path.exists() else ""
    new = Fernet.generate_key().decode()
    tmp = path.with_suffix(".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(",".join(k for k in (new, old) if k) + "\n")
    os.replace(tmp, path)
    return str(path)
