"""stock_data's rules: what a valid listing and market change are, and how an execution
moves a stock's day statistics and its 1-minute candle. Pure: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from service_runtime.errors import Invalid
from service_runtime.identifiers import is_symbol
from service_runtime.money import MAX_PRICE, TICK, is_on_tick

NAME_MAX = 64

OPEN, HALTED, CLOSED = "open", "halted", "closed"
MARKET_STATUSES = (OPEN, HALTED, CLOSED)
# POST /api/market/<action> -> the status it sets.
MARKET_ACTIONS = {"open": OPEN, "halt": HALTED, "close": CLOSED}
SESSION_MAX_MINUTES = 600

# Candle intervals -> the stride date_bin aggregates the 1-minute rows with.
INTERVALS = {
    "1m": "1 minute",
    "5m": "5 minutes",
    "15m": "15 minutes",
    "1h": "1 hour",
    "1d": "1 day",
}
MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}
CANDLES_DEFAULT, CANDLES_MAX = 500, 5000
TAPE_DEFAULT, TAPE_MAX = 100, 5000

PCT_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class NewStock:
    symbol: str
    name: str
    reference_price: Decimal


def new_stock(symbol: str, name: str, reference_price: Decimal) -> NewStock:
    if not is_symbol(symbol):
        raise Invalid("symbol must be 1 to 8 upper-case letters or digits", "symbol")
    name = name.strip()
    if not name:
        raise Invalid("name is required and must be a non-empty string", "name")
    if len(name) > NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise Invalid(f"name must be at most {NAME_MAX} printable characters", "name")
    if reference_price <= 0 or reference_price > MAX_PRICE:
        raise Invalid(f"reference_price must be greater than 0 and at most {MAX_PRICE}", "reference_price")
    if not is_on_tick(reference_price):
        raise Invalid("reference_price must be on the 0.01 tick", "reference_price")
    return NewStock(symbol, name, reference_price.quantize(TICK))


def session_minutes(status: str, minutes: int | None) -> int | None:
    """Opening may take a session length (the market then closes by itself)."""
    if minutes is None:
        return None
    if status != OPEN:
        raise Invalid("only opening takes a body ({\"session_minutes\": N})", "session_minutes")
    if not 1 <= minutes <= SESSION_MAX_MINUTES:
        raise Invalid(f"session_minutes must be a whole number from 1 to {SESSION_MAX_MINUTES}", "session_minutes")
    return minutes


def change_pct(last_price: Decimal | None, reference_price: Decimal) -> Decimal:
    """(last - reference) / reference * 100, to 2 decimals (half up); 0.00 before the first trade."""
    if last_price is None:
        return Decimal("0.00")
    return ((last_price - reference_price) / reference_price * 100).quantize(PCT_PLACES, rounding=ROUND_HALF_UP)


def price_of(value: Decimal) -> Decimal:
    """A price as the NUMERIC(20, 2) columns store it."""
    return value.quantize(TICK, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class StockStats:
    """A listed stock and its running day statistics. last_trade_seq is the highest
    trade seq applied (last_price follows only a higher one); first_trade_seq the
    lowest (day_open belongs to it), so a trade applied late moves neither wrongly."""

    symbol: str
    name: str
    reference_price: Decimal
    listed: bool = True
    last_price: Decimal | None = None
    last_trade_seq: int = 0
    day_open: Decimal | None = None
    first_trade_seq: int | None = None
    day_high: Decimal | None = None
    day_low: Decimal | None = None
    volume: int = 0

    def apply(self, seq: int, price: Decimal, qty: int) -> None:
        price = price_of(price)
        if self.last_price is None or seq > self.last_trade_seq:
            self.last_price = price
        self.last_trade_seq = max(self.last_trade_seq, seq)
        if self.first_trade_seq is None or seq < self.first_trade_seq:
            self.day_open, self.first_trade_seq = price, seq
        self.day_high = price if self.day_high is None else max(self.day_high, price)
        self.day_low = price if self.day_low is None else min(self.day_low, price)
        self.volume += qty

    def start_over(self) -> None:
        """A reset: the reference price again, no day statistics (seqs keep counting)."""
        self.last_price = self.day_open = self.day_high = self.day_low = None
        self.first_trade_seq = None
        self.volume = 0


def minute_of(at: datetime) -> datetime:
    """The start of the 1-minute candle `at` falls in."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.replace(second=0, microsecond=0)


@dataclass(slots=True)
class Candle:
    """A batch's part of one 1-minute candle; the store merges it with the stored one
    (the earlier open, the later close, the wider range, the sum)."""

    symbol: str
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    open_seq: int
    close_seq: int

    def add(self, seq: int, price: Decimal, qty: int) -> None:
        price = price_of(price)
        if seq < self.open_seq:
            self.open, self.open_seq = price, seq
        if seq > self.close_seq:
            self.close, self.close_seq = price, seq
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.volume += qty


def first_candle(symbol: str, at: datetime, seq: int, price: Decimal, qty: int) -> Candle:
    price = price_of(price)
    return Candle(symbol, minute_of(at), price, price, price, price, qty, seq, seq)
