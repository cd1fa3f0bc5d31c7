"""The momentum trader: follows the trend of the last price (short against long average)."""

from __future__ import annotations

from decimal import Decimal

from .base import Agent, chance
from .model import Action, Budget, Market, Observation, Place


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
        if not chance(self.rng, self.rate, obs.dt_seconds):
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
