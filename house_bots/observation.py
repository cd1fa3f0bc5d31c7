"""What the bots see each tick, read through the public API: every traded
symbol's last price, top of book and recent history (shared by all bots), and
one bot's own open orders, cash and shares as an agents.Observation."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .agents import FairValue, Market, Observation, OpenOrder
from .public_api import ApiCallError, PublicApi

log = logging.getLogger("papertrade.house_bots")
CLASS_OPEN_LIMIT = 2000  # one page of everyone's open orders; a busier class is read bot by bot


@dataclass
class ClassView:
    """The bots' open orders and portfolios, read once per tick for all of them."""

    open_orders: dict[int, list[dict[str, Any]]]
    portfolios: dict[int, dict[str, Any]]


def read_class(watcher: PublicApi, bot_ids: set[int]) -> ClassView | None:
    """Two instructor reads instead of two per bot: the bots' open orders and their
    portfolios (what a class of students holds is not read: the reads stay the bots'
    size however large the class); None when the open orders do not fit one page."""
    rows = watcher.orders("open", CLASS_OPEN_LIMIT, role="bot")
    if len(rows) >= CLASS_OPEN_LIMIT:
        return None
    open_orders: dict[int, list[dict[str, Any]]] = {user_id: [] for user_id in bot_ids}
    for order in rows:
        if order["user_id"] in open_orders:
            open_orders[order["user_id"]].append(order)
    portfolios = {p["user_id"]: p for p in watcher.roster("bot") if p["user_id"] in bot_ids}
    return ClassView(open_orders, portfolios)


def order_age(created_at: Any) -> float:
    """Seconds since an order's `created_at` (0 when it is missing or unreadable)."""
    if not isinstance(created_at, str):
        return 0.0
    try:
        return max(0.0, time.time() - datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return 0.0


def read_markets(reader: PublicApi, fair: dict[str, FairValue],
                 history: dict[str, deque[Decimal]]) -> dict[str, Market] | None:
    """The public view of each traded symbol, appending its last price to `history`;
    None when prices cannot be read (the tick is skipped)."""
    try:
        stocks = {s["symbol"]: s for s in reader.stocks()}
    except ApiCallError as exc:
        log.warning("house_bots: cannot read prices: %s", exc)
        return None
    markets = {}
    for symbol, fv in fair.items():
        stock = stocks.get(symbol)
        if stock is None:
            continue  # delisted: not traded any more
        last = Decimal(str(stock["last_price"]))
        history[symbol].append(last)
        try:
            book = reader.book(symbol, 1)
        except ApiCallError:
            book = {"bids": [], "asks": []}
        bid = Decimal(str(book["bids"][0]["price"])) if book.get("bids") else None
        ask = Decimal(str(book["asks"][0]["price"])) if book.get("asks") else None
        markets[symbol] = Market(last, fv.price, bid, ask, tuple(history[symbol]))
    return markets


def observe(open_rows: list[dict[str, Any]], portfolio: dict[str, Any], markets: dict[str, Market],
            dt: Decimal) -> Observation:
    """One bot's observation from its open orders and portfolio as the API returns them;
    orders being cancelled and orders in symbols no longer traded are left out."""
    positions = {p["symbol"]: int(p["qty"]) for p in portfolio["positions"]}
    free = {p["symbol"]: int(p["qty"]) - int(p["reserved_qty"]) for p in portfolio["positions"]}
    mine = tuple(
        OpenOrder(o["id"], o["symbol"], o["side"],
                  Decimal(str(o["limit_price"])) if o["limit_price"] is not None else None,
                  int(o["qty"]) - int(o["filled_qty"]), order_age(o.get("created_at")),
                  live=o["status"] in ("new", "partially_filled"))
        for o in open_rows if o["status"] != "pending_cancel" and o["symbol"] in markets
    )
    return Observation(markets, Decimal(str(portfolio["buying_power"])), free, positions, mine, dt)
