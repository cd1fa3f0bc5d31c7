"""What an agent sees (`Observation`, `Market`, `OpenOrder`) and what it returns
(`Place`, `Cancel`), with the tick-grid helpers and the per-turn `Budget` every
agent kind spends from."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from service_runtime.money import TICK, price_floor

ZERO = Decimal("0")
ONE = Decimal("1")
HUNDRED = Decimal("100")
# A market buy reserves the collar (last price + 5 %) per share at approval;
# user_portfolio/domain.py holds the rule, agents budget for it.
MARKET_BUY_COLLAR = Decimal("1.05")
MIN_PRICE = TICK


def on_tick(value: Decimal) -> Decimal:
    """The nearest price on the tick grid, never below one tick."""
    return max(MIN_PRICE, value.quantize(TICK, rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class OpenOrder:
    id: int
    symbol: str
    side: str
    limit_price: Decimal | None
    remaining: int
    age_seconds: float = 0.0
    live: bool = True  # resting in the book (not still on its way there)


@dataclass(frozen=True)
class Market:
    """What is public about one symbol."""

    last_price: Decimal
    fair_value: Decimal
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    history: tuple[Decimal, ...] = ()  # recent last prices, oldest first, one per runner tick


@dataclass(frozen=True)
class Observation:
    markets: dict[str, Market]
    buying_power: Decimal  # cash not reserved by open orders
    free_shares: dict[str, int]  # held minus reserved by open sell orders
    positions: dict[str, int]  # held
    open_orders: tuple[OpenOrder, ...] = ()
    dt_seconds: Decimal = ONE  # time since the agent's last decision


@dataclass(frozen=True)
class Place:
    symbol: str
    side: str
    qty: int
    limit_price: Decimal | None = None  # None: a market order
    time_in_force: str = "day"

    @property
    def type(self) -> str:
        return "market" if self.limit_price is None else "limit"

    def order_body(self) -> dict[str, object]:
        body: dict[str, object] = {"symbol": self.symbol, "side": self.side, "type": self.type, "qty": self.qty,
                                   "time_in_force": self.time_in_force}
        if self.limit_price is not None:
            body["limit_price"] = format(self.limit_price, "f")
        return body


@dataclass(frozen=True)
class Cancel:
    order_id: int


Action = Place | Cancel


class Budget:
    """What an agent may still commit this turn: it spends from its buying power
    and free shares as it decides, so a turn's orders together never exceed them."""

    def __init__(self, obs: Observation) -> None:
        self.cash = obs.buying_power
        self.shares = dict(obs.free_shares)

    def cost(self, place: Place, last_price: Decimal) -> Decimal:
        per_share = place.limit_price if place.limit_price is not None else price_floor(last_price * MARKET_BUY_COLLAR)
        return per_share * place.qty

    def fit(self, place: Place, last_price: Decimal) -> Place | None:
        """The order, cut down to what is affordable (None when not even one share is)."""
        if place.side == "buy":
            per_share = self.cost(Place(place.symbol, "buy", 1, place.limit_price), last_price)
            qty = min(place.qty, int(self.cash // per_share)) if per_share > 0 else 0
            if qty < 1:
                return None
            fitted = Place(place.symbol, "buy", qty, place.limit_price, place.time_in_force)
            self.cash -= self.cost(fitted, last_price)
            return fitted
        qty = min(place.qty, self.shares.get(place.symbol, 0))
        if qty < 1:
            return None
        self.shares[place.symbol] = self.shares.get(place.symbol, 0) - qty
        return Place(place.symbol, "sell", qty, place.limit_price, place.time_in_force)
