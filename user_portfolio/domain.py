"""user_portfolio's rules: what an order must reserve, how a fill moves cash, shares,
average cost and P&L, and how a portfolio is valued. Pure: typed records in and
out, no I/O.

The records mirror the table rows: the functions move cash and shares exactly as
the SQL columns would store them (numeric(20, 2) rounding included) and refuse,
at the moment it happens, what the tables' CHECK constraints would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from service_runtime.money import ZERO, fmt, money, price_ceil, price_floor

# A market buy may trade at most 5 % above the last price (the reference price
# before the first trade); a market sell at most 5 % below. Computed at approval.
COLLAR_UP = Decimal("1.05")
COLLAR_DOWN = Decimal("0.95")
AVG_COST_PLACES = Decimal("0.000001")  # positions.avg_cost is numeric(20, 6)
PCT_PLACES = Decimal("0.01")
COLUMN_CENTS = Decimal("0.01")  # numeric(20, 2) columns
HUNDRED = Decimal("100")

REJECT_CASH = "insufficient_cash"
REJECT_SHARES = "insufficient_shares"
REJECT_INVALID = "invalid_order"
REJECT_MAX_ORDER_QTY = "max_order_qty"
REJECT_MAX_POSITION = "max_position"
REJECT_REPLACE = "replace_failed"  # the replaced order moved on before its replacement arrived
HOUSE_ID = 0  # the house account: every commission is credited to it


def cents(value: Decimal) -> Decimal:
    """What a numeric(20, 2) column stores for `value` (PostgreSQL rounds half away from zero)."""
    return value.quantize(COLUMN_CENTS, rounding=ROUND_HALF_UP)


class BrokenConstraint(RuntimeError):
    """A change the tables' CHECK constraints would refuse (a bug upstream or here)."""


# ---------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    """The simulation settings enforced at approval (settings.changed keeps them)."""

    commission_per_share: Decimal = ZERO
    max_position: int | None = None
    max_order_qty: int | None = None


@dataclass(slots=True)
class Account:
    user_id: int
    name: str
    role: str
    starting_cash: Decimal
    cash: Decimal
    reserved_cash: Decimal = ZERO
    realized_pl: Decimal = ZERO
    fills: int = 0
    updated_at: datetime | None = None

    def check(self) -> None:
        if self.reserved_cash < 0 or self.cash - self.reserved_cash < 0 or self.starting_cash < 0:
            raise BrokenConstraint(f"account {self.user_id}: cash {self.cash}, reserved {self.reserved_cash} "
                                   "breaks accounts_free_cash")

    @property
    def buying_power(self) -> Decimal:
        return self.cash - self.reserved_cash


@dataclass(slots=True)
class Position:
    user_id: int
    symbol: str
    qty: int = 0
    reserved_qty: int = 0
    granted_qty: int = 0
    avg_cost: Decimal = ZERO
    realized_pl: Decimal = ZERO
    open_buy_qty: int = 0  # shares open buys may still bring: what max_position counts besides qty
    updated_at: datetime | None = None

    def check(self) -> None:
        if (self.reserved_qty < 0 or self.qty < self.reserved_qty or self.granted_qty < 0 or self.avg_cost < 0
                or self.open_buy_qty < 0):
            raise BrokenConstraint(f"position {self.user_id}/{self.symbol}: qty {self.qty}, reserved "
                                   f"{self.reserved_qty} breaks positions_free_shares")

    @property
    def free(self) -> int:
        return self.qty - self.reserved_qty

    def untouched_grant(self) -> bool:
        """Holds only its grant and has no cost basis yet: listing its symbol gives it the
        reference price as cost."""
        return self.avg_cost == 0 and self.qty == self.granted_qty


@dataclass(slots=True)
class Listing:
    symbol: str
    name: str
    reference_price: Decimal
    last_price: Decimal | None = None
    last_trade_seq: int = 0

    def move_price(self, price: Decimal, trade_seq: int) -> None:
        """Forward only, never back to an older trade's price."""
        if trade_seq >= self.last_trade_seq:
            self.last_price = cents(price)
        self.last_trade_seq = max(self.last_trade_seq, trade_seq)

    @property
    def mark(self) -> Decimal:
        """The price positions are valued at: the last trade, else the reference."""
        return self.last_price if self.last_price is not None else self.reference_price


@dataclass(slots=True)
class Reservation:
    """What an approved order holds until it is filled or closed (or a rejected order,
    holding nothing, so a redelivered order.placed is answered once)."""

    order_id: int
    user_id: int
    symbol: str
    side: str
    type: str
    qty: int
    filled_qty: int = 0
    reserve_price: Decimal | None = None  # per-share cash held (buys)
    status: str = "open"
    created_at: datetime | None = None
    closed_at: datetime | None = None
    commission: Decimal = ZERO  # per share, fixed at approval
    replaces: int | None = None  # a replacement: the order it replaces
    # until the replacement takes over what that order holds, what it added on top
    added_cash: Decimal | None = None
    added_qty: int | None = None

    @property
    def pending_replace(self) -> bool:
        return self.added_cash is not None

    def check(self) -> None:
        if not 0 <= self.filled_qty <= self.qty:
            raise BrokenConstraint(f"order {self.order_id}: filled {self.filled_qty} of {self.qty}")

    @property
    def cash_per_share(self) -> Decimal:
        """What it holds in cash per unfilled share: a buy its price and the commission,
        a sell the commission."""
        return (self.reserve_price or ZERO) + self.commission

    def commission_for(self, qty: int) -> Decimal:
        return cents(self.commission * qty)


def new_account(user_id: int, name: str, role: str, starting_cash: Decimal, now: datetime) -> Account:
    cash = cents(starting_cash)
    return Account(user_id, name, role, cash, cash, cents(ZERO), cents(ZERO), 0, now)


def new_listing(symbol: str, name: str, reference_price: Decimal) -> Listing:
    return Listing(symbol, name, cents(reference_price))


# ---------------------------------------------------------------------------
# Approval
# ---------------------------------------------------------------------------


ORDER_TYPES = ("market", "limit", "stop", "stop_limit")
MARKET_TYPES = ("market", "stop")  # the types with a collar instead of a limit
LIMIT_TYPES = ("limit", "stop_limit")
STOP_TYPES = ("stop", "stop_limit")


def market_price(last_price: Decimal | None, reference_price: Decimal) -> Decimal:
    return last_price if last_price is not None else reference_price


def buy_collar(last_price: Decimal | None, reference_price: Decimal) -> Decimal:
    """The highest price a market buy may pay (rounded down onto the 0.01 tick)."""
    return price_floor(market_price(last_price, reference_price) * COLLAR_UP)


def sell_floor(last_price: Decimal | None, reference_price: Decimal) -> Decimal:
    """The lowest price a market sell may take (rounded up onto the 0.01 tick)."""
    return price_ceil(market_price(last_price, reference_price) * COLLAR_DOWN)


@dataclass(frozen=True)
class Decision:
    """The answer to an order.placed: approve (reserving `reserve_cash` or `reserve_qty`)
    or reject with a reason."""

    approved: bool
    reason: str | None = None
    message: str | None = None
    reserve_price: Decimal | None = None
    reserve_cash: Decimal = ZERO
    reserve_qty: int = 0
    collar_price: Decimal | None = None  # market orders only
    commission: Decimal = ZERO  # per share, fixed at approval


def decide_order(
    *, side: str, type_: str, qty: int, limit_price: Decimal | None, symbol: str, last_price: Decimal | None,
    reference_price: Decimal, buying_power: Decimal, free_shares: int, held_qty: int = 0, open_buy_qty: int = 0,
    rules: Rules = Rules(), stop_price: Decimal | None = None,
) -> Decision:
    """Whether an order can be approved, and what it must hold if so.

    Buy: a limit buy holds (limit + commission) x qty, a market buy (collar +
    commission) x qty; buying power (cash - reserved cash) must cover it. Sell: free
    shares must cover qty, and buying power the commission. No short selling, no
    margin. The settings' limits come first: an order larger than max_order_qty, or
    a buy that would take the position (held plus open buys) above max_position.
    A stop holds what the order it becomes would hold, priced from its stop price: a
    stop (market once triggered) the collar around the stop price, a stop_limit its
    limit."""
    if side not in ("buy", "sell") or type_ not in ORDER_TYPES or qty <= 0:
        return Decision(False, REJECT_INVALID, f"cannot handle a {type_} {side} of {qty}")
    if type_ in LIMIT_TYPES and (limit_price is None or limit_price <= 0):
        return Decision(False, REJECT_INVALID, f"a {type_} order needs a positive limit_price")
    if type_ in STOP_TYPES and (stop_price is None or stop_price <= 0):
        return Decision(False, REJECT_INVALID, f"a {type_} order needs a positive stop_price")
    if type_ == "stop":  # its collar is computed as if the last trade were at the stop price
        last_price = stop_price
    if rules.max_order_qty is not None and qty > rules.max_order_qty:
        return Decision(False, REJECT_MAX_ORDER_QTY,
                        f"the max order size is {rules.max_order_qty} shares; this order is for {qty}")
    if side == "buy" and rules.max_position is not None and held_qty + open_buy_qty + qty > rules.max_position:
        on_order = f" + {open_buy_qty} on order" if open_buy_qty else ""
        return Decision(False, REJECT_MAX_POSITION,
                        f"the max position is {rules.max_position} shares of {symbol}; "
                        f"{held_qty} held{on_order} + {qty} bought would be {held_qty + open_buy_qty + qty}")
    commission = rules.commission_per_share
    if side == "buy":
        collar = buy_collar(last_price, reference_price) if type_ in MARKET_TYPES else None
        reserve_price = collar if collar is not None else limit_price
        assert reserve_price is not None
        need = money((reserve_price + commission) * qty)
        if buying_power < need:
            return Decision(False, REJECT_CASH, f"needs {fmt(need)}, buying power {fmt(money(buying_power))}")
        return Decision(True, reserve_price=reserve_price, reserve_cash=need, collar_price=collar,
                        commission=commission)
    if free_shares < qty:
        return Decision(False, REJECT_SHARES, f"needs {qty} {symbol} shares, {free_shares} free")
    need = money(commission * qty)
    if buying_power < need:
        return Decision(False, REJECT_CASH,
                        f"needs {fmt(need)} for commission, buying power {fmt(money(buying_power))}")
    collar = sell_floor(last_price, reference_price) if type_ in MARKET_TYPES else None
    return Decision(True, reserve_qty=qty, reserve_cash=need, collar_price=collar, commission=commission)


def hold(account: Account, position: Position | None, decision: Decision, now: datetime,
         credit: tuple[Decimal, int] = (ZERO, 0)) -> tuple[Decimal, int]:
    """Hold cash (buy, or a sell's commission) or shares (sell) for an approved order;
    a replacement holds only what it needs beyond `credit`, what the order it replaces
    still holds (until it takes that over). Returns what was added."""
    cash = max(ZERO, decision.reserve_cash - credit[0])
    qty = max(0, decision.reserve_qty - credit[1])
    if cash:
        account.reserved_cash = cents(account.reserved_cash + cash)
        account.updated_at = now
    if qty:
        assert position is not None, "a sell is approved only against a position"
        position.reserved_qty += qty
        position.updated_at = now
    return cents(cash), qty


# ---------------------------------------------------------------------------
# Settlement
# ---------------------------------------------------------------------------


def new_avg_cost(avg_cost: Decimal, held: int, price: Decimal, qty: int) -> Decimal:
    """Average cost after buying `qty` at `price` on top of `held` shares at `avg_cost`."""
    total = held + qty
    if total <= 0:
        return ZERO
    return ((avg_cost * held + price * qty) / total).quantize(AVG_COST_PLACES, rounding=ROUND_HALF_EVEN)


def realized_pl(price: Decimal, avg_cost: Decimal, qty: int) -> Decimal:
    return money((price - avg_cost) * qty)


def settle_buy(account: Account, position: Position, res: Reservation, *, price: Decimal, qty: int,
               now: datetime) -> Decimal:
    """The buyer's side of a fill: pay price x qty, release what the reservation held for
    these shares (so a better price than reserved frees the difference at once), receive
    the shares at a new average cost. Returns the (negative) ledger amount."""
    cost = price * qty
    account.cash = cents(account.cash - cost)
    account.reserved_cash = cents(account.reserved_cash - res.cash_per_share * qty)
    account.updated_at = now
    position.avg_cost = new_avg_cost(position.avg_cost, position.qty, price, qty)
    position.qty += qty
    position.open_buy_qty -= qty
    position.updated_at = now
    res.filled_qty += qty
    return -cost


def settle_sell(account: Account, position: Position, res: Reservation, *, price: Decimal, qty: int,
                now: datetime) -> Decimal:
    """The seller's side of a fill: deliver the reserved shares, receive price x qty,
    realize (price - avg_cost) x qty. Returns the ledger amount."""
    proceeds = price * qty
    pnl = realized_pl(price, position.avg_cost, qty)
    account.cash = cents(account.cash + proceeds)
    account.reserved_cash = cents(account.reserved_cash - res.cash_per_share * qty)
    account.realized_pl = cents(account.realized_pl + pnl)
    account.updated_at = now
    position.qty -= qty
    position.reserved_qty -= qty
    position.realized_pl = cents(position.realized_pl + pnl)
    position.updated_at = now
    res.filled_qty += qty
    return proceeds


def charge_commission(account: Account, house: Account, amount: Decimal, now: datetime) -> None:
    """Move a fill's commission from the trader's cash to the house account."""
    account.cash = cents(account.cash - amount)
    account.updated_at = now
    house.cash = cents(house.cash + amount)
    house.updated_at = now


def unfilled_at_close(res: Reservation, final_filled: int | None) -> int:
    """What a closing order still holds, in shares: `final_filled` is the order's
    cumulative filled quantity as the closing event reports it, so shares filled by
    trades not settled here yet stay held for those trades (each trade releases its
    own part) and a release never counts a fill twice."""
    return int(res.qty - max(res.filled_qty, final_filled or 0))


def release(account: Account | None, position: Position | None, res: Reservation, unfilled: int,
            now: datetime) -> None:
    """What a closing order held for its unfilled shares goes back (a replacement that
    never took over holds only what it added)."""
    if account is not None:
        held = res.added_cash if res.pending_replace else res.cash_per_share * unfilled
        account.reserved_cash = cents(account.reserved_cash - held)
        account.updated_at = now
    if position is not None:
        if res.side == "sell":
            position.reserved_qty -= (res.added_qty or 0) if res.pending_replace else unfilled
        else:
            position.open_buy_qty -= unfilled
        position.updated_at = now


def held_for(res: Reservation) -> tuple[Decimal, int]:
    """What an open order holds for its unfilled shares: cash, and shares (sells)."""
    unfilled = res.qty - res.filled_qty
    return cents(res.cash_per_share * unfilled), unfilled if res.side == "sell" else 0


def take_over(account: Account, position: Position | None, old: Reservation, new: Reservation,
              now: datetime) -> None:
    """The replacement takes over what the replaced order held: the account then holds
    the replacement's full need, the replaced order nothing."""
    old_cash, old_qty = held_for(old)
    new_cash, new_qty = held_for(new)
    account.reserved_cash = cents(account.reserved_cash + new_cash - (new.added_cash or ZERO) - old_cash)
    account.updated_at = now
    if position is not None:
        position.reserved_qty += new_qty - (new.added_qty or 0) - old_qty
        if old.side == "buy":
            position.open_buy_qty -= old.qty - old.filled_qty
        position.updated_at = now
    new.added_cash = new.added_qty = None
    close(old, now)


def close(res: Reservation, now: datetime) -> None:
    res.status = "closed"
    res.closed_at = now
