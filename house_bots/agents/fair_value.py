"""The per-symbol fair value (the "oracle" the agents trade around) and the
stable seeds that keep every agent's and symbol's random stream its own."""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .model import HUNDRED, MIN_PRICE, ONE, ZERO, on_tick


def derive_seed(seed: int, *parts: object) -> int:
    """A stable per-agent / per-symbol seed: adding a symbol or an agent does not
    change the others' random streams."""
    text = ":".join([str(seed), *map(str, parts)]).encode()
    return zlib.crc32(text) * 7919 + seed


def _gauss(rng: random.Random) -> Decimal:
    # Six decimals are plenty for a price step and keep the Decimal exact and portable.
    return Decimal(f"{rng.gauss(0.0, 1.0):.6f}")


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


def fair_values(references: dict[str, Decimal], seed: int, volatility_pct: Decimal, drift_pct: Decimal,
                reversion_pct: Decimal) -> dict[str, FairValue]:
    """One fair value per symbol, each with its own seed derived from `seed`."""
    return {
        symbol: FairValue(ref, volatility_pct, drift_pct, reversion_pct, derive_seed(seed, "fv", symbol))
        for symbol, ref in sorted(references.items())
    }


def path(fv: FairValue, steps: int, dt_seconds: Decimal | int = 1) -> Sequence[Decimal]:
    """The next `steps` prices of `fv` (it advances)."""
    return [fv.step(dt_seconds) for _ in range(steps)]
