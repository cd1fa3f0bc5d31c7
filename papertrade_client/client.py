"""A typed Python client of the papertrade REST API (one origin, /api/...).

    from papertrade_client import Client
    c = Client("http://localhost:8000")
    c.login(2)                                   # demo traders need no password
    order = c.place_order("AAPL", "buy", 10, limit_price="189.50")
    c.wait_order(order.id, "new")

Retries: connection errors, 429 and 503 are retried (honouring Retry-After) for
calls that are safe to repeat: reads, cancels, sessions, market changes and
order placement, which always carries a `client_order_id` (generated when the
caller gives none) so a repeated request returns the first order (200) instead
of placing a second. Creating a user or listing a stock is retried only when the
request cannot have reached the server (connection refused, 429, 503).

One Client holds one keep-alive `requests.Session`: use one Client per thread
(`client.using(token)` shares the session for another token on the same thread).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import requests
import urllib3

from .closing import Closing
from .errors import PapertradeError
from .orders import MAX_BATCH, OrderRequest, new_client_order_id
from .types import (
    Book,
    Candle,
    LeaderboardRow,
    Market,
    Order,
    Portfolio,
    Session,
    Stock,
    Trade,
    User,
    parse,
)

T = TypeVar("T")
DEFAULT_URL = "http://localhost:8000"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(body: Any) -> bytes:
    return json.dumps(body, default=_json_default, separators=(",", ":")).encode()


def _not_sent(exc: Exception) -> bool:
    """True when the request surely never reached the server (so any call may be retried)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


class Client(Closing):
    def __init__(self, base_url: str = DEFAULT_URL, token: str | None = None, *, timeout: float = 30.0,
                 retries: int = 3, backoff: float = 0.1, max_retry_wait: float = 10.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.user: User | None = None
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self.session = session or requests.Session()
        # counters a load tool reads; not thread-safe (one Client per thread)
        self.retried = 0

    def using(self, token: str | None, user: User | None = None) -> Client:
        """The same connection pool, another token (for one thread driving several users)."""
        other = Client(self.base_url, token, timeout=self.timeout, retries=self.retries, backoff=self.backoff,
                       max_retry_wait=self.max_retry_wait, session=self.session)
        other.user = user
        return other

    def close(self) -> None:
        self.session.close()

    @property
    def user_id(self) -> int:
        if self.user is None:
            raise PapertradeError(None, "not_logged_in", "log in first (Client.login)")
        return self.user.id

    # ------------------------------------------------------------------ transport
    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
                safe: bool = True) -> tuple[int, Any]:
        """Send one request, retrying as the module says; return (status, decoded JSON or text).
        Raises PapertradeError for 4xx/5xx answers and for connection failures."""
        url = self.base_url + path
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None
        if body is not None:
            data = _dumps(body)
            headers["Content-Type"] = "application/json"
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        attempt = 0
        while True:
            try:
                resp = self.session.request(method, url, params=params, data=data, headers=headers,
                                            timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt < self.retries and (safe or _not_sent(exc)):
                    self._pause(self.backoff * 2 ** attempt)
                    attempt += 1
                    continue
                raise PapertradeError(None, "connection_error", f"{method} {path}: {exc}") from exc
            if resp.status_code in (429, 503) and attempt < self.retries:
                wait = _retry_after(resp)
                self._pause(min(wait if wait is not None else self.backoff * 2 ** attempt, self.max_retry_wait))
                attempt += 1
                continue
            if resp.status_code >= 400:
                raise _error(resp)
            return resp.status_code, _decode(resp)

    def _pause(self, seconds: float) -> None:
        self.retried += 1
        time.sleep(seconds)

    def _get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params)[1]

    # ------------------------------------------------------------------ users and sessions
    def login(self, user_id: int, password: str | None = None) -> Session:
        """POST /api/sessions; this client then uses the token."""
        body: dict[str, Any] = {"user_id": user_id}
        if password is not None:
            body["password"] = password
        session = parse(Session, self.request("POST", "/api/sessions", body=body)[1])
        self.token, self.user = session.token, session.user
        return session

    def users(self) -> list[User]:
        return [parse(User, u) for u in self._get("/api/users")]

    def create_user(self, name: str, role: str | None = None, starting_cash: Decimal | str | None = None,
                    holdings: dict[str, int] | None = None) -> User:
        """Instructor: POST /api/users."""
        body: dict[str, Any] = {"name": name}
        if role is not None:
            body["role"] = role
        if starting_cash is not None:
            body["starting_cash"] = str(starting_cash)
        if holdings is not None:
            body["holdings"] = holdings
        return parse(User, self.request("POST", "/api/users", body=body, safe=False)[1])

    # ------------------------------------------------------------------ portfolios
    def portfolio(self, user_id: int | None = None) -> Portfolio:
        """GET /api/portfolios/{user_id} (default: the logged-in user)."""
        return parse(Portfolio, self._get(f"/api/portfolios/{user_id or self.user_id}"))

    def leaderboard(self, limit: int | None = None, include_bots: bool | None = None) -> list[LeaderboardRow]:
        bots = None if include_bots is None else ("true" if include_bots else "false")
        return [parse(LeaderboardRow, r) for r in self._get("/api/leaderboard", limit=limit, include_bots=bots)]

    # ------------------------------------------------------------------ market data
    def stocks(self) -> list[Stock]:
        return [parse(Stock, s) for s in self._get("/api/stocks")]

    def stock(self, symbol: str) -> Stock:
        return parse(Stock, self._get(f"/api/stocks/{symbol}"))

    def list_stock(self, symbol: str, name: str, reference_price: Decimal | str) -> Stock:
        """Instructor: POST /api/stocks."""
        body = {"symbol": symbol, "name": name, "reference_price": str(reference_price)}
        return parse(Stock, self.request("POST", "/api/stocks", body=body, safe=False)[1])

    def candles(self, symbol: str, interval: str = "1m", limit: int | None = None) -> list[Candle]:
        return [parse(Candle, c) for c in self._get(f"/api/stocks/{symbol}/candles", interval=interval,
                                                     limit=limit)]

    def trades(self, symbol: str, limit: int | None = None) -> list[Trade]:
        """The trade tape."""
        return [parse(Trade, t) for t in self._get(f"/api/stocks/{symbol}/trades", limit=limit)]

    def book(self, symbol: str, levels: int | None = None) -> Book:
        return parse(Book, self._get(f"/api/books/{symbol}", levels=levels))

    def market(self) -> Market:
        return parse(Market, self._get("/api/market"))

    def open_market(self, session_minutes: int | None = None) -> Market:
        """Instructor. `session_minutes` (issue 4): the market closes by itself after that long."""
        body = {"session_minutes": session_minutes} if session_minutes is not None else None
        return parse(Market, self.request("POST", "/api/market/open", body=body)[1])

    def halt_market(self) -> Market:
        return parse(Market, self.request("POST", "/api/market/halt")[1])

    def close_market(self) -> Market:
        return parse(Market, self.request("POST", "/api/market/close")[1])

    # ------------------------------------------------------------------ simulation (issue 4)
    def reset_simulation(self, revoke_tokens: bool = False) -> dict[str, Any]:
        """Instructor: POST /api/simulation/reset -> {"epoch": N, "tokens_valid_from_epoch": M}.
        `revoke_tokens`: every trader's and bot's token issued before the reset gets 401
        "token revoked by a reset; log in again" from then on (instructors' are kept)."""
        body = {"revoke_tokens": True} if revoke_tokens else None
        return self.request("POST", "/api/simulation/reset", body=body, safe=False)[1]

    def simulation(self) -> dict[str, Any]:
        return self._get("/api/simulation")

    # ------------------------------------------------------------------ orders
    def place_order(self, symbol: str, side: str, qty: int, limit_price: Decimal | str | None = None, *,
                    type: str | None = None, time_in_force: str | None = None,  # noqa: A002 - the API's name
                    client_order_id: str | None = None, user_id: int | None = None,
                    stop_price: Decimal | str | None = None) -> Order:
        """POST /api/orders. Without a client_order_id one is generated, so the retries
        after a lost answer return the first order rather than place another. A
        stop_price makes it a stop (or, with a limit_price, a stop_limit)."""
        request = OrderRequest(symbol, side, qty, Decimal(str(limit_price)) if limit_price is not None else None,
                               type, time_in_force, client_order_id, user_id,
                               Decimal(str(stop_price)) if stop_price is not None else None)
        return self.place(request)

    def place(self, request: OrderRequest) -> Order:
        request = request.with_client_order_id()
        status, body = self.request("POST", "/api/orders", body=request.to_json())
        return parse(Order, body, created=status == 201)

    def place_orders(self, orders: Sequence[OrderRequest | dict[str, Any]]) -> list[Order | PapertradeError]:
        """POST /api/orders/batch (split into batches of 1,000): one result per order, in
        order, each an Order or the PapertradeError its item failed with."""
        bodies = [_order_body(o) for o in orders]
        results: list[Order | PapertradeError] = []
        for start in range(0, len(bodies), MAX_BATCH):
            results.extend(self._batch(bodies[start:start + MAX_BATCH]))
        return results

    def _batch(self, bodies: list[dict[str, Any]]) -> list[Order | PapertradeError]:
        _, answer = self.request("POST", "/api/orders/batch", body={"orders": bodies})
        out: list[Order | PapertradeError] = []
        for item in answer["results"]:
            if "error" in item:
                out.append(PapertradeError.from_item(item["error"]))
            else:
                out.append(parse(Order, item))
        return out

    def orders(self, status: str = "all", symbol: str | None = None, user_id: int | None = None,
               limit: int | None = None) -> list[Order]:
        """GET /api/orders: the caller's orders (an instructor may pass user_id, or see all)."""
        return [parse(Order, o) for o in self._get("/api/orders", status=status, symbol=symbol, user_id=user_id,
                                                   limit=limit)]

    def order(self, order_id: int) -> Order:
        """GET /api/orders/{id}, with its status history."""
        return parse(Order, self._get(f"/api/orders/{order_id}"))

    def cancel_order(self, order_id: int) -> Order:
        """DELETE /api/orders/{id}: 202, the order `pending_cancel` until matching confirms.
        An order already final raises PapertradeError 409 `order_final`."""
        return parse(Order, self.request("DELETE", f"/api/orders/{order_id}")[1])

    def replace_order(self, order_id: int, *, qty: int | None = None, limit_price: Decimal | str | None = None,
                      stop_price: Decimal | str | None = None, time_in_force: str | None = None,
                      client_order_id: str | None = None) -> Order:
        """PATCH /api/orders/{id}: the replacement (`pending_new`, `.replaces` the old id);
        the old order ends `replaced`, or, if it filled first, the replacement is rejected
        `replace_failed`. A client_order_id is generated, so a retry returns the same
        replacement. An order that is not new or partially filled raises 409."""
        body: dict[str, Any] = {"client_order_id": client_order_id or new_client_order_id()}
        for name, value in (("qty", qty), ("limit_price", limit_price), ("stop_price", stop_price)):
            if value is not None:
                body[name] = value if name == "qty" else format(Decimal(str(value)), "f")
        if time_in_force is not None:
            body["time_in_force"] = time_in_force
        return parse(Order, self.request("PATCH", f"/api/orders/{order_id}", body=body)[1])

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        """DELETE /api/orders: cancel every open order of the caller (optionally one symbol)."""
        params = {"symbol": symbol} if symbol else None
        return [parse(Order, o) for o in self.request("DELETE", "/api/orders", params=params)[1]]

    def wait_order(self, order_id: int, until: str | Iterable[str] | Callable[[Order], bool] | None = None,
                   timeout: float = 20.0, interval: float = 0.05) -> Order:
        """Poll an order until `until` holds: a status, a set of statuses, a predicate, or
        by default "matching has seen it" (no longer pending_new)."""
        if until is None:
            check: Callable[[Order], bool] = lambda o: o.status != "pending_new"  # noqa: E731
        elif isinstance(until, str):
            check = lambda o: o.status == until  # noqa: E731
        elif callable(until):
            check = until
        else:
            wanted = set(until)
            check = lambda o: o.status in wanted  # noqa: E731
        deadline = time.monotonic() + timeout
        while True:
            order = self.order(order_id)
            if check(order):
                return order
            if time.monotonic() > deadline:
                raise PapertradeError(None, "timeout", f"order {order_id} is still {order.status}")
            time.sleep(interval)

    # ------------------------------------------------------------------ pushes
    def stream(self, symbols: Sequence[str] = (), **kwargs: Any) -> Any:
        """A connected Socket.IO stream with this client's token (see papertrade_client.stream)."""
        from .stream import Stream

        return Stream(self.base_url, self.token, symbols=symbols, **kwargs)


def _order_body(order: OrderRequest | dict[str, Any]) -> dict[str, Any]:
    if isinstance(order, OrderRequest):
        return order.with_client_order_id().to_json()
    body = dict(order)
    if not body.get("client_order_id"):
        body["client_order_id"] = OrderRequest("", "", 0).with_client_order_id().client_order_id
    return body


def _retry_after(resp: requests.Response) -> float | None:
    raw = resp.headers.get("Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _decode(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    if "json" in resp.headers.get("Content-Type", ""):
        return json.loads(resp.content, parse_float=Decimal)
    return resp.text


def _error(resp: requests.Response) -> PapertradeError:
    try:
        body = json.loads(resp.content, parse_float=Decimal)
        err = body["error"]
        return PapertradeError(resp.status_code, str(err.get("code", "error")), str(err.get("message", "")),
                               err.get("field"), _retry_after(resp), body)
    except (ValueError, KeyError, TypeError, AttributeError):
        return PapertradeError(resp.status_code, "http_error", resp.text[:200] or resp.reason,
                               retry_after=_retry_after(resp))
