"""The base every agent kind shares: its seed, aggressiveness and random stream,
the Poisson clock that says whether it acts this turn, and stale-order cancels."""

from __future__ import annotations

import math
import random
from decimal import Decimal

from .model import ONE, ZERO, Action, Cancel, Observation


def clamp_level(aggressiveness: Decimal) -> Decimal:
    """Aggressiveness held to 0..1, whatever a config says."""
    return min(ONE, max(ZERO, aggressiveness))


def chance(rng: random.Random, per_minute: float, dt_seconds: Decimal) -> bool:
    """A Poisson event with `per_minute` rate happened during dt."""
    p = 1.0 - math.exp(-per_minute * float(dt_seconds) / 60.0)
    return rng.random() < p


class Agent:
    """One bot's decision logic; a kind overrides `decide`."""

    kind = "agent"

    def __init__(self, seed: int, aggressiveness: Decimal = Decimal("0.5")) -> None:
        self.seed = seed
        self.aggressiveness = clamp_level(Decimal(aggressiveness))
        self.rng = random.Random(seed)

    def decide(self, obs: Observation) -> list[Action]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _stale(self, obs: Observation, max_age: float, keep: set[int] | None = None) -> list[Action]:
        return [Cancel(o.id) for o in obs.open_orders if o.age_seconds >= max_age and (keep is None or o.id not in keep)]
