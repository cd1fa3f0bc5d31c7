"""The gateway's side of token revocation (service_runtime/revocation.py): which
socket carries which token, and the lowest epoch a trader's or bot's token may
carry.

The gateway has no database. It learns the floor from `simulation.reset` events,
and reads it from user_accounts (public `GET /api/simulation`) whenever its event
feed (re)connects, because its queue is exclusive: events published while it was
away are not kept for it. Until that read has answered, a connect reads it first
(one request, then none); if user_accounts cannot answer, the gateway goes on
with the floor it knows and reads again at the next connect (the REST APIs still
refuse a revoked token, so a socket let in meanwhile receives pushes for its
own account and nothing else).

Only the gateway's greenlets touch this (gevent: no locks needed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from service_runtime.auth import Principal
from service_runtime.revocation import is_revoked

log = logging.getLogger("papertrade.gateway")


class SocketSessions:
    def __init__(self, fetch_floor: Callable[[], int]) -> None:
        self._fetch_floor = fetch_floor
        self.floor = 1
        self.known = False  # read from user_accounts since the feed last (re)connected
        self._reading = False
        self.sockets: dict[str, tuple[str, int]] = {}  # sid -> (role, token epoch)

    # ---------------------------------------------------------------- the floor
    def feed_connected(self) -> None:
        """Events may have been missed while the feed was away: read the floor again."""
        self.known = False

    def refresh(self) -> list[str]:
        """Read the floor from user_accounts; return the sockets it revokes."""
        if self._reading:
            return []
        self._reading = True
        try:
            floor = self._fetch_floor()
        except Exception as exc:  # noqa: BLE001 - any failure: keep the floor we have, read again later
            log.warning("gateway: cannot read the token floor from user_accounts: %s", exc)
            return []
        finally:
            self._reading = False
        self.known = True
        return self.raise_to(floor)

    def raise_to(self, floor: int) -> list[str]:
        """A reset moved the floor (it never goes down): the connected sockets it revokes."""
        if floor > self.floor:
            log.info("gateway: tokens of epochs below %d are revoked", floor)
            self.floor = floor
        return [sid for sid, (role, epoch) in self.sockets.items()
                if role != "instructor" and epoch < self.floor]

    def revoked(self, who: Principal) -> bool:
        if who.role == "instructor":
            return False
        if not self.known:
            self.refresh()
        return is_revoked(who, self.floor)

    # ---------------------------------------------------------------- sockets
    def add(self, sid: str, who: Principal) -> None:
        self.sockets[sid] = (who.role, who.epoch)

    def remove(self, sid: str) -> None:
        self.sockets.pop(sid, None)
