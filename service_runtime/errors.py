"""What a use case or a rule refuses, in words the caller understands, without HTTP.

Domains and service layers raise these; the web layer (service_runtime/web.py)
maps each kind to its status, so no domain knows about HTTP:

    Invalid -> 422, NotFound -> 404, Conflict -> 409, Forbidden -> 403, Unauthorized -> 401,
    TooLarge -> 413, Unavailable -> 503 (with Retry-After).
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal with a machine-readable `code`, a `message` for a person and the
    request `field` at fault, when there is one."""

    default_code = "error"

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.default_code


class Invalid(DomainError):
    default_code = "invalid"


class NotFound(DomainError):
    default_code = "not_found"


class Conflict(DomainError):
    default_code = "conflict"


class Forbidden(DomainError):
    default_code = "forbidden"


class Unauthorized(DomainError):
    """Wrong credentials."""

    default_code = "unauthorized"


class TooLarge(DomainError):
    default_code = "payload_too_large"


class Unavailable(DomainError):
    """Try again later (the database, or a pipeline too far behind)."""

    default_code = "unavailable"

    def __init__(self, message: str, retry_after: int = 1, field: str | None = None,
                 code: str | None = None) -> None:
        super().__init__(message, field, code)
        self.retry_after = retry_after
