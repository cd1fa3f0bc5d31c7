"""The market maker: two-sided quotes around the fair value, skewed against its inventory."""

from __future__ import annotations

from decimal import Decimal

from service_runtime.money import TICK, price_ceil, price_floor

from .base import Agent
from .model import MIN_PRICE, ONE, Action, Budget, Cancel, Observation, Place


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
