"""The value trader: buys below and sells above its noisy estimate of the fair value."""

from __future__ import annotations

from decimal import Decimal

from service_runtime.money import price_ceil, price_floor

from .base import Agent, chance
from .model import ONE, Action, Budget, Market, Observation, Place


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
        if not chance(self.rng, self.rate, obs.dt_seconds):
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
