"""`with` support shared by the client's objects that hold a connection."""

from __future__ import annotations

from typing import Self


class Closing:
    """Leaving a `with` block closes the object (a REST session, a socket)."""

    def close(self) -> None:  # pragma: no cover - every subclass has its own
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
