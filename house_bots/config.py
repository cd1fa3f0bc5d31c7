"""The bots' configuration (what an instructor tunes) and the process's own settings.

The config is a JSON object (docs: the issue-4 contract):
    {"market_makers": 2, "noise_traders": 4, "momentum_traders": 1, "value_traders": 2,
     "aggressiveness": "0.5", "symbols": null,
     "fair_value": {"volatility_pct": "0.5", "drift_pct": "0", "reversion_pct": "1", "seed": null}}
`parse_config` validates a full or partial one (422 naming the field) on top of a base.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from service_runtime.config import SERVICES, Settings
from service_runtime.identifiers import is_symbol
from service_runtime.money import to_decimal
from service_runtime.web import ApiError

from .public_api import Endpoints

COUNT_FIELDS = ("market_makers", "noise_traders", "momentum_traders", "value_traders")
MAX_PER_KIND = 20
MAX_SYMBOLS = 50
FAIR_VALUE_FIELDS = ("volatility_pct", "drift_pct", "reversion_pct", "seed")


@dataclass(frozen=True)
class FairValueConfig:
    volatility_pct: Decimal = Decimal("0.5")
    drift_pct: Decimal = Decimal("0")
    reversion_pct: Decimal = Decimal("1")
    seed: int | None = None


@dataclass(frozen=True)
class BotConfig:
    market_makers: int = 2
    noise_traders: int = 4
    momentum_traders: int = 1
    value_traders: int = 2
    aggressiveness: Decimal = Decimal("0.5")
    symbols: tuple[str, ...] | None = None
    fair_value: FairValueConfig = field(default_factory=FairValueConfig)

    def counts(self) -> dict[str, int]:
        return {kind: getattr(self, kind) for kind in COUNT_FIELDS}

    def to_json(self) -> dict[str, Any]:
        fv = self.fair_value
        return {
            **self.counts(),
            "aggressiveness": format(self.aggressiveness, "f"),
            "symbols": list(self.symbols) if self.symbols is not None else None,
            "fair_value": {
                "volatility_pct": format(fv.volatility_pct, "f"),
                "drift_pct": format(fv.drift_pct, "f"),
                "reversion_pct": format(fv.reversion_pct, "f"),
                "seed": fv.seed,
            },
        }


def _invalid(message: str, name: str) -> ApiError:
    return ApiError(422, "invalid", message, field=name)


def _decimal(value: Any, name: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        number = to_decimal(value)
    except ValueError as exc:
        raise _invalid(f"{name} {exc}", name) from exc
    if not low <= number <= high:
        raise _invalid(f"{name} must be between {low} and {high}", name)
    return number


def parse_config(body: Any, base: BotConfig | None = None) -> BotConfig:
    """Validate a (partial) config over `base`; unknown fields are refused."""
    config = base or BotConfig()
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "the config must be a JSON object")
    unknown = set(body) - {*COUNT_FIELDS, "aggressiveness", "symbols", "fair_value"}
    if unknown:
        name = sorted(unknown)[0]
        raise _invalid(f"unknown field {name!r}", name)
    changes: dict[str, Any] = {}
    for name in COUNT_FIELDS:
        if name in body:
            value = body[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_PER_KIND:
                raise _invalid(f"{name} must be a whole number from 0 to {MAX_PER_KIND}", name)
            changes[name] = value
    if "aggressiveness" in body:
        changes["aggressiveness"] = _decimal(body["aggressiveness"], "aggressiveness", Decimal(0), Decimal(1))
    if "symbols" in body:
        symbols = body["symbols"]
        if symbols is None:
            changes["symbols"] = None
        else:
            if (not isinstance(symbols, list) or not 1 <= len(symbols) <= MAX_SYMBOLS
                    or not all(is_symbol(s) for s in symbols)):
                raise _invalid(f"symbols must be null (all listed) or a list of 1 to {MAX_SYMBOLS} symbols", "symbols")
            changes["symbols"] = tuple(dict.fromkeys(symbols))
    if "fair_value" in body:
        changes["fair_value"] = _parse_fair_value(body["fair_value"], config.fair_value)
    return replace(config, **changes)


def _parse_fair_value(body: Any, base: FairValueConfig) -> FairValueConfig:
    if not isinstance(body, dict):
        raise _invalid("fair_value must be an object", "fair_value")
    unknown = set(body) - set(FAIR_VALUE_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise _invalid(f"unknown field {name!r}", f"fair_value.{name}")
    changes: dict[str, Any] = {}
    for name, low, high in (("volatility_pct", 0, 20), ("drift_pct", -5, 5), ("reversion_pct", 0, 100)):
        if name in body:
            changes[name] = _decimal(body[name], f"fair_value.{name}", Decimal(low), Decimal(high))
    if "seed" in body:
        seed = body["seed"]
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31):
            raise _invalid("seed must be null or a whole number from 0 to 2^31-1", "fair_value.seed")
        changes["seed"] = seed
    return replace(base, **changes)


# --------------------------------------------------------------------------- process settings


@dataclass(frozen=True)
class RunnerSettings:
    endpoints: Endpoints
    tick_seconds: Decimal


def runner_settings(settings: Settings) -> RunnerSettings:
    """Where the bots reach the public API, and how often they decide. Without
    `PAPERTRADE_GATEWAY_URL` they call each service's API directly, as the origin
    would forward them (its pass-through would cost more than the bots' own work)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if settings.gateway_url:
        endpoints = Endpoints(settings.gateway_url.rstrip("/"))
    else:
        local = replace(settings, host=host)
        endpoints = Endpoints(f"http://{host}:{settings.port}",
                              {s: local.service_url(s).rstrip("/") for s in SERVICES})
    try:
        tick = Decimal(settings.bots_tick_seconds or "1")
    except ArithmeticError:
        raise SystemExit("PAPERTRADE_BOTS_TICK_SECONDS must be a number of seconds") from None
    if not Decimal("0.1") <= tick <= Decimal("60"):
        raise SystemExit("PAPERTRADE_BOTS_TICK_SECONDS must be between 0.1 and 60")
    return RunnerSettings(endpoints, tick)
