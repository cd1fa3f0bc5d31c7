"""user_portfolio's rules: what an order must reserve, how a fill moves cash, shares,
average cost and P&L, and how a portfolio is valued. Pure functions, no I/O.

The event handlers work on in-memory rows (dicts shaped like the table rows, see
store.BatchState): the functions below move cash and shares in those rows exactly
as the SQL columns would (numeric(20, 2) rounding included) and refuse what the
tables' CHECK constraints would refuse, at the moment it happens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

from service_runtime.money import AVG_PRICE_PLACES, ZERO, fmt, money, price_ceil, price_floor

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
HOUSE_ID = 0  # the house account: every commission is credited to it


@dataclass(frozen=True)
class Rules:
    """The simulation settings enforced at approval (settings.changed keeps them)."""

    commission_per_share: Decimal = ZERO
    max_position: int | None = None
    max_order_qty: int | None = None


def market_price(last_price: Decimal | None, reference_price: Decimal) -> Decimal:
    """The price a market order is measured against: the last trade, else the reference."""
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
    reserve_price: Decimal | None = None  # per-share cash held (buys only)
    reserve_cash: Decimal = ZERO
    reserve_qty: int = 0
    collar_price: Decimal | None = None  # market orders only
    commission: Decimal = ZERO  # per share, fixed at approval


def decide_order(
    *,
    side: str,
    type_: str,
    qty: int,
    limit_price: Decimal | None,
    symbol: str,
    last_price: Decimal | None,
    reference_price: Decimal,
    buying_power: Decimal,
    free_shares: int,
    held_qty: int = 0,
    open_buy_qty: int = 0,
    rules: Rules = Rules(),
) -> Decision:
    """Whether an order can be approved, and what it must hold if so.

    Buy: a limit buy holds (limit + commission) x qty, a market buy (collar +
    commission) x qty; the caller's buying power (cash - reserved cash) must cover
    it. Sell: free shares (held - reserved) must cover qty, and buying power the
    commission. No short selling, no margin. The settings' limits come first: an
    order larger than max_order_qty, or a buy that would take the position (shares
    held, `held_qty`, plus what open buys may still bring, `open_buy_qty`) above
    max_position, is rejected naming the rule."""
    if side not in ("buy", "sell") or type_ not in ("market", "limit") or qty <= 0:
        return Decision(False, REJECT_INVALID, f"cannot handle a {type_} {side} of {qty}")
    if type_ == "limit" and (limit_price is None or limit_price <= 0):
        return Decision(False, REJECT_INVALID, "a limit order needs a positive limit_price")
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
        collar = buy_collar(last_price, reference_price) if type_ == "market" else None
        reserve_price = collar if collar is not None else limit_price
        assert reserve_price is not None
        need = money((reserve_price + commission) * qty)
        if buying_power < need:
            return Decision(
                False,
                REJECT_CASH,
                f"needs {fmt(need)}, buying power {fmt(money(buying_power))}",
            )
        return Decision(True, reserve_price=reserve_price, reserve_cash=need, collar_price=collar,
                        commission=commission)
    if free_shares < qty:
        return Decision(False, REJECT_SHARES, f"needs {qty} {symbol} shares, {free_shares} free")
    need = money(commission * qty)
    if buying_power < need:
        return Decision(False, REJECT_CASH,
                        f"needs {fmt(need)} for commission, buying power {fmt(money(buying_power))}")
    collar = sell_floor(last_price, reference_price) if type_ == "market" else None
    return Decision(True, reserve_qty=qty, reserve_cash=need, collar_price=collar, commission=commission)


def new_avg_cost(avg_cost: Decimal, held: int, price: Decimal, qty: int) -> Decimal:
    """Average cost after buying `qty` at `price` on top of `held` shares at `avg_cost`."""
    total = held + qty
    if total <= 0:
        return ZERO
    return ((avg_cost * held + price * qty) / total).quantize(AVG_COST_PLACES, rounding=ROUND_HALF_EVEN)


def realized_pl(price: Decimal, avg_cost: Decimal, qty: int) -> Decimal:
    """P&L realized by selling `qty` at `price` against the position's average cost."""
    return money((price - avg_cost) * qty)


# ---------------------------------------------------------------------------
# Rows: what an event does to accounts, positions and reservations, in memory.
# ---------------------------------------------------------------------------


class BrokenConstraint(RuntimeError):
    """A change the tables' CHECK constraints would refuse (a bug upstream or here)."""


def cents(value: Decimal) -> Decimal:
    """What a numeric(20, 2) column stores for `value` (PostgreSQL rounds half away from zero)."""
    return value.quantize(COLUMN_CENTS, rounding=ROUND_HALF_UP)


def check_account(a: dict[str, Any]) -> None:
    if a["reserved_cash"] < 0 or a["cash"] - a["reserved_cash"] < 0 or a["starting_cash"] < 0:
        raise BrokenConstraint(
            f"account {a['user_id']}: cash {a['cash']}, reserved {a['reserved_cash']} breaks accounts_free_cash"
        )


def check_position(p: dict[str, Any]) -> None:
    if (p["reserved_qty"] < 0 or p["qty"] < p["reserved_qty"] or p["granted_qty"] < 0 or p["avg_cost"] < 0
            or p.get("open_buy_qty", 0) < 0):
        raise BrokenConstraint(
            f"position {p['user_id']}/{p['symbol']}: qty {p['qty']}, reserved {p['reserved_qty']} "
            "breaks positions_free_shares"
        )


def check_reservation(r: dict[str, Any]) -> None:
    if not 0 <= r["filled_qty"] <= r["qty"]:
        raise BrokenConstraint(f"order {r['order_id']}: filled {r['filled_qty']} of {r['qty']}")


def new_account(user_id: int, name: str, role: str, starting_cash: Decimal, now: datetime) -> dict[str, Any]:
    cash = cents(starting_cash)
    return {"user_id": user_id, "name": name, "role": role, "starting_cash": cash, "cash": cash,
            "reserved_cash": cents(ZERO), "realized_pl": cents(ZERO), "fills": 0, "updated_at": now}


def new_position(user_id: int, symbol: str, now: datetime, *, qty: int = 0, granted_qty: int = 0,
                 avg_cost: Decimal = ZERO) -> dict[str, Any]:
    return {"user_id": user_id, "symbol": symbol, "qty": qty, "reserved_qty": 0, "granted_qty": granted_qty,
            "avg_cost": avg_cost, "realized_pl": cents(ZERO), "open_buy_qty": 0, "updated_at": now}


def new_symbol(symbol: str, name: str, reference_price: Decimal) -> dict[str, Any]:
    return {"symbol": symbol, "name": name, "reference_price": cents(reference_price), "last_price": None,
            "last_trade_seq": 0}


def grant_cost_applies(position: dict[str, Any]) -> bool:
    """A position that holds only its grant and has no cost basis yet: listing its symbol
    gives it the reference price as cost."""
    return position["avg_cost"] == 0 and position["qty"] == position["granted_qty"]


def move_last_price(symbol: dict[str, Any], price: Decimal, trade_seq: int) -> None:
    """Move the last price forward, never back to an older trade's."""
    if trade_seq >= symbol["last_trade_seq"]:
        symbol["last_price"] = cents(price)
    symbol["last_trade_seq"] = max(symbol["last_trade_seq"], trade_seq)


def new_reservation(
    *, order_id: int, user_id: int, symbol: str, side: str, type_: str, qty: int,
    reserve_price: Decimal | None, now: datetime, commission: Decimal = ZERO,
) -> dict[str, Any]:
    """An approved order's reservation (open)."""
    return {"order_id": order_id, "user_id": user_id, "symbol": symbol, "side": side, "type": type_, "qty": qty,
            "filled_qty": 0, "reserve_price": None if reserve_price is None else cents(reserve_price),
            "status": "open", "created_at": now, "closed_at": None, "commission": cents(commission)}


def cash_held_per_share(res: dict[str, Any]) -> Decimal:
    """What an open reservation holds in cash per unfilled share: a buy its price and
    the commission, a sell the commission."""
    return (res["reserve_price"] or ZERO) + res.get("commission", ZERO)


def commission_for(res: dict[str, Any], qty: int) -> Decimal:
    return cents(res.get("commission", ZERO) * qty)


def charge_commission(account: dict[str, Any], house: dict[str, Any], amount: Decimal, now: datetime) -> None:
    """Move a fill's commission from the trader's cash to the house account."""
    account["cash"] = cents(account["cash"] - amount)
    account["updated_at"] = now
    house["cash"] = cents(house["cash"] + amount)
    house["updated_at"] = now


def rejected_reservation(
    *, order_id: int, user_id: int, symbol: str, side: str, type_: str, qty: int, now: datetime
) -> dict[str, Any]:
    """A rejected order, holding nothing, remembered so a redelivered order.placed is answered once."""
    return {"order_id": order_id, "user_id": user_id, "symbol": symbol,
            "side": side if side in ("buy", "sell") else "buy",
            "type": type_ if type_ in ("market", "limit") else "limit",
            "qty": max(qty, 1), "filled_qty": 0, "reserve_price": None, "status": "rejected",
            "created_at": now, "closed_at": now, "commission": cents(ZERO)}


def hold(account: dict[str, Any], position: dict[str, Any] | None, decision: Decision, now: datetime) -> None:
    """Hold cash (buy) or shares (sell) for an approved order."""
    if decision.reserve_cash:
        account["reserved_cash"] = cents(account["reserved_cash"] + decision.reserve_cash)
        account["updated_at"] = now
    if decision.reserve_qty:
        assert position is not None, "a sell is approved only against a position"
        position["reserved_qty"] += decision.reserve_qty
        position["updated_at"] = now


def settle_buy(
    account: dict[str, Any], position: dict[str, Any], res: dict[str, Any], *, price: Decimal, qty: int,
    now: datetime,
) -> Decimal:
    """The buyer's side of a fill: pay price x qty, release reserve_price x qty (so a
    better price than reserved frees the difference at once), receive the shares at a
    new average cost. Returns the (negative) ledger amount."""
    cost = price * qty
    account["cash"] = cents(account["cash"] - cost)
    account["reserved_cash"] = cents(account["reserved_cash"] - cash_held_per_share(res) * qty)
    account["updated_at"] = now
    position["avg_cost"] = new_avg_cost(position["avg_cost"], int(position["qty"]), price, qty)
    position["qty"] += qty
    position["open_buy_qty"] -= qty
    position["updated_at"] = now
    res["filled_qty"] += qty
    return -cost


def settle_sell(
    account: dict[str, Any], position: dict[str, Any], res: dict[str, Any], *, price: Decimal, qty: int,
    now: datetime,
) -> Decimal:
    """The seller's side of a fill: deliver the (reserved) shares, receive price x qty,
    realize (price - avg_cost) x qty. Returns the ledger amount."""
    proceeds = price * qty
    pnl = realized_pl(price, position["avg_cost"], qty)
    account["cash"] = cents(account["cash"] + proceeds)
    account["reserved_cash"] = cents(account["reserved_cash"] - cash_held_per_share(res) * qty)
    account["realized_pl"] = cents(account["realized_pl"] + pnl)
    account["updated_at"] = now
    position["qty"] -= qty
    position["reserved_qty"] -= qty
    position["realized_pl"] = cents(position["realized_pl"] + pnl)
    position["updated_at"] = now
    res["filled_qty"] += qty
    return proceeds


def unfilled_at_close(res: dict[str, Any], final_filled: int | None) -> int:
    """What a closing order still holds, in shares: `final_filled` is the order's
    cumulative filled quantity as the closing event reports it, so shares filled by
    trades not settled here yet stay held for those trades (each trade releases its
    own part) and a release never counts a fill twice."""
    return int(res["qty"] - max(res["filled_qty"], final_filled or 0))


def release_cash(account: dict[str, Any], res: dict[str, Any], qty: int, now: datetime) -> None:
    account["reserved_cash"] = cents(account["reserved_cash"] - cash_held_per_share(res) * qty)
    account["updated_at"] = now


def release_open_buy(position: dict[str, Any], qty: int, now: datetime) -> None:
    """A buy that closes with `qty` unfilled no longer counts toward the position."""
    position["open_buy_qty"] -= qty
    position["updated_at"] = now


def release_shares(position: dict[str, Any], qty: int, now: datetime) -> None:
    position["reserved_qty"] -= qty
    position["updated_at"] = now


def close(res: dict[str, Any], now: datetime) -> None:
    res["status"] = "closed"
    res["closed_at"] = now


# ---------------------------------------------------------------------------
# Valuation: the one place a portfolio's numbers are computed, used by
# GET /api/portfolios/{id}, portfolio.updated and the leaderboard alike.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionValue:
    symbol: str
    qty: int
    reserved_qty: int
    avg_cost: Decimal
    last_price: Decimal | None
    market_value: Decimal | None
    unrealized_pl: Decimal | None


@dataclass(frozen=True)
class Valuation:
    user_id: int
    name: str
    role: str
    starting_cash: Decimal
    cash: Decimal
    reserved_cash: Decimal
    realized_pl: Decimal
    positions: list[PositionValue] = field(default_factory=list)
    fills: int = 0
    granted_value: Decimal = ZERO  # the shares granted at the start, at their reference prices

    @property
    def starting_equity(self) -> Decimal:
        """What the account was worth at the start: its starting cash and granted shares."""
        return money(self.starting_cash + self.granted_value)

    @property
    def buying_power(self) -> Decimal:
        return self.cash - self.reserved_cash

    @property
    def market_value(self) -> Decimal:
        return sum((p.market_value for p in self.positions if p.market_value is not None), ZERO)

    @property
    def equity(self) -> Decimal:
        return self.cash + self.market_value

    @property
    def unrealized_pl(self) -> Decimal:
        return sum((p.unrealized_pl for p in self.positions if p.unrealized_pl is not None), ZERO)

    @property
    def return_pct(self) -> Decimal:
        """Against the starting equity (cash and granted shares), so a trader given shares
        and no cash starts at 0 %, like one given only cash."""
        start = self.starting_equity
        if start <= 0:
            return Decimal("0.00")
        return ((self.equity - start) / start * HUNDRED).quantize(PCT_PLACES, rounding=ROUND_HALF_EVEN)


def value_position(row: dict[str, Any]) -> PositionValue:
    """A position row joined with its symbol (last_price, reference_price may be None)."""
    last = row.get("last_price")
    if last is None:
        last = row.get("reference_price")
    qty = int(row["qty"])
    avg_cost = row["avg_cost"]
    market_value = money(last * qty) if last is not None else None
    unrealized = money((last - avg_cost) * qty) if last is not None else None
    return PositionValue(
        symbol=row["symbol"],
        qty=qty,
        reserved_qty=int(row["reserved_qty"]),
        avg_cost=avg_cost,
        last_price=last,
        market_value=market_value,
        unrealized_pl=unrealized,
    )


def value_portfolio(account: dict[str, Any], positions: list[dict[str, Any]]) -> Valuation:
    """Value an account; positions with qty 0 are left out."""
    return Valuation(
        user_id=account["user_id"],
        name=account["name"],
        role=account["role"],
        starting_cash=account["starting_cash"],
        cash=account["cash"],
        reserved_cash=account["reserved_cash"],
        realized_pl=account["realized_pl"],
        positions=[value_position(p) for p in sorted(positions, key=lambda p: p["symbol"]) if p["qty"] > 0],
        fills=int(account.get("fills") or 0),
        granted_value=account.get("granted_value") or ZERO,
    )


def value_rows(
    account: dict[str, Any], positions: list[dict[str, Any]], symbols: dict[str, dict[str, Any] | None]
) -> Valuation:
    """Value an account from in-memory rows, as load_valuations values it from the tables
    (positions joined with their symbol's prices, None for an unlisted symbol)."""
    joined = []
    for p in positions:
        sym = symbols.get(p["symbol"])
        joined.append({**p, "last_price": sym["last_price"] if sym else None,
                       "reference_price": sym["reference_price"] if sym else None})
    return value_portfolio(account, joined)


def _cents(value: Decimal | None) -> str | None:
    return None if value is None else fmt(money(value))


def portfolio_body(v: Valuation) -> dict[str, Any]:
    """The portfolio as GET /api/portfolios/{id} returns it and portfolio.updated carries it."""
    return {
        "user_id": v.user_id,
        "name": v.name,
        "cash": _cents(v.cash),
        "reserved_cash": _cents(v.reserved_cash),
        "buying_power": _cents(v.buying_power),
        "equity": _cents(v.equity),
        "realized_pl": _cents(v.realized_pl),
        "unrealized_pl": _cents(v.unrealized_pl),
        "positions": [
            {
                "symbol": p.symbol,
                "qty": p.qty,
                "reserved_qty": p.reserved_qty,
                "avg_cost": fmt(p.avg_cost.quantize(AVG_PRICE_PLACES, rounding=ROUND_HALF_EVEN)),
                "last_price": _cents(p.last_price),
                "market_value": _cents(p.market_value),
                "unrealized_pl": _cents(p.unrealized_pl),
            }
            for p in v.positions
        ],
    }


def leaderboard(valuations: list[Valuation]) -> list[dict[str, Any]]:
    """Rank by equity, highest first (ties share a rank, then the lower user id lists first)."""
    ordered = sorted(valuations, key=lambda v: (-v.equity, v.user_id))
    rows: list[dict[str, Any]] = []
    rank = 0
    previous: Decimal | None = None
    for position, v in enumerate(ordered, start=1):
        if v.equity != previous:
            rank, previous = position, v.equity
        rows.append(
            {
                "rank": rank,
                "user_id": v.user_id,
                "name": v.name,
                "equity": _cents(v.equity),
                "return_pct": fmt(v.return_pct),
                "realized_pl": _cents(v.realized_pl),
                "unrealized_pl": _cents(v.unrealized_pl),
                "role": v.role,
                "cash": _cents(v.cash),
                "trades": v.fills,
            }
        )
    return rows


def roster_row(v: Valuation) -> dict[str, Any]:
    """GET /api/portfolios: the portfolio plus name, role, trades, starting_equity, return_pct."""
    return {**portfolio_body(v), "role": v.role, "trades": v.fills,
            "starting_equity": _cents(v.starting_equity), "return_pct": fmt(v.return_pct)}
