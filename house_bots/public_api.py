"""The bots' only way into the exchange: the public REST API at the gateway, over
plain `requests` sessions, exactly as any user's script would call it.

Kept to one small module on purpose: the typed Python client (issue 5) can
replace it without touching the bot logic.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests

from service_runtime import jsonio

TIMEOUT = 10.0


class ApiCallError(Exception):
    """A non-2xx answer (or no answer: status 0)."""

    def __init__(self, status: int, code: str, message: str, method: str = "", path: str = "") -> None:
        super().__init__(f"{method} {path}: {status} {code}: {message}".strip())
        self.status = status
        self.code = code
        self.message = message


class PublicApi:
    """One authenticated (or anonymous) session against the gateway."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        if token:
            self.set_token(token)

    def set_token(self, token: str) -> None:
        self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        data = jsonio.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            resp = self.session.request(method, self.base + path, data=data, params=params, headers=headers,
                                        timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise ApiCallError(0, "unreachable", str(exc)[:200], method, path) from exc
        if resp.status_code >= 400:
            try:
                error = resp.json()["error"]
                code, message = error.get("code", "error"), error.get("message", "")
            except (ValueError, KeyError, TypeError):
                code, message = "error", resp.text[:200]
            raise ApiCallError(resp.status_code, code, message, method, path)
        if not resp.content:
            return None
        return jsonio.loads(resp.content)

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

    def orders(self, status: str = "open", limit: int = 1000, user_id: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"status": status, "limit": limit}
        if user_id is not None:
            params["user_id"] = user_id
        return self.call("GET", "/api/orders", params=params)

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
