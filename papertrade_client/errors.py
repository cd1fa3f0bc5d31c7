"""The one exception the client raises."""

from __future__ import annotations

from typing import Any


class PapertradeError(Exception):
    """An error answer from the API (`status` 4xx/5xx with the body's code, message and
    field), or a connection failure after the retries (`status` None, code
    `connection_error`). `retry_after` is the Retry-After header in seconds, if any."""

    def __init__(self, status: int | None, code: str, message: str, field: str | None = None,
                 retry_after: float | None = None, body: Any = None) -> None:
        super().__init__(f"{status or 'no answer'} {code}: {message}" + (f" (field {field})" if field else ""))
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after
        self.body = body

    @classmethod
    def from_item(cls, error: dict[str, Any]) -> PapertradeError:
        """A batch item's `{"error": {...}}` (it carries its own status)."""
        return cls(error.get("status"), str(error.get("code", "error")), str(error.get("message", "")),
                   error.get("field"), body={"error": error})

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "code": self.code, "message": self.message, "field": self.field,
                "retry_after": self.retry_after}
