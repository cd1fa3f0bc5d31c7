"""house_bots' request and response models (its part of the OpenAPI document).

Bot configs and scenarios are nested documents whose every rule (ranges, known
symbols, unknown fields) house_bots.config.parse_config and
house_bots.scenarios.parse_scenario check after these models: the models say
the shape, leaving the precise messages to those functions."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, StrictBool

from service_runtime.openapi import Body, Money, Out, Timestamp


class FairValue(Out):
    volatility_pct: Money
    drift_pct: Money
    reversion_pct: Money
    seed: int | None


class BotConfig(Out):
    market_makers: int
    noise_traders: int
    momentum_traders: int
    value_traders: int
    aggressiveness: Money
    symbols: list[str] | None
    fair_value: FairValue


class BotConfigChange(Body):
    """Any subset of the config; what is left out keeps its current value."""

    model_config = ConfigDict(extra="allow")  # parse_config names an unknown field itself
    market_makers: Any = Field(None, description="0 to 20 (also noise_traders, momentum_traders, value_traders)")
    noise_traders: Any = None
    momentum_traders: Any = None
    value_traders: Any = None
    aggressiveness: Any = Field(None, description="0 to 1")
    symbols: Any = Field(None, description="list of symbols, or null for every listed stock")
    fair_value: Any = Field(None, description="{volatility_pct, drift_pct, reversion_pct, seed}")


class Bot(Out):
    user_id: int
    name: str
    kind: str
    orders_sent: int
    rejected: int
    last_error: str | None


class BotsStatus(Out):
    running: bool
    config: BotConfig
    bots: list[Bot]
    started_at: Timestamp | None
    requests: int = Field(description="REST requests the bots have made since this process started")


class ScenarioSummary(Out):
    name: str
    description: str
    builtin: bool


class Scenario(Out):
    name: str | None = None
    description: str | None = None
    builtin: bool


class ScenarioDocument(Body):
    model_config = ConfigDict(extra="allow")  # parse_scenario names an unknown field itself
    name: Any = Field(None, description="must match the path")
    description: Any = None
    stocks: Any = Field(None, description="[{symbol, name, reference_price}], 1 to 50")
    traders: Any = Field(None, description="{count, prefix, starting_cash, holdings}")
    settings: Any = Field(None, description="as PUT /api/settings")
    bots: Any = Field(None, description="a bot config")
    session_minutes: Any = None


class LoadScenario(Body):
    model_config = ConfigDict(extra="allow")  # the route names start_bots for any other field
    start_bots: StrictBool | None = Field(None, description="start the bots once loaded (default false)")


class Loaded(Out):
    epoch: int
    stocks: list[Any]
    traders: Any
    bots: BotsStatus
