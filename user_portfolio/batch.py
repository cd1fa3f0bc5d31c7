"""What user_portfolio's worker keeps in memory, and what one batch of events changes.

The worker is the only writer of accounts, positions, listings and reservations, so
it keeps them in memory (`Portfolios`: every account and position, the listings, the
open reservations and the rules, loaded at start and after any failure). A batch
reads nothing: it changes copies of the records it touches (`PortfolioBatch`), writes
them with its ledger rows in one round trip with its commit, and only then do the
copies become the state. A reservation that is no longer open is not kept: the rare
event about one (a trade settling after its order closed) reads it from the table.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from service_runtime.contracts import Event
from service_runtime.handlers import Batch

from . import store
from .domain import HOUSE_ID, Account, Listing, Position, Reservation, Rules
from .ranking import Ranking
from .valuation import Holding, Valuation, value


@dataclass
class Portfolios:
    accounts: dict[int, Account] = field(default_factory=dict)
    positions: dict[int, dict[str, Position]] = field(default_factory=dict)  # user -> symbol -> position
    listings: dict[str, Listing] = field(default_factory=dict)
    reservations: dict[int, Reservation] = field(default_factory=dict)  # open ones
    rules: Rules = field(default_factory=Rules)
    ranking: Ranking = field(default_factory=Ranking)  # starts over with the state

    @classmethod
    def load(cls, conn: psycopg.Connection) -> Portfolios:
        state = cls(rules=store.load_rules(conn))
        state.accounts = {a.user_id: a for a in store.load_accounts(conn)}
        for p in store.load_positions(conn):
            state.positions.setdefault(p.user_id, {})[p.symbol] = p
        state.listings = {s.symbol: s for s in store.load_listings(conn)}
        state.reservations = {r.order_id: r for r in store.load_open_reservations(conn)}
        return state


class PortfolioBatch(Batch):
    state: Portfolios

    def __init__(self, uow, state: Portfolios) -> None:  # noqa: ANN001 - a UnitOfWork
        super().__init__(uow, state)
        self.accounts: dict[int, Account] = {}
        self.positions: dict[tuple[int, str], Position] = {}
        self.listings: dict[str, Listing] = {}
        self.reservations: dict[int, Reservation | None] = {}
        self.rules_changed: Rules | None = None
        self.ledger: list[dict[str, Any]] = []
        self.trades: list[dict[str, Any]] = []
        self.users: set[int] = set()  # whose portfolio to announce
        self.ranking_moved = False  # the leaderboard may have changed

    def load(self, events: Sequence[Event]) -> None:
        """Nothing to read: the state is in memory."""

    def start_over(self) -> None:
        super().start_over()
        for changes in (self.accounts, self.positions, self.listings, self.reservations):
            changes.clear()
        self.ledger.clear()
        self.trades.clear()
        self.rules_changed = None
        self.users.clear()

    # -- reading: the batch's copy if it has one, else the state's (not copied) ------

    def view_account(self, user_id: int) -> Account | None:
        return self.accounts.get(user_id) or self.state.accounts.get(user_id)

    def view_listing(self, symbol: str) -> Listing | None:
        return self.listings.get(symbol) or self.state.listings.get(symbol)

    def view_positions(self, user_id: int) -> list[Position]:
        held = dict(self.state.positions.get(user_id, {}))
        held.update({s: p for (u, s), p in self.positions.items() if u == user_id})
        return list(held.values())

    @property
    def rules(self) -> Rules:
        return self.rules_changed or self.state.rules

    # -- changing: copies, written at the end and kept once committed ---------------

    def account(self, user_id: int) -> Account | None:
        found = self.accounts.get(user_id)
        if found is None and user_id in self.state.accounts:
            found = self.accounts[user_id] = copy.copy(self.state.accounts[user_id])
        return found

    def house(self) -> Account:
        house = self.account(HOUSE_ID)
        if house is None:  # created by the migration
            raise RuntimeError("no house account")
        return house

    def position(self, user_id: int, symbol: str, create: bool = False) -> Position | None:
        key = (user_id, symbol)
        found = self.positions.get(key)
        if found is None:
            current = self.state.positions.get(user_id, {}).get(symbol)
            if current is not None:
                found = self.positions[key] = copy.copy(current)
            elif create:
                found = self.positions[key] = Position(user_id, symbol, updated_at=self.uow.now)
        return found

    def listing(self, symbol: str) -> Listing | None:
        found = self.listings.get(symbol)
        if found is None and symbol in self.state.listings:
            found = self.listings[symbol] = copy.copy(self.state.listings[symbol])
        return found

    def open_reservation(self, order_id: int) -> Reservation | None:
        """An open reservation, from memory only (never a read)."""
        if order_id in self.reservations:
            return self.reservations[order_id]
        current = self.state.reservations.get(order_id)
        return None if current is None else self.reservation(order_id)

    def reservation(self, order_id: int) -> Reservation | None:
        """The order's reservation, open or not (one that is not open is read from the table)."""
        if order_id not in self.reservations:
            current = self.state.reservations.get(order_id)
            self.reservations[order_id] = (copy.copy(current) if current is not None
                                           else store.get_reservation(self.uow.conn, order_id))
        return self.reservations[order_id]

    def add_account(self, account: Account) -> None:
        self.accounts[account.user_id] = account

    def add_listing(self, listing: Listing) -> None:
        self.listings[listing.symbol] = listing

    def add_reservation(self, res: Reservation) -> None:
        self.reservations[res.order_id] = res

    def holders_of(self, symbol: str) -> Iterator[Position]:
        """Every position in `symbol` (copies, to change)."""
        for user_id, held in self.state.positions.items():
            if symbol in held:
                yield self.position(user_id, symbol)  # type: ignore[misc]
        for (user_id, s), p in list(self.positions.items()):
            if s == symbol and symbol not in self.state.positions.get(user_id, {}):
                yield p

    def add_ledger(self, *, user_id: int, kind: str, now: datetime, symbol: str | None = None, qty: int = 0,
                   amount: Decimal = Decimal("0"), order_id: int | None = None,
                   trade_id: int | None = None) -> None:
        self.ledger.append({"user_id": user_id, "kind": kind, "symbol": symbol, "qty": qty, "amount": amount,
                            "order_id": order_id, "trade_id": trade_id, "created_at": now})

    # -- valuing ---------------------------------------------------------------------

    def valuation(self, user_id: int) -> Valuation | None:
        account = self.view_account(user_id)
        if account is None:
            return None
        return value(account, [self._holding(p) for p in self.view_positions(user_id)])

    def _holding(self, p: Position) -> Holding:
        listing = self.view_listing(p.symbol)
        return Holding(p.symbol, p.qty, p.reserved_qty, p.avg_cost, p.granted_qty,
                       listing.last_price if listing else None, listing.reference_price if listing else None)

    # -- writing -----------------------------------------------------------------------

    def write(self) -> None:
        conn = self.uow.conn
        for a in self.accounts.values():
            a.check()
        for p in self.positions.values():
            p.check()
        for r in self.reservations.values():
            if r is not None:
                r.check()
        store.write_accounts(conn, [self.accounts[k] for k in sorted(self.accounts)])
        store.write_listings(conn, [self.listings[k] for k in sorted(self.listings)])
        store.write_positions(conn, [self.positions[k] for k in sorted(self.positions)])
        store.write_reservations(conn, [r for _, r in sorted(self.reservations.items()) if r is not None])
        store.insert_ledger(conn, self.ledger)
        store.insert_trades(conn, self.trades)
        if self.rules_changed is not None:
            store.save_rules(conn, self.rules_changed)

    def committed(self) -> None:
        state = self.state
        state.accounts.update(self.accounts)
        for (user_id, symbol), p in self.positions.items():
            state.positions.setdefault(user_id, {})[symbol] = p
        state.listings.update(self.listings)
        for order_id, r in self.reservations.items():
            if r is not None and r.status == "open":
                state.reservations[order_id] = r
            else:
                state.reservations.pop(order_id, None)
        if self.rules_changed is not None:
            state.rules = self.rules_changed
