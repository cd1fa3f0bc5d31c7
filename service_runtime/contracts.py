"""Integration events: the typed records services exchange over RabbitMQ, one class
each (the machinery they are made with is service_runtime/messages.py).

Each event is a frozen dataclass holding its payload; `Envelope` adds what every
message carries (id, type, version, occurred_at, producer, epoch). Two kinds:

- **domain events** (`@event`): facts other services act on. Written to the
  producer's outbox in the transaction that made them true, published persistent
  with confirms, consumed from durable queues through an inbox.
- **notices** (`@notice`): snapshots for screens (a portfolio, a book, a price, the
  leaderboard). Only gateways consume them; each supersedes the one before, so
  they are published right after the commit, transient, and never stored: a crash
  in between loses one snapshot, which the next one (or a screen's refetch)
  replaces (docs/decisions.md, "Notices are not stored").

Who consumes what is not declared here: it is each consumer's handler table
(`<service>/handlers.py`, `socket_gateway/push.py`); the catalog in
docs/architecture.md is generated from those tables (`service_runtime/catalog.py`).

Money fields are Decimal and travel as strings. Symbol-scoped events are routed
with a partition suffix so matching can be sharded by symbol (see `routing_key`).
"""

from __future__ import annotations

from dataclasses import field
from datetime import datetime
from decimal import Decimal

from .messages import (  # noqa: F401 - re-exported: events and their envelopes are used together
    PARTITIONS,
    REGISTRY,
    Envelope,
    EpochFilter,
    Event,
    UnknownEvent,
    event,
    event_time,
    is_symbol_scoped,
    new_event_id,
    notice,
    parse,
    partition_of,
    record,
    wrap,
)

# ---------------------------------------------------------------------------
# The catalog.
# ---------------------------------------------------------------------------


@event("user.created", "user_accounts", epoch_free=True)
class UserCreated(Event):
    user_id: int
    name: str
    role: str
    starting_cash: Decimal
    holdings: dict[str, int] = field(default_factory=dict)


@event("user.updated", "user_accounts", epoch_free=True)
class UserUpdated(Event):
    """A user renamed (PATCH /api/users/{id})."""

    user_id: int
    name: str
    role: str


@event("simulation.reset", "user_accounts")
class SimulationReset(Event):
    """Every service returns to its starting state and starts epoch `epoch`
    (docs/architecture.md, "Reset and epochs"). Traders' and bots' tokens issued in
    an epoch below `tokens_valid_from_epoch` are refused from then on (`epoch` when
    the instructor revoked tokens at this reset; the floor only goes up, so 1 changes
    nothing): service_runtime/revocation.py."""

    epoch: int
    requested_by: int
    tokens_valid_from_epoch: int = 1


@event("settings.changed", "user_accounts", epoch_free=True)
class SettingsChanged(Event):
    """The simulation's trading rules, all of them (limits are null when off)."""

    commission_per_share: Decimal
    max_position: int | None
    max_order_qty: int | None


@event("stock.listed", "stock_data", epoch_free=True)
class StockListed(Event):
    """A new listing, or a relisting of a delisted symbol."""

    symbol: str
    name: str
    reference_price: Decimal


@event("stock.delisted", "stock_data", epoch_free=True)
class StockDelisted(Event):
    """No new orders for the symbol; matching cancels its resting orders (reason `delisted`)."""

    symbol: str


@event("market.status_changed", "stock_data")
class MarketStatusChanged(Event):
    status: str
    previous: str
    closes_at: datetime | None = None  # an open session's automatic close


@event("order.placed", "stock_ordering")
class OrderPlaced(Event):
    """`client_order_id` and `created_at` complete the order as the API shows it, so the
    gateway knows an order before its first fill (socket_gateway/executions.py)."""

    order_id: int
    user_id: int
    symbol: str
    side: str
    type: str
    qty: int
    limit_price: Decimal | None
    time_in_force: str
    client_order_id: str | None = None
    created_at: datetime | None = None
    stop_price: Decimal | None = None  # stop and stop_limit orders
    # a replacement (PATCH /api/orders/{id}): the order it replaces, and that order's
    # filled quantity when the replace was asked for (a fill since loses the race)
    replaces: int | None = None
    replaces_filled_qty: int | None = None


@event("order.cancel_requested", "stock_ordering")
class OrderCancelRequested(Event):
    order_id: int
    user_id: int
    symbol: str


@event("order.approved", "user_portfolio")
class OrderApproved(Event):
    order_id: int
    user_id: int
    symbol: str
    side: str
    type: str
    qty: int
    limit_price: Decimal | None
    time_in_force: str
    collar_price: Decimal | None
    stop_price: Decimal | None = None  # stop and stop_limit orders
    replaces: int | None = None  # as in order.placed
    replaces_filled_qty: int | None = None


@event("order.rejected", ("user_portfolio", "order_matching"))
class OrderRejected(Event):
    """Produced by user_portfolio (no cash/shares) or by order_matching (market not open
    when the order reached the book); consumers key on the order, not the producer."""

    order_id: int
    user_id: int
    symbol: str
    reason: str
    message: str


@event("order.booked", "order_matching")
class OrderBooked(Event):
    """The order's remainder rests in the book; `filled_qty` and `filled_notional`
    (sum of price x qty of its fills) are cumulative."""

    order_id: int
    user_id: int
    symbol: str
    filled_qty: int
    remaining_qty: int
    book_seq: int
    filled_notional: Decimal = Decimal("0")
    triggered: bool | None = None  # stops only: False while it waits out of the book for its stop price


@event("order.replaced", "order_matching")
class OrderReplaced(Event):
    """The order left the book for its replacement, in one step: `replaced_by` is
    matched next, in the same batch. The old order keeps its fills (cumulative here)."""

    order_id: int
    user_id: int
    symbol: str
    replaced_by: int
    filled_qty: int
    filled_notional: Decimal = Decimal("0")


@event("order.triggered", "order_matching")
class OrderTriggered(Event):
    """A trade reached a stop's stop price: from now on it is a market (stop) or limit
    (stop_limit) order, matched at once; its fills, booking or cancel follow."""

    order_id: int
    user_id: int
    symbol: str
    price: Decimal  # the trade price that triggered it
    book_seq: int


@event("trade.executed", "order_matching")
class TradeExecuted(Event):
    """One fill. The `buy_*` and `sell_*` figures are each order's cumulative state
    after it, so a consumer can apply trades in any order without counting twice."""

    trade_id: int
    seq: int
    symbol: str
    price: Decimal
    qty: int
    buy_order_id: int
    sell_order_id: int
    buyer_id: int
    seller_id: int
    taker_side: str
    buy_filled_qty: int
    sell_filled_qty: int
    buy_remaining: int
    sell_remaining: int
    executed_at: datetime
    buy_filled_notional: Decimal | None = None
    sell_filled_notional: Decimal | None = None


@event("order.canceled", "order_matching")
class OrderCanceled(Event):
    order_id: int
    user_id: int
    symbol: str
    filled_qty: int
    canceled_qty: int
    reason: str
    filled_notional: Decimal = Decimal("0")


@event("order.expired", "order_matching")
class OrderExpired(Event):
    order_id: int
    user_id: int
    symbol: str
    filled_qty: int
    expired_qty: int
    filled_notional: Decimal = Decimal("0")


# -- notices: snapshots for screens -------------------------------------------


@record
class BookLevel:
    price: Decimal
    qty: int
    orders: int


@notice("book.updated", "order_matching")
class BookUpdated(Event):
    symbol: str
    seq: int
    bids: list[BookLevel]
    asks: list[BookLevel]


@notice("price.updated", "stock_data")
class PriceUpdated(Event):
    symbol: str
    last_price: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    volume: int
    change_pct: Decimal
    trade_seq: int


@record
class PositionView:
    symbol: str
    qty: int
    reserved_qty: int
    avg_cost: Decimal
    last_price: Decimal | None
    market_value: Decimal | None
    unrealized_pl: Decimal | None


@record
class PortfolioView:
    """A portfolio as GET /api/portfolios/{user_id} shows it."""

    user_id: int
    name: str
    cash: Decimal
    reserved_cash: Decimal
    buying_power: Decimal
    equity: Decimal
    realized_pl: Decimal
    unrealized_pl: Decimal
    positions: list[PositionView]


@notice("portfolio.updated", "user_portfolio")
class PortfolioUpdated(Event):
    user_id: int
    portfolio: PortfolioView


@record
class LeaderboardRow:
    rank: int
    user_id: int
    name: str
    role: str
    equity: Decimal
    return_pct: Decimal
    realized_pl: Decimal
    unrealized_pl: Decimal
    cash: Decimal
    trades: int


@notice("leaderboard.updated", "user_portfolio")
class LeaderboardUpdated(Event):
    """The traders' leaderboard (bots left out), at most once a second while it changes."""

    rows: list[LeaderboardRow]
