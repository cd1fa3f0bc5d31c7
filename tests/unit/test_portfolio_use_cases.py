"""user_portfolio's use cases on an in-memory state: reservation, settlement, release and
valuation, without a database (the batch's records are the repository; its writes are
not called here, so a fake unit of work suffices)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from service_runtime.contracts import (
    Event,
    OrderApproved,
    OrderPlaced,
    OrderRejected,
    StockListed,
    TradeExecuted,
    UserCreated,
)
from service_runtime.handlers import NotReady
from user_portfolio import services
from user_portfolio.batch import PortfolioBatch, Portfolios
from user_portfolio.domain import HOUSE_ID, Account, Rules

D = Decimal
NOW = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)


class FakeUnitOfWork:
    """What a use case needs of a unit of work, in memory."""

    def __init__(self) -> None:
        self.now = NOW
        self.conn = None
        self.envelope = None
        self.events: list[Event] = []
        self.notices: list[Event] = []
        self.released: list[str] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def notify(self, event: Event) -> None:
        self.notices.append(event)

    def release(self, key: str) -> None:
        self.released.append(key)

    def run_again_in(self, seconds: float) -> None:
        pass


def exchange(rules: Rules = Rules()) -> Portfolios:
    state = Portfolios(rules=rules)
    state.accounts[HOUSE_ID] = Account(HOUSE_ID, "House", "house", D("0"), D("0"))
    return state


def step(state: Portfolios, *events: Event) -> FakeUnitOfWork:
    """One batch: the use cases, then what committed becomes the state."""
    uow = FakeUnitOfWork()
    batch = PortfolioBatch(uow, state)  # type: ignore[arg-type]
    for event in events:
        {
            UserCreated: services.open_account,
            StockListed: services.list_symbol,
            OrderPlaced: services.reserve_for_order,
            TradeExecuted: services.settle_trade,
        }[type(event)](batch, event)  # type: ignore[operator]
    batch.committed()
    return uow


def placed(order_id: int, user_id: int, side: str, qty: int, price: str | None, type_: str = "limit") -> OrderPlaced:
    return OrderPlaced(order_id, user_id, "ACME", side, type_, qty, D(price) if price else None, "day")


def fill(trade_id: int, buy: tuple[int, int], sell: tuple[int, int], price: str, qty: int,
         buy_filled: int, sell_filled: int, buy_rem: int, sell_rem: int) -> TradeExecuted:
    return TradeExecuted(trade_id, trade_id, "ACME", D(price), qty, buy[0], sell[0], buy[1], sell[1], "buy",
                         buy_filled, sell_filled, buy_rem, sell_rem, NOW)


def market(state: Portfolios, *users: UserCreated) -> None:
    step(state, StockListed("ACME", "Acme", D("10.00")), *users)


def test_a_limit_buy_reserves_price_times_qty_and_a_sell_reserves_shares():
    state = exchange()
    market(state, UserCreated(1, "Ann", "trader", D("1000.00")), UserCreated(2, "Ben", "trader", D("0"), {"ACME": 5}))
    uow = step(state, placed(1, 1, "buy", 10, "12.34"), placed(2, 2, "sell", 5, "12.00"))
    assert [type(e) for e in uow.events] == [OrderApproved, OrderApproved]
    assert (state.accounts[1].cash, state.accounts[1].reserved_cash) == (D("1000.00"), D("123.40"))
    assert state.positions[1]["ACME"].open_buy_qty == 10
    assert (state.positions[2]["ACME"].qty, state.positions[2]["ACME"].reserved_qty) == (5, 5)
    assert set(state.reservations) == {1, 2}


def test_an_order_beyond_buying_power_or_free_shares_is_rejected_with_nothing_held():
    state = exchange()
    market(state, UserCreated(1, "Ann", "trader", D("100.00"), {"ACME": 2}))
    uow = step(state, placed(1, 1, "buy", 10, "10.01"), placed(2, 1, "sell", 3, "9.00"))
    assert [(e.reason, e.message) for e in uow.events if isinstance(e, OrderRejected)] == [
        ("insufficient_cash", "needs 100.10, buying power 100.00"), ("insufficient_shares", "needs 3 ACME shares, 2 free")]
    assert state.accounts[1].reserved_cash == D("0.00") and state.positions[1]["ACME"].reserved_qty == 0
    assert state.reservations == {}  # rejected ones are not kept in memory


def test_an_order_for_an_unknown_user_or_symbol_waits():
    state = exchange()
    with pytest.raises(NotReady) as user:
        step(state, placed(1, 9, "buy", 1, "1.00"))
    assert user.value.wait_key == "user:9"
    step(state, UserCreated(9, "Ivy", "trader", D("10.00")))
    with pytest.raises(NotReady) as symbol:
        step(state, placed(1, 9, "buy", 1, "1.00"))
    assert symbol.value.wait_key == "symbol:ACME"


def test_settlement_moves_cash_at_the_trade_price_and_frees_the_price_improvement():
    state = exchange(Rules(commission_per_share=D("0.01")))
    market(state, UserCreated(1, "Ann", "trader", D("1000.00")), UserCreated(2, "Ben", "trader", D("5.00"), {"ACME": 10}))
    step(state, placed(1, 1, "buy", 10, "12.00"), placed(2, 2, "sell", 10, "11.00"))
    assert state.accounts[1].reserved_cash == D("120.10")  # (12.00 + 0.01) x 10
    uow = step(state, fill(7, (1, 1), (2, 2), "11.50", 4, 4, 4, 6, 6))
    buyer, seller, house = state.accounts[1], state.accounts[2], state.accounts[HOUSE_ID]
    assert (buyer.cash, buyer.reserved_cash) == (D("953.96"), D("72.06"))  # paid 46.00 + 0.04, freed 48.04
    assert (seller.cash, seller.reserved_cash, seller.realized_pl) == (D("50.96"), D("0.06"), D("6.00"))
    assert house.cash == D("0.08")
    assert (state.positions[1]["ACME"].qty, state.positions[1]["ACME"].avg_cost) == (4, D("11.5"))
    assert state.listings["ACME"].last_price == D("11.50")
    assert uow.events == []  # settlement announces nothing durable
    # the same trade again (a producer replay) is recognised by the cumulative fills
    step(state, fill(7, (1, 1), (2, 2), "11.50", 4, 4, 4, 6, 6))
    assert state.accounts[1].cash == D("953.96") and state.accounts[HOUSE_ID].cash == D("0.08")


def test_the_last_fill_closes_both_reservations_and_releases_what_is_left():
    state = exchange()
    market(state, UserCreated(1, "Ann", "trader", D("1000.00")), UserCreated(2, "Ben", "trader", D("0"), {"ACME": 10}))
    step(state, placed(1, 1, "buy", 10, "12.00"), placed(2, 2, "sell", 10, "10.00"))
    step(state, fill(1, (1, 1), (2, 2), "10.00", 10, 10, 10, 0, 0))
    assert state.accounts[1].reserved_cash == D("0.00") and state.positions[1]["ACME"].open_buy_qty == 0
    assert state.positions[2]["ACME"].reserved_qty == 0
    assert state.reservations == {}


def test_valuation_and_announcement_use_the_last_price_and_the_starting_equity():
    state = exchange()
    market(state, UserCreated(1, "Ann", "trader", D("1000.00")), UserCreated(2, "Ben", "trader", D("0"), {"ACME": 10}))
    step(state, placed(1, 1, "buy", 4, "12.00"), placed(2, 2, "sell", 4, "12.00"))
    uow = FakeUnitOfWork()
    batch = PortfolioBatch(uow, state)  # type: ignore[arg-type]
    services.settle_trade(batch, fill(1, (1, 1), (2, 2), "12.00", 4, 4, 4, 0, 0))
    services.announce_portfolios(batch)
    views = {n.user_id: n.portfolio for n in uow.notices}
    assert (views[1].cash, views[1].equity, views[1].unrealized_pl) == (D("952.00"), D("1000.00"), D("0.00"))
    assert (views[2].cash, views[2].equity, views[2].realized_pl) == (D("48.00"), D("120.00"), D("8.00"))
    ben = batch.valuation(2)
    assert ben is not None and ben.starting_equity == D("100.00") and ben.return_pct == D("20.00")
    board = services.LeaderboardAnnouncer()
    board.after(batch)
    [rows] = [n.rows for n in uow.notices if hasattr(n, "rows")]
    assert [(r.rank, r.user_id, r.equity) for r in rows] == [(1, 1, D("1000.00")), (2, 2, D("120.00"))]


class Counting(PortfolioBatch):
    """A batch that records whom it valued."""

    revalued: list[int]

    def valuation(self, user_id: int):  # noqa: ANN201
        self.__dict__.setdefault("revalued", []).append(user_id)
        return super().valuation(user_id)


def test_the_ranking_revalues_only_what_changed_and_always_equals_a_full_recount():
    """Trades in two symbols by some traders, announcements in between: each ranking
    equals the leaderboard recomputed over every account, and an announcement after a
    trade in one symbol revalues its two traders and that symbol's holders only."""
    import random

    from user_portfolio.valuation import leaderboard

    def order(order_id: int, user_id: int, symbol: str, side: str, price: str) -> OrderPlaced:
        return OrderPlaced(order_id, user_id, symbol, side, "limit", 1, D(price), "day")

    def trade(trade_id: int, symbol: str, price: str, buy: tuple[int, int], sell: tuple[int, int]) -> TradeExecuted:
        return TradeExecuted(trade_id, trade_id, symbol, D(price), 1, buy[0], sell[0], buy[1], sell[1], "buy",
                             1, 1, 0, 0, NOW)

    def full_recount(state: Portfolios) -> list:
        batch = PortfolioBatch(FakeUnitOfWork(), state)  # type: ignore[arg-type]
        found = [batch.valuation(u) for u in state.accounts]
        return leaderboard([v for v in found if v is not None and v.role == "trader"])

    def batch_of(state: Portfolios, *events: Event) -> None:
        uow = FakeUnitOfWork()
        batch = PortfolioBatch(uow, state)  # type: ignore[arg-type]
        for event in events:
            {UserCreated: services.open_account, StockListed: services.list_symbol,
             OrderPlaced: services.reserve_for_order, TradeExecuted: services.settle_trade}[type(event)](batch, event)
        batch.committed()
        state.ranking.note(batch)

    rnd = random.Random(5)
    state = exchange()
    batch_of(state, StockListed("ACME", "Acme", D("10.00")), StockListed("BOLT", "Bolt", D("20.00")))
    users = [UserCreated(u, f"T{u}", "trader", D("1000.00"), {"ACME" if u <= 15 else "BOLT": 50})
             for u in range(1, 31)]
    batch_of(state, *users, UserCreated(99, "Bot", "bot", D("5000.00"), {"ACME": 100}))
    reader = PortfolioBatch(FakeUnitOfWork(), state)  # type: ignore[arg-type]
    assert state.ranking.rows(reader) == full_recount(state)  # the first one values everybody

    order_id = trade_id = 0
    for round_ in range(12):
        symbol = "ACME" if round_ % 3 else "BOLT"
        sellers = [u for u in range(1, 31) if (p := state.positions.get(u, {}).get(symbol)) and p.qty > p.reserved_qty]
        seller = rnd.choice(sellers)
        buyer = rnd.choice([u for u in range(1, 31) if u != seller])
        price = f"{rnd.choice([9, 10, 11, 19, 20, 21])}.00"
        order_id, trade_id = order_id + 2, trade_id + 1
        batch_of(state, order(order_id - 1, buyer, symbol, "buy", price), order(order_id, seller, symbol, "sell", price))
        batch_of(state, trade(trade_id, symbol, price, (order_id - 1, buyer), (order_id, seller)))
        counting = Counting(FakeUnitOfWork(), state)  # type: ignore[arg-type]
        assert state.ranking.rows(counting) == full_recount(state), round_
        assert set(counting.revalued) == {buyer, seller} | state.ranking.holders[symbol]
        assert len(counting.revalued) < 31  # the other symbol's holders were not
        head = state.ranking.rows(PortfolioBatch(FakeUnitOfWork(), state), head=5)  # type: ignore[arg-type]
        assert head == full_recount(state)[:5]  # the board's head, ranked as the whole board ranks it
    assert 99 not in {r.user_id for r in full_recount(state)}
