"""The bots' only way into the exchange: the public REST API, through the project's
Python client (papertrade_client), exactly as any user's script calls it. Each path
goes to the API of the service that owns it (the origin's own routing table,
socket_gateway/routing.py), or all of them to one origin when one is configured
(`PAPERTRADE_GATEWAY_URL`).

The bots keep plain dicts (their logic predates the typed records and needs no
more), so this module uses the client's transport (`Client.request`: one kept-alive
session, the error body parsed into one exception) and not its typed methods.
Retries are off: a bot acts again on its next tick with what it sees then, and its
orders carry no client_order_id that would make a blind retry safe.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from papertrade_client import Client, PapertradeError
from socket_gateway.routing import owner_of

TIMEOUT = 10.0
_calls_lock = threading.Lock()
_calls = 0  # every request any bot session made: what the bots cost the exchange


def requests_made() -> int:
    """How many REST requests the bots have made since this process started."""
    return _calls


class ApiCallError(Exception):
    """A non-2xx answer (or no answer: status 0)."""

    def __init__(self, status: int, code: str, message: str, method: str = "", path: str = "") -> None:
        super().__init__(f"{method} {path}: {status} {code}: {message}".strip())
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Endpoints:
    """Where each path is served: its owning service's API when `services` names it,
    else `origin` (the public origin, which forwards it the same way)."""

    origin: str
    services: Mapping[str, str] = field(default_factory=dict)

    def base_for(self, path: str) -> str:
        return self.services.get(owner_of(path) or "", self.origin)

    def __str__(self) -> str:
        return "the services' APIs" if self.services else self.origin


class PublicApi:
    """One authenticated (or anonymous) session: a kept-alive client per API it calls."""

    def __init__(self, endpoints: Endpoints | str, token: str | None = None) -> None:
        self.endpoints = endpoints if isinstance(endpoints, Endpoints) else Endpoints(endpoints)
        self.token = token
        self._clients: dict[str, Client] = {}

    def client_for(self, path: str) -> Client:
        base = self.endpoints.base_for(path)
        client = self._clients.get(base)
        if client is None:
            client = self._clients[base] = Client(base, self.token, timeout=TIMEOUT, retries=0)
        return client

    def set_token(self, token: str) -> None:
        self.token = token
        for client in self._clients.values():
            client.token = token

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        global _calls
        with _calls_lock:
            _calls += 1
        try:
            return self.client_for(path).request(method, path, params=params, body=body, safe=False)[1]
        except PapertradeError as exc:
            raise ApiCallError(exc.status or 0, exc.code, exc.message, method, path) from exc

    # ------------------------------------------------------------- what the bots read
    def stocks(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/stocks")

    def book(self, symbol: str, levels: int = 1) -> dict[str, Any]:
        return self.call("GET", f"/api/books/{symbol}", params={"levels": levels})

    def market(self) -> dict[str, Any]:
        return self.call("GET", "/api/market")

    def simulation(self) -> dict[str, Any]:
        return self.call("GET", "/api/simulation")

    def portfolio(self, user_id: int) -> dict[str, Any]:
        return self.call("GET", f"/api/portfolios/{user_id}")

    def orders(self, status: str = "open", limit: int = 1000, user_id: int | None = None,
               role: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"status": status, "limit": limit}
        if user_id is not None:
            params["user_id"] = user_id
        if role is not None:
            params["role"] = role
        return self.call("GET", "/api/orders", params=params)

    def roster(self, role: str) -> list[dict[str, Any]]:
        """Instructor: the portfolios of every user of one role."""
        return self.call("GET", "/api/portfolios", params={"role": role})

    def users(self) -> list[dict[str, Any]]:
        return self.call("GET", "/api/users")

    # ------------------------------------------------------------- what the bots do
    def place_batch(self, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each result is the order, or {"error": {..., "status": N}} for one refused at the door."""
        return self.call("POST", "/api/orders/batch", {"orders": orders})["results"]

    def cancel(self, order_id: int) -> None:
        self.call("DELETE", f"/api/orders/{order_id}")

    def cancel_all(self, symbol: str | None = None) -> Any:
        return self.call("DELETE", "/api/orders", params={"symbol": symbol} if symbol else None)

    # ------------------------------------------------------------- instructor calls
    def create_user(self, name: str, role: str, starting_cash: Decimal, holdings: dict[str, int]) -> dict[str, Any]:
        return self.call("POST", "/api/users", {"name": name, "role": role, "starting_cash": format(starting_cash, "f"),
                                                 "holdings": holdings})

    def bulk_users(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        return self.call("POST", "/api/users/bulk", body)

    def list_stock(self, symbol: str, name: str, reference_price: str) -> dict[str, Any]:
        return self.call("POST", "/api/stocks", {"symbol": symbol, "name": name, "reference_price": reference_price})

    def reset(self) -> dict[str, Any]:
        return self.call("POST", "/api/simulation/reset", {})

    def put_settings(self, settings: dict[str, Any]) -> dict[str, Any]:
        return self.call("PUT", "/api/settings", settings)

    def open_market(self, session_minutes: int | None = None) -> dict[str, Any]:
        body = {"session_minutes": session_minutes} if session_minutes else None
        return self.call("POST", "/api/market/open", body)
