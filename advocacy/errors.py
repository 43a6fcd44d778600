"""Domain errors: raised by services, turned into a flash message by views and a JSON error by the API."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses. ``field`` names the input at fault, when one is."""

    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409
