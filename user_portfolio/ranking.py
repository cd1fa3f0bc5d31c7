"""The leaderboard kept from what changed: each announcement revalues only the traders
a batch touched and the holders of symbols whose price moved since the last one, not
every account (a class of thousands costs per trade what a class of ten does), and
builds the rows of the board's head only: a class of thousands is not encoded,
published and decoded whole every second (GET /api/leaderboard serves all of it)."""

from __future__ import annotations

import heapq
from collections import defaultdict
from decimal import Decimal
from typing import TYPE_CHECKING

from service_runtime.contracts import LeaderboardRow

from .valuation import Valuation, leaderboard

if TYPE_CHECKING:
    from .batch import PortfolioBatch

RANKED_ROLE = "trader"
HEAD_ROWS = 100  # rows a leaderboard.updated carries: the first of the board (docs/decisions.md)


class Ranking:
    """Valuations of every ranked trader, brought up to date at each announcement.
    It lives with the worker's state and starts over whenever that is reloaded."""

    def __init__(self) -> None:
        self.values: dict[int, Valuation] = {}
        self.keys: dict[int, tuple[Decimal, int]] = {}  # user -> its place in the order (equity down, id up)
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

    def rows(self, batch: PortfolioBatch, head: int = HEAD_ROWS) -> list[LeaderboardRow]:
        """The first `head` rows of the board, ranked as the whole board ranks them."""
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
                self.keys.pop(user_id, None)
            else:
                self.values[user_id] = valuation
                self.keys[user_id] = (-valuation.equity, user_id)
        self.users.clear()
        self.symbols.clear()
        # ties share the rank of their first place, which lies inside the head too
        first = heapq.nsmallest(head, self.keys.items(), key=lambda item: item[1])
        return leaderboard([self.values[user_id] for user_id, _ in first])
