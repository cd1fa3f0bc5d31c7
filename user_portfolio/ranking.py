"""The leaderboard kept from what changed: each announcement revalues only the traders
a batch touched and the holders of symbols whose price moved since the last one, not
every account (a class of thousands costs per trade what a class of ten does)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from service_runtime.contracts import LeaderboardRow

from .valuation import Valuation, leaderboard

if TYPE_CHECKING:
    from .batch import PortfolioBatch

RANKED_ROLE = "trader"


class Ranking:
    """Valuations of every ranked trader, brought up to date at each announcement.
    It lives with the worker's state and starts over whenever that is reloaded."""

    def __init__(self) -> None:
        self.values: dict[int, Valuation] = {}
        self.holders: dict[str, set[int]] = defaultdict(set)  # symbol -> users with a position in it
        self.users: set[int] = set()  # changed since the last announcement
        self.symbols: set[str] = set()  # repriced (or relisted) since the last announcement
        self.complete = False  # False until every account has been valued once

    def note(self, batch: PortfolioBatch) -> None:
        """What this batch changed (called after every batch, announced or not)."""
        self.users.update(batch.accounts)
        for user_id, symbol in batch.positions:
            self.users.add(user_id)
            self.holders[symbol].add(user_id)
        self.symbols.update(batch.listings)

    def rows(self, batch: PortfolioBatch) -> list[LeaderboardRow]:
        if not self.complete:
            state = batch.state
            for user_id, held in state.positions.items():
                for symbol in held:
                    self.holders[symbol].add(user_id)
            due = set(state.accounts) | set(batch.accounts)
            self.complete = True
        else:
            due = set(self.users)
            for symbol in self.symbols:
                due.update(self.holders.get(symbol, ()))
        for user_id in due:
            valuation = batch.valuation(user_id)
            if valuation is None or valuation.role != RANKED_ROLE:
                self.values.pop(user_id, None)
            else:
                self.values[user_id] = valuation
        self.users.clear()
        self.symbols.clear()
        return leaderboard(list(self.values.values()))
