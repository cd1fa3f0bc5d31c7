"""The bot users: who they are (kind, slot, holdings), what each kind starts
with, how a new one is created through the public API, and which agent drives it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from service_runtime.db import Database
from service_runtime.web import ApiError

from . import store
from .agents import KINDS, Agent, MarketMaker, derive_seed
from .config import BotConfig
from .public_api import ApiCallError, PublicApi

log = logging.getLogger("papertrade.house_bots")

KIND_NAMES = {"market_makers": "market_maker", "noise_traders": "noise_trader",
              "momentum_traders": "momentum_trader", "value_traders": "value_trader"}
LABELS = {"market_maker": "MM", "noise_trader": "Noise", "momentum_trader": "Momentum", "value_trader": "Value"}
# What a bot user starts with: cash, and shares worth about this much per symbol.
STARTING_CASH = {"market_maker": Decimal("1000000.00"), "noise_trader": Decimal("100000.00"),
                 "momentum_trader": Decimal("100000.00"), "value_trader": Decimal("200000.00")}
SHARES_VALUE = {"market_maker": Decimal("100000"), "noise_trader": Decimal("10000"),
                "momentum_trader": Decimal("10000"), "value_trader": Decimal("20000")}


class BotsUnavailable(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(502, "bots_unavailable", message)


@dataclass
class Bot:
    user_id: int
    name: str
    kind: str
    slot: int
    holdings: dict[str, int]
    api: PublicApi
    agent: Agent | None = None
    orders_sent: int = 0
    rejected: int = 0
    last_error: str | None = None
    pending: dict[int, float] = field(default_factory=dict)  # order id -> placed at (monotonic)

    def public(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "name": self.name, "kind": self.kind, "orders_sent": self.orders_sent,
                "rejected": self.rejected, "last_error": self.last_error}


def plural(kind: str) -> str:
    """The config's name for a kind ("market_maker" -> "market_makers")."""
    return next(p for p, k in KIND_NAMES.items() if k == kind)


def make_agent(bot: Bot, config: BotConfig, seed: int, symbols: list[str]) -> Agent:
    """The agent of `bot`'s kind, seeded per kind and slot; a market maker aims to keep its starting shares."""
    cls = KINDS[plural(bot.kind)]
    agent_seed = derive_seed(seed, bot.kind, bot.slot)
    if cls is MarketMaker:
        return MarketMaker(agent_seed, config.aggressiveness,
                           target_inventory={s: bot.holdings.get(s, 0) for s in symbols})
    return cls(agent_seed, config.aggressiveness)


def create_bot_user(db: Database, admin: PublicApi, kind: str, slot: int, symbols: list[str],
                    references: dict[str, Decimal], taken: set[str]) -> dict[str, Any]:
    """A new bot user for (kind, slot) through POST /api/users, recorded in the store;
    a name someone already has gets a " vN" suffix."""
    holdings = {s: max(1, int(SHARES_VALUE[kind] / references[s])) for s in symbols}
    cash = STARTING_CASH[kind]
    base = f"House {LABELS[kind]} {slot}"
    for n in range(1, 50):
        name = base if n == 1 else f"{base} v{n}"
        if name in taken:
            continue
        try:
            user = admin.create_user(name, "bot", cash, holdings)
        except ApiCallError as exc:
            if exc.status == 409:
                taken.add(name)
                continue
            raise BotsUnavailable(f"cannot create bot user {name!r}: {exc}") from exc
        with db.transaction() as conn:
            store.add_bot_user(conn, user["id"], name, kind, slot, cash, holdings)
        taken.add(name)
        log.info("house_bots: created bot user %s (%d)", name, user["id"])
        return {"user_id": user["id"], "name": name, "kind": kind, "slot": slot, "holdings": holdings}
    raise BotsUnavailable(f"no free name for {base}")
