"""order_matching's records: orders as the book holds them, fills and match results,
and the rule constants. The engine that matches them is order_book.py.

Pure: no I/O, no logging, no clock reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BUY, SELL = "buy", "sell"
LIMIT, MARKET = "limit", "market"
STOP, STOP_LIMIT = "stop", "stop_limit"  # held until a trade reaches stop_price, then MARKET / LIMIT
DAY, GTC, IOC, FOK = "day", "gtc", "ioc", "fok"

# Cancel reasons reported in MatchResult.cancel_reason.
NO_LIQUIDITY = "no_liquidity"  # market order: nothing (more) to trade against
COLLAR = "price_collar"  # market order stopped by its collar
IOC_REMAINDER = "ioc_remainder"
FOK_NOT_FILLABLE = "fok_not_fillable"
SELF_TRADE = "self_trade_prevented"

SIDES = (BUY, SELL)
TIME_IN_FORCES = (DAY, GTC, IOC, FOK)


@dataclass(slots=True)
class BookOrder:
    order_id: int
    user_id: int
    symbol: str
    side: str  # BUY | SELL
    type: str  # LIMIT | MARKET; STOP | STOP_LIMIT until triggered (then MARKET | LIMIT)
    qty: int  # original quantity
    limit_price: Decimal | None  # None for market orders
    time_in_force: str  # DAY | GTC | IOC | FOK
    priority: int  # arrival sequence assigned by the caller; lower = earlier
    # Market orders only: a buy never trades above it, a sell never below it.
    collar_price: Decimal | None = None
    filled_qty: int = 0
    # sum of price x qty of its fills: kept by the service layer, not by the engine
    filled_notional: Decimal = Decimal("0")
    stop_price: Decimal | None = None  # stops only
    triggered: bool = False

    @property
    def remaining(self) -> int:
        return self.qty - self.filled_qty


@dataclass(frozen=True, slots=True)
class Fill:
    seq: int  # the book's sequence number assigned to this execution
    symbol: str
    price: Decimal  # always the resting order's price
    qty: int
    buy_order_id: int
    sell_order_id: int
    buyer_id: int
    seller_id: int
    taker_side: str  # side of the incoming (aggressing) order
    buy_filled_qty: int  # cumulative filled qty of the buy order after this fill
    sell_filled_qty: int
    buy_remaining: int
    sell_remaining: int


@dataclass(slots=True)
class MatchResult:
    order: BookOrder  # the incoming order, filled_qty updated
    fills: list[Fill]
    rested: bool  # True when the remainder now rests in the book
    canceled_qty: int  # remainder canceled instead of resting (0 when none)
    cancel_reason: str | None
    # Resting orders that traded, in trade order; those with remaining 0 have
    # already been removed from the book.
    touched: list[BookOrder]
