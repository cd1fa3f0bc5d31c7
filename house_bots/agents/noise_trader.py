"""The noise trader: small random market and limit orders now and then."""

from __future__ import annotations

from decimal import Decimal

from .base import Agent, chance
from .model import Action, Budget, Observation, Place, on_tick


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
        if not obs.markets or not chance(self.rng, self.rate, obs.dt_seconds):
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
