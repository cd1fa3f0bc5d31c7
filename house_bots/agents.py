"""The house bots' trading logic: pure, no I/O, deterministic given a seed.

The agent kinds are the ones market simulators such as ABIDES use:

- a fair-value process per symbol (the "oracle"): a random walk with drift,
  volatility and mean reversion to the reference price, on the 0.01 tick grid;
- MarketMaker: quotes both sides around the fair value at a few levels, skews
  its quotes against its inventory, replaces stale quotes;
- NoiseTrader: small random market and limit orders;
- MomentumTrader: follows the recent trend of the last price;
- ValueTrader: buys below and sells above its (noisy) estimate of the fair value.

An agent sees an `Observation` (prices, the top of each book, its own open
orders and its free cash and shares) and returns the actions it intends
(`Place`, `Cancel`). The runner (house_bots/engine.py) turns those into REST
calls through the public API, where they meet the same rules as anyone's
orders. Every agent stays within its own buying power and free shares: it never
sends an order that would need more than it has (a rejection can still happen
when the market moved in between, which is the point of going through the rules).

`aggressiveness` (0..1) scales how often agents act, how big their orders are
and how tight the market makers quote.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from service_runtime.money import TICK, price_ceil, price_floor

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


def derive_seed(seed: int, *parts: object) -> int:
    """A stable per-agent / per-symbol seed: adding a symbol or an agent does not
    change the others' random streams."""
    text = ":".join([str(seed), *map(str, parts)]).encode()
    return zlib.crc32(text) * 7919 + seed


def _gauss(rng: random.Random) -> Decimal:
    # Six decimals are plenty for a price step and keep the Decimal exact and portable.
    return Decimal(f"{rng.gauss(0.0, 1.0):.6f}")


# --------------------------------------------------------------------------- fair value


@dataclass
class FairValue:
    """A per-symbol fair value. Each `step(dt)`:

        x += x * (drift * dt + volatility * sqrt(dt) * z) + reversion * (reference - x) * dt

    with dt in minutes and the rates in percent per minute; `price` is x on the
    tick grid. Deterministic given the seed: the same seed and the same steps
    give the same path."""

    reference: Decimal
    volatility_pct: Decimal = Decimal("0.5")
    drift_pct: Decimal = ZERO
    reversion_pct: Decimal = Decimal("1")
    seed: int = 0
    value: Decimal = ZERO
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.reference <= 0:
            raise ValueError("reference must be positive")
        self._rng = random.Random(self.seed)
        if self.value <= 0:
            self.value = self.reference

    @property
    def price(self) -> Decimal:
        return on_tick(self.value)

    def step(self, dt_seconds: Decimal | int | str) -> Decimal:
        dt = Decimal(str(dt_seconds)) / 60
        if dt <= 0:
            return self.price
        z = _gauss(self._rng)
        shock = (self.drift_pct / HUNDRED) * dt + (self.volatility_pct / HUNDRED) * dt.sqrt() * z
        pull = (self.reversion_pct / HUNDRED) * (self.reference - self.value) * dt
        self.value = max(MIN_PRICE, (self.value * (ONE + shock) + pull).quantize(Decimal("0.000001")))
        return self.price

    def retune(self, volatility_pct: Decimal, drift_pct: Decimal, reversion_pct: Decimal) -> None:
        """New parameters, same current value: a live config change does not jump the price."""
        self.volatility_pct, self.drift_pct, self.reversion_pct = volatility_pct, drift_pct, reversion_pct


# --------------------------------------------------------------------------- what agents see and do


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


def _level(aggressiveness: Decimal) -> Decimal:
    return min(ONE, max(ZERO, aggressiveness))


def _chance(rng: random.Random, per_minute: float, dt_seconds: Decimal) -> bool:
    """A Poisson event with `per_minute` rate happened during dt."""
    p = 1.0 - math.exp(-per_minute * float(dt_seconds) / 60.0)
    return rng.random() < p


class Agent:
    kind = "agent"

    def __init__(self, seed: int, aggressiveness: Decimal = Decimal("0.5")) -> None:
        self.seed = seed
        self.aggressiveness = _level(Decimal(aggressiveness))
        self.rng = random.Random(seed)

    def decide(self, obs: Observation) -> list[Action]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _stale(self, obs: Observation, max_age: float, keep: set[int] | None = None) -> list[Action]:
        return [Cancel(o.id) for o in obs.open_orders if o.age_seconds >= max_age and (keep is None or o.id not in keep)]


# --------------------------------------------------------------------------- market maker


class MarketMaker(Agent):
    """Two-sided quotes at `levels` prices per side around the fair value.

    half spread = max(1 tick, fair value x spread_bps), tighter when aggressive;
    skew = inventory deviation / max_inventory x half spread, subtracted from both
    sides: long inventory lowers the quotes (sell more, buy less), short raises them.
    The quotes' centre follows the fair value by at most one half spread per
    decision, so new quotes never cross the maker's own older ones (which
    self-trade prevention would cancel). A resting quote near a target price is
    kept; a stale one is cancelled only once a newer quote of the same side rests
    in the book (the new quote must be live before the old one goes: placing goes
    through approval, cancelling does not, so sending both at once could empty a
    side for a moment). Stale quotes that a new one would cross go at once."""

    kind = "market_maker"

    def __init__(self, seed: int, aggressiveness: Decimal = Decimal("0.5"), *, levels: int = 3,
                 base_size: int = 20, spread_bps: Decimal = Decimal("10"), level_step_ticks: int = 5,
                 max_inventory: int | None = None, target_inventory: dict[str, int] | None = None) -> None:
        super().__init__(seed, aggressiveness)
        a = self.aggressiveness
        self.levels = levels
        self.size = max(1, int(base_size * (Decimal("0.5") + a)))
        self.spread_bps = spread_bps * (Decimal("1.5") - a)
        self.level_step_ticks = level_step_ticks
        self.max_inventory = max_inventory
        self.target_inventory = dict(target_inventory or {})
        self.centers: dict[str, Decimal] = {}

    def center(self, symbol: str, fair_value: Decimal) -> Decimal:
        previous = self.centers.get(symbol)
        if previous is None:
            center = fair_value
        else:
            step = self.half_spread(fair_value)
            center = min(max(fair_value, previous - step), previous + step)
        self.centers[symbol] = center
        return center

    def half_spread(self, fair_value: Decimal) -> Decimal:
        return max(TICK, price_ceil(fair_value * self.spread_bps / Decimal("10000")))

    def inventory_limit(self, symbol: str) -> int:
        """The deviation from the target at which the skew is a whole half spread
        (default: half the target inventory)."""
        if self.max_inventory is not None:
            return max(1, self.max_inventory)
        return max(1, self.target_inventory.get(symbol, 0) // 2)

    def skew(self, symbol: str, position: int, fair_value: Decimal) -> Decimal:
        deviation = position - self.target_inventory.get(symbol, position)
        ratio = max(-ONE, min(ONE, Decimal(deviation) / Decimal(self.inventory_limit(symbol))))
        # ROUND_DOWN truncates toward zero: long and short skew by the same amount.
        return price_floor(ratio * self.half_spread(fair_value))

    def targets(self, symbol: str, center: Decimal, position: int) -> tuple[list[Decimal], list[Decimal]]:
        """(bid prices best first, ask prices best first) on the tick grid. Each bid is
        at least two half spreads below the ask of its level, so every bid is below every ask."""
        half = self.half_spread(center)
        skew = self.skew(symbol, position, center)
        step = TICK * self.level_step_ticks
        bids = [price_floor(center - half - skew - step * i) for i in range(self.levels)]
        asks = [price_ceil(center + half - skew + step * i) for i in range(self.levels)]
        return [b for b in bids if b >= MIN_PRICE], [a for a in asks if a >= MIN_PRICE + TICK]

    def tolerance(self, fair_value: Decimal) -> Decimal:
        """How far a resting quote may sit from its target before it is replaced:
        without it every tick of the fair value would replace every quote."""
        return max(TICK, price_floor(self.half_spread(fair_value) / 2))

    def decide(self, obs: Observation) -> list[Action]:
        budget = Budget(obs)
        places: list[Action] = []
        keep: set[int] = set()
        targets: dict[str, tuple[list[Decimal], list[Decimal]]] = {}
        for symbol in sorted(obs.markets):
            market = obs.markets[symbol]
            center = self.center(symbol, market.fair_value)
            bids, asks = targets[symbol] = self.targets(symbol, center, obs.positions.get(symbol, 0))
            tolerance = self.tolerance(center)
            for side, prices in (("buy", bids), ("sell", asks)):
                resting = [o for o in obs.open_orders if o.symbol == symbol and o.side == side
                           and o.limit_price is not None]
                for price in prices:
                    near = [o for o in resting if o.id not in keep and abs(o.limit_price - price) <= tolerance]
                    if near:
                        keep.add(min(near, key=lambda o: (abs(o.limit_price - price), o.id)).id)
                        continue
                    fitted = budget.fit(Place(symbol, side, self.size, price), market.last_price)
                    if fitted is not None:
                        places.append(fitted)
        newest_live: dict[tuple[str, str], int] = {}
        for o in obs.open_orders:
            if o.live:
                key = (o.symbol, o.side)
                newest_live[key] = max(newest_live.get(key, 0), o.id)
        first: list[Action] = []
        after: list[Action] = []
        for o in obs.open_orders:
            if o.id in keep:
                continue
            if o.symbol not in targets or o.limit_price is None:
                after.append(Cancel(o.id))  # a symbol it no longer trades
                continue
            bids, asks = targets[o.symbol]
            crossed = (o.side == "buy" and bool(asks) and o.limit_price >= asks[0]) or (
                o.side == "sell" and bool(bids) and o.limit_price <= bids[0])
            if crossed:
                first.append(Cancel(o.id))
            elif newest_live.get((o.symbol, o.side), 0) > o.id:
                after.append(Cancel(o.id))
        return first + places + after


# --------------------------------------------------------------------------- noise trader


class NoiseTrader(Agent):
    """Now and then a small order on a random symbol and side: a market order or a
    limit up to `spread_bps` around the last price. Its resting limits are cancelled
    after `max_age` seconds."""

    kind = "noise_trader"

    def __init__(self, seed: int, aggressiveness: Decimal = Decimal("0.5"), *, rate_per_minute: float = 20.0,
                 max_qty: int = 10, max_age: float = 30.0, spread_bps: int = 20) -> None:
        super().__init__(seed, aggressiveness)
        self.spread_bps = spread_bps
        a = float(self.aggressiveness)
        self.rate = rate_per_minute * (0.25 + 1.5 * a)
        self.max_qty = max(1, int(max_qty * (0.5 + a)))
        self.max_age = max_age

    def decide(self, obs: Observation) -> list[Action]:
        actions: list[Action] = self._stale(obs, self.max_age)
        if not obs.markets or not _chance(self.rng, self.rate, obs.dt_seconds):
            return actions
        symbol = self.rng.choice(sorted(obs.markets))
        market = obs.markets[symbol]
        side = self.rng.choice(("buy", "sell"))
        qty = self.rng.randint(1, self.max_qty)
        price: Decimal | None = None
        if self.rng.random() < 0.5:
            offset = market.last_price * self.rng.randint(-self.spread_bps, self.spread_bps) / Decimal("10000")
            price = on_tick(market.last_price + offset)
        fitted = Budget(obs).fit(Place(symbol, side, qty, price), market.last_price)
        if fitted is not None:
            actions.append(fitted)
        return actions


# --------------------------------------------------------------------------- momentum trader


class MomentumTrader(Agent):
    """Compares a short and a long moving average of the last price: short above
    long by more than `threshold_bps` buys, below sells, with a market order."""

    kind = "momentum_trader"

    def __init__(self, seed: int, aggressiveness: Decimal = Decimal("0.5"), *, short: int = 5, long: int = 20,
                 threshold_bps: Decimal = Decimal("10"), rate_per_minute: float = 10.0, size: int = 10) -> None:
        super().__init__(seed, aggressiveness)
        a = self.aggressiveness
        self.short, self.long = short, long
        self.threshold_bps = threshold_bps * (Decimal("1.5") - a)
        self.rate = rate_per_minute * (0.25 + 1.5 * float(a))
        self.size = max(1, int(size * (Decimal("0.5") + a)))

    def signal(self, market: Market) -> str | None:
        history = market.history
        if len(history) < self.long:
            return None
        short = sum(history[-self.short:]) / self.short
        long = sum(history[-self.long:]) / self.long
        edge = (short - long) / long * Decimal("10000")
        if edge > self.threshold_bps:
            return "buy"
        if edge < -self.threshold_bps:
            return "sell"
        return None

    def decide(self, obs: Observation) -> list[Action]:
        if not _chance(self.rng, self.rate, obs.dt_seconds):
            return []
        budget = Budget(obs)
        actions: list[Action] = []
        for symbol in sorted(obs.markets):
            market = obs.markets[symbol]
            side = self.signal(market)
            if side is None:
                continue
            fitted = budget.fit(Place(symbol, side, self.size), market.last_price)
            if fitted is not None:
                actions.append(fitted)
        return actions


# --------------------------------------------------------------------------- value trader


class ValueTrader(Agent):
    """Estimates the fair value with private noise (`noise_bps`) and trades when the
    book is far enough from it: an ask below estimate x (1 - edge) is bought, a bid
    above estimate x (1 + edge) is sold (immediate-or-cancel at that price). With
    no quote on that side it compares the last price and rests a day limit there."""

    kind = "value_trader"

    def __init__(self, seed: int, aggressiveness: Decimal = Decimal("0.5"), *, edge_bps: Decimal = Decimal("10"),
                 noise_bps: Decimal = Decimal("10"), rate_per_minute: float = 12.0, size: int = 10,
                 max_age: float = 20.0) -> None:
        super().__init__(seed, aggressiveness)
        a = self.aggressiveness
        self.edge_bps = edge_bps * (Decimal("1.5") - a)
        self.noise_bps = noise_bps
        self.rate = rate_per_minute * (0.25 + 1.5 * float(a))
        self.size = max(1, int(size * (Decimal("0.5") + a)))
        self.max_age = max_age

    def estimate(self, market: Market) -> Decimal:
        noise = Decimal(f"{self.rng.gauss(0.0, float(self.noise_bps)):.4f}") / Decimal("10000")
        return market.fair_value * (ONE + noise)

    def direction(self, market: Market, estimate: Decimal) -> tuple[str, Decimal] | None:
        """('buy'|'sell', limit price) when the market is mispriced against the estimate."""
        edge = self.edge_bps / Decimal("10000")
        cheap = price_floor(estimate * (ONE - edge))
        rich = price_ceil(estimate * (ONE + edge))
        ask = market.best_ask if market.best_ask is not None else market.last_price
        bid = market.best_bid if market.best_bid is not None else market.last_price
        if ask <= cheap:
            return "buy", ask
        if bid >= rich:
            return "sell", bid
        return None

    def decide(self, obs: Observation) -> list[Action]:
        actions: list[Action] = self._stale(obs, self.max_age)
        if not _chance(self.rng, self.rate, obs.dt_seconds):
            return actions
        budget = Budget(obs)
        for symbol in sorted(obs.markets):
            market = obs.markets[symbol]
            found = self.direction(market, self.estimate(market))
            if found is None:
                continue
            side, price = found
            quoted = market.best_ask if side == "buy" else market.best_bid
            tif = "ioc" if quoted is not None else "day"
            fitted = budget.fit(Place(symbol, side, self.size, price, tif), market.last_price)
            if fitted is not None:
                actions.append(fitted)
        return actions


KINDS: dict[str, type[Agent]] = {
    "market_makers": MarketMaker,
    "noise_traders": NoiseTrader,
    "momentum_traders": MomentumTrader,
    "value_traders": ValueTrader,
}


def fair_values(references: dict[str, Decimal], seed: int, volatility_pct: Decimal, drift_pct: Decimal,
                reversion_pct: Decimal) -> dict[str, FairValue]:
    return {
        symbol: FairValue(ref, volatility_pct, drift_pct, reversion_pct, derive_seed(seed, "fv", symbol))
        for symbol, ref in sorted(references.items())
    }


def path(fv: FairValue, steps: int, dt_seconds: Decimal | int = 1) -> Sequence[Decimal]:
    return [fv.step(dt_seconds) for _ in range(steps)]
