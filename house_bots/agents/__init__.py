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

The package holds one module a part: model.py (what agents see and do, the
budget), fair_value.py (the oracle and seeds), base.py (what every agent
shares), and one module per agent kind.
"""

from __future__ import annotations

from .base import Agent
from .fair_value import FairValue, derive_seed, fair_values, path
from .market_maker import MarketMaker
from .model import (
    HUNDRED,
    MARKET_BUY_COLLAR,
    MIN_PRICE,
    ONE,
    ZERO,
    Action,
    Budget,
    Cancel,
    Market,
    Observation,
    OpenOrder,
    Place,
    on_tick,
)
from .momentum_trader import MomentumTrader
from .noise_trader import NoiseTrader
from .value_trader import ValueTrader

KINDS: dict[str, type[Agent]] = {
    "market_makers": MarketMaker,
    "noise_traders": NoiseTrader,
    "momentum_traders": MomentumTrader,
    "value_traders": ValueTrader,
}

__all__ = [
    "HUNDRED", "KINDS", "MARKET_BUY_COLLAR", "MIN_PRICE", "ONE", "ZERO", "Action", "Agent", "Budget", "Cancel",
    "FairValue", "Market", "MarketMaker", "MomentumTrader", "NoiseTrader", "Observation", "OpenOrder", "Place",
    "ValueTrader", "derive_seed", "fair_values", "on_tick", "path",
]
