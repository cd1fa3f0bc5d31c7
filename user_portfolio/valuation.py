"""How a portfolio is valued: the one place its numbers are computed, for
GET /api/portfolios/{id}, portfolio.updated and the leaderboard alike. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from service_runtime.contracts import LeaderboardRow, PortfolioView, PositionView
from service_runtime.money import AVG_PRICE_PLACES, ZERO, money

from .domain import HUNDRED, PCT_PLACES, Account


@dataclass(frozen=True)
class Holding:
    """A position joined with its symbol's prices (None for an unlisted symbol)."""

    symbol: str
    qty: int
    reserved_qty: int
    avg_cost: Decimal
    granted_qty: int
    last_price: Decimal | None
    reference_price: Decimal | None


@dataclass(frozen=True)
class Valuation:
    user_id: int
    name: str
    role: str
    starting_cash: Decimal
    cash: Decimal
    reserved_cash: Decimal
    realized_pl: Decimal
    positions: list[PositionView] = field(default_factory=list)
    fills: int = 0
    granted_value: Decimal = ZERO  # the shares granted at the start, at their reference prices

    @property
    def starting_equity(self) -> Decimal:
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


def value_holding(h: Holding) -> PositionView:
    last = h.last_price if h.last_price is not None else h.reference_price
    return PositionView(
        symbol=h.symbol, qty=h.qty, reserved_qty=h.reserved_qty,
        avg_cost=h.avg_cost.quantize(AVG_PRICE_PLACES, rounding=ROUND_HALF_EVEN),
        last_price=None if last is None else money(last),
        market_value=money(last * h.qty) if last is not None else None,
        unrealized_pl=money((last - h.avg_cost) * h.qty) if last is not None else None,
    )


def value(account: Account, holdings: list[Holding]) -> Valuation:
    """Value an account; positions with qty 0 count for the grant but are not shown."""
    granted = sum((h.granted_qty * h.reference_price for h in holdings
                   if h.granted_qty > 0 and h.reference_price is not None), ZERO)
    return Valuation(
        user_id=account.user_id, name=account.name, role=account.role, starting_cash=account.starting_cash,
        cash=account.cash, reserved_cash=account.reserved_cash, realized_pl=account.realized_pl,
        positions=[value_holding(h) for h in sorted(holdings, key=lambda h: h.symbol) if h.qty > 0],
        fills=account.fills, granted_value=granted,
    )


def portfolio_view(v: Valuation) -> PortfolioView:
    """The portfolio as GET /api/portfolios/{id} returns it and portfolio.updated carries it."""
    return PortfolioView(
        user_id=v.user_id, name=v.name, cash=money(v.cash), reserved_cash=money(v.reserved_cash),
        buying_power=money(v.buying_power), equity=money(v.equity), realized_pl=money(v.realized_pl),
        unrealized_pl=money(v.unrealized_pl), positions=list(v.positions),
    )


def leaderboard(valuations: list[Valuation]) -> list[LeaderboardRow]:
    """Rank by equity, highest first (ties share a rank, then the lower user id lists first)."""
    ordered = sorted(valuations, key=lambda v: (-v.equity, v.user_id))
    rows: list[LeaderboardRow] = []
    rank = 0
    previous: Decimal | None = None
    for place, v in enumerate(ordered, start=1):
        if v.equity != previous:
            rank, previous = place, v.equity
        rows.append(LeaderboardRow(
            rank=rank, user_id=v.user_id, name=v.name, role=v.role, equity=money(v.equity),
            return_pct=v.return_pct, realized_pl=money(v.realized_pl), unrealized_pl=money(v.unrealized_pl),
            cash=money(v.cash), trades=v.fills,
        ))
    return rows
