"""Trading rules of the pure matching core (order_matching.domain).

Scenarios are tables: resting orders are submitted first (so they go through
the same code path as in production), then one incoming order, and every
outcome is compared against literal values.  A seeded differential test at the
end replays random streams against a deliberately naive reference book, so
the optimised data structures (lazy deletion, sorted price lists) are checked
against the rules themselves rather than against hand-picked cases only.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from order_matching import stops
from order_matching.domain import (
    BUY,
    COLLAR,
    DAY,
    FOK,
    FOK_NOT_FILLABLE,
    GTC,
    IOC,
    IOC_REMAINDER,
    LIMIT,
    MARKET,
    NO_LIQUIDITY,
    SELF_TRADE,
    SELL,
    STOP,
    STOP_LIMIT,
    BookOrder,
    Fill,
    MatchResult,
)
from order_matching.order_book import OrderBook

SYM = "ACME"
D = Decimal


def order(
    order_id: int,
    side: str,
    qty: int,
    price: str | None = None,
    *,
    user: int | None = None,
    tif: str = DAY,
    collar: str | None = None,
    priority: int | None = None,
    filled: int = 0,
) -> BookOrder:
    """A limit order when ``price`` is given, else a market order.

    Each order gets its own user unless told otherwise, so self-trade
    prevention only kicks in where a case asks for it.
    """
    return BookOrder(
        order_id=order_id,
        user_id=1000 + order_id if user is None else user,
        symbol=SYM,
        side=side,
        type=LIMIT if price is not None else MARKET,
        qty=qty,
        limit_price=D(price) if price is not None else None,
        time_in_force=tif,
        priority=order_id if priority is None else priority,
        collar_price=D(collar) if collar is not None else None,
        filled_qty=filled,
    )


def book_with(*resting: BookOrder, seq: int = 0) -> OrderBook:
    book = OrderBook(SYM, seq=seq)
    for o in resting:
        result = book.submit(o)
        assert result.rested and not result.fills, f"setup order {o.order_id} should rest"
    return book


def fill_summary(result: MatchResult) -> list[tuple[Decimal, int, int, int]]:
    return [(f.price, f.qty, f.buy_order_id, f.sell_order_id) for f in result.fills]


Level = tuple[Decimal, int, int]


@dataclass
class Case:
    id: str
    resting: list[BookOrder]
    incoming: BookOrder
    fills: list[tuple[str, int, int, int]]  # (price, qty, buy id, sell id)
    rested: bool
    canceled_qty: int
    reason: str | None
    bids: list[tuple[str, int, int]] = field(default_factory=list)
    asks: list[tuple[str, int, int]] = field(default_factory=list)


def lv(rows: list[tuple[str, int, int]]) -> list[Level]:
    return [(D(p), q, n) for p, q, n in rows]


CASES = [
    # --- price-time priority --------------------------------------------
    Case(
        "priority-three-levels-fifo-within-level",
        [
            order(1, SELL, 100, "10.00"),
            order(2, SELL, 50, "10.01"),
            order(3, SELL, 70, "10.01"),
            order(4, SELL, 200, "10.02"),
            order(5, SELL, 10, "10.03"),
        ],
        order(6, BUY, 250, "10.02"),
        [("10.00", 100, 6, 1), ("10.01", 50, 6, 2), ("10.01", 70, 6, 3), ("10.02", 30, 6, 4)],
        rested=False,
        canceled_qty=0,
        reason=None,
        asks=[("10.02", 170, 1), ("10.03", 10, 1)],
    ),
    Case(
        "priority-sell-walks-bids-highest-first",
        [
            order(1, BUY, 10, "9.98"),
            order(2, BUY, 10, "10.00"),
            order(3, BUY, 10, "9.99"),
            order(4, BUY, 10, "10.00"),
        ],
        order(5, SELL, 25, "9.99"),
        [("10.00", 10, 2, 5), ("10.00", 10, 4, 5), ("9.99", 5, 3, 5)],
        rested=False,
        canceled_qty=0,
        reason=None,
        bids=[("9.99", 5, 1), ("9.98", 10, 1)],
    ),
    # --- execution price -----------------------------------------------
    Case(
        "aggressive-buy-above-ask-trades-at-ask",
        [order(1, SELL, 5, "10.00")],
        order(2, BUY, 5, "10.50"),
        [("10.00", 5, 2, 1)],
        rested=False,
        canceled_qty=0,
        reason=None,
    ),
    Case(
        "aggressive-sell-below-bid-trades-at-bid",
        [order(1, BUY, 5, "10.00")],
        order(2, SELL, 5, "9.00"),
        [("10.00", 5, 1, 2)],
        rested=False,
        canceled_qty=0,
        reason=None,
    ),
    Case(
        "non-crossing-limit-rests",
        [order(1, SELL, 10, "10.00")],
        order(2, BUY, 10, "9.99"),
        [],
        rested=True,
        canceled_qty=0,
        reason=None,
        bids=[("9.99", 10, 1)],
        asks=[("10.00", 10, 1)],
    ),
    # --- partial fills --------------------------------------------------
    Case(
        "partial-incoming-larger-remainder-rests",
        [order(1, SELL, 30, "10.00")],
        order(2, BUY, 50, "10.00"),
        [("10.00", 30, 2, 1)],
        rested=True,
        canceled_qty=0,
        reason=None,
        bids=[("10.00", 20, 1)],
    ),
    Case(
        "partial-resting-larger-stays-with-remainder",
        [order(1, SELL, 100, "10.00")],
        order(2, BUY, 40, "10.05"),
        [("10.00", 40, 2, 1)],
        rested=False,
        canceled_qty=0,
        reason=None,
        asks=[("10.00", 60, 1)],
    ),
    Case(
        "gtc-remainder-rests-at-its-limit",
        [order(1, BUY, 10, "10.00")],
        order(2, SELL, 25, "9.95", tif=GTC),
        [("10.00", 10, 1, 2)],
        rested=True,
        canceled_qty=0,
        reason=None,
        asks=[("9.95", 15, 1)],
    ),
    # --- self-trade prevention -------------------------------------------
    Case(
        "self-trade-stops-at-own-order-day-limit-does-not-rest",
        [order(1, SELL, 10, "10.00", user=7)],
        order(2, BUY, 10, "10.00", user=7),
        [],
        rested=False,
        canceled_qty=10,
        reason=SELF_TRADE,
        asks=[("10.00", 10, 1)],
    ),
    Case(
        "self-trade-after-trading-with-other-user-ahead",
        [
            order(1, SELL, 5, "10.00", user=8),
            order(2, SELL, 10, "10.00", user=7),
            order(3, SELL, 10, "10.00", user=9),
        ],
        order(4, BUY, 30, "10.01", user=7, tif=GTC),
        [("10.00", 5, 4, 1)],
        rested=False,
        canceled_qty=25,
        reason=SELF_TRADE,
        asks=[("10.00", 20, 2)],
    ),
    Case(
        "own-order-beyond-limit-does-not-block-resting",
        [order(1, SELL, 10, "10.05", user=7)],
        order(2, BUY, 10, "10.00", user=7),
        [],
        rested=True,
        canceled_qty=0,
        reason=None,
        bids=[("10.00", 10, 1)],
        asks=[("10.05", 10, 1)],
    ),
    Case(
        "self-trade-stops-market-order",
        [order(1, BUY, 10, "10.00", user=8), order(2, BUY, 10, "9.99", user=7)],
        order(3, SELL, 30, user=7),
        [("10.00", 10, 1, 3)],
        rested=False,
        canceled_qty=20,
        reason=SELF_TRADE,
        bids=[("9.99", 10, 1)],
    ),
    # --- IOC --------------------------------------------------------------
    Case(
        "ioc-partial-then-cancel",
        [order(1, SELL, 30, "10.00"), order(2, SELL, 50, "10.02")],
        order(3, BUY, 100, "10.01", tif=IOC),
        [("10.00", 30, 3, 1)],
        rested=False,
        canceled_qty=70,
        reason=IOC_REMAINDER,
        asks=[("10.02", 50, 1)],
    ),
    Case(
        "ioc-nothing-crossable",
        [order(1, BUY, 30, "10.00")],
        order(2, SELL, 10, "10.01", tif=IOC),
        [],
        rested=False,
        canceled_qty=10,
        reason=IOC_REMAINDER,
        bids=[("10.00", 30, 1)],
    ),
    Case(
        "ioc-fully-filled-nothing-canceled",
        [order(1, SELL, 30, "10.00")],
        order(2, BUY, 30, "10.00", tif=IOC),
        [("10.00", 30, 2, 1)],
        rested=False,
        canceled_qty=0,
        reason=None,
    ),
    # --- FOK --------------------------------------------------------------
    Case(
        "fok-fillable-fills-across-levels",
        [order(1, SELL, 30, "10.00"), order(2, SELL, 50, "10.01")],
        order(3, BUY, 70, "10.01", tif=FOK),
        [("10.00", 30, 3, 1), ("10.01", 40, 3, 2)],
        rested=False,
        canceled_qty=0,
        reason=None,
        asks=[("10.01", 10, 1)],
    ),
    Case(
        "fok-not-fillable-too-little-qty-book-untouched",
        [order(1, SELL, 30, "10.00"), order(2, SELL, 50, "10.01")],
        order(3, BUY, 90, "10.01", tif=FOK),
        [],
        rested=False,
        canceled_qty=90,
        reason=FOK_NOT_FILLABLE,
        asks=[("10.00", 30, 1), ("10.01", 50, 1)],
    ),
    Case(
        "fok-not-fillable-within-limit",
        [order(1, BUY, 30, "10.00"), order(2, BUY, 50, "9.98")],
        order(3, SELL, 70, "9.99", tif=FOK),
        [],
        rested=False,
        canceled_qty=70,
        reason=FOK_NOT_FILLABLE,
        bids=[("10.00", 30, 1), ("9.98", 50, 1)],
    ),
    Case(
        "fok-blocked-by-self-trade",
        [
            order(1, SELL, 30, "10.00", user=8),
            order(2, SELL, 50, "10.00", user=7),
            order(3, SELL, 100, "10.01", user=9),
        ],
        order(4, BUY, 40, "10.01", user=7, tif=FOK),
        [],
        rested=False,
        canceled_qty=40,
        reason=FOK_NOT_FILLABLE,
        asks=[("10.00", 80, 2), ("10.01", 100, 1)],
    ),
    Case(
        "fok-market-fillable",
        [order(1, SELL, 10, "10.00"), order(2, SELL, 10, "10.10")],
        order(3, BUY, 15, tif=FOK),
        [("10.00", 10, 3, 1), ("10.10", 5, 3, 2)],
        rested=False,
        canceled_qty=0,
        reason=None,
        asks=[("10.10", 5, 1)],
    ),
    Case(
        "fok-market-not-fillable-past-collar",
        [order(1, SELL, 10, "10.00"), order(2, SELL, 10, "10.10")],
        order(3, BUY, 15, tif=FOK, collar="10.05"),
        [],
        rested=False,
        canceled_qty=15,
        reason=FOK_NOT_FILLABLE,
        asks=[("10.00", 10, 1), ("10.10", 10, 1)],
    ),
    # --- market orders ----------------------------------------------------
    Case(
        "market-buy-walks-several-levels",
        [order(1, SELL, 10, "10.00"), order(2, SELL, 20, "10.01"), order(3, SELL, 30, "10.05")],
        order(4, BUY, 45),
        [("10.00", 10, 4, 1), ("10.01", 20, 4, 2), ("10.05", 15, 4, 3)],
        rested=False,
        canceled_qty=0,
        reason=None,
        asks=[("10.05", 15, 1)],
    ),
    Case(
        "market-sell-walks-several-levels-gtc-irrelevant",
        [order(1, BUY, 10, "10.00"), order(2, BUY, 20, "9.50"), order(3, BUY, 30, "9.90")],
        order(4, SELL, 50, tif=GTC),
        [("10.00", 10, 1, 4), ("9.90", 30, 3, 4), ("9.50", 10, 2, 4)],
        rested=False,
        canceled_qty=0,
        reason=None,
        bids=[("9.50", 10, 1)],
    ),
    Case(
        "market-against-empty-book",
        [],
        order(1, BUY, 10),
        [],
        rested=False,
        canceled_qty=10,
        reason=NO_LIQUIDITY,
    ),
    Case(
        "market-exhausts-book-remainder-canceled",
        [order(1, SELL, 10, "10.00")],
        order(2, BUY, 25, tif=GTC),
        [("10.00", 10, 2, 1)],
        rested=False,
        canceled_qty=15,
        reason=NO_LIQUIDITY,
    ),
    Case(
        "market-buy-stopped-by-collar-inclusive",
        [order(1, SELL, 10, "10.00"), order(2, SELL, 10, "10.02"), order(3, SELL, 10, "10.03")],
        order(4, BUY, 30, collar="10.02"),
        [("10.00", 10, 4, 1), ("10.02", 10, 4, 2)],
        rested=False,
        canceled_qty=10,
        reason=COLLAR,
        asks=[("10.03", 10, 1)],
    ),
    Case(
        "market-sell-stopped-by-floor",
        [order(1, BUY, 10, "10.00"), order(2, BUY, 10, "9.98")],
        order(3, SELL, 25, collar="9.99"),
        [("10.00", 10, 1, 3)],
        rested=False,
        canceled_qty=15,
        reason=COLLAR,
        bids=[("9.98", 10, 1)],
    ),
    Case(
        "market-collar-below-best-ask-no-fill",
        [order(1, SELL, 10, "10.00")],
        order(2, BUY, 10, collar="9.99"),
        [],
        rested=False,
        canceled_qty=10,
        reason=COLLAR,
        asks=[("10.00", 10, 1)],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_matching_table(case: Case) -> None:
    book = book_with(*case.resting)
    incoming = case.incoming
    result = book.submit(incoming)

    assert fill_summary(result) == [(D(p), q, b, s) for p, q, b, s in case.fills]
    assert result.order is incoming
    assert result.rested is case.rested
    assert result.canceled_qty == case.canceled_qty
    assert result.cancel_reason == case.reason
    traded = sum(q for _, q, _, _ in case.fills)
    assert incoming.filled_qty == traded
    assert incoming.remaining == incoming.qty - traded
    assert all(f.taker_side == incoming.side for f in result.fills)
    assert all(f.symbol == SYM for f in result.fills)
    # touched lists the resting counterparts in trade order
    resting_ids = [f.sell_order_id if incoming.side == BUY else f.buy_order_id for f in result.fills]
    assert [o.order_id for o in result.touched] == resting_ids
    assert book.depth() == (lv(case.bids), lv(case.asks))
    assert (incoming.order_id in book) is case.rested
    # Nothing left in the book may cross after matching.
    if book.best_bid() is not None and book.best_ask() is not None:
        assert book.best_bid() < book.best_ask()


def test_self_trade_leaves_own_resting_order_untouched() -> None:
    own = order(2, SELL, 10, "10.00", user=7)
    book = book_with(order(1, SELL, 5, "10.00", user=8), own)
    result = book.submit(order(3, BUY, 20, "10.00", user=7))

    assert fill_summary(result) == [(D("10.00"), 5, 3, 1)]
    assert result.cancel_reason == SELF_TRADE
    assert result.canceled_qty == 15
    assert [o.order_id for o in result.touched] == [1]
    assert book.get(2) is own
    assert own.filled_qty == 0
    assert 1 not in book
    assert 3 not in book
    assert len(book) == 1


def test_fok_rejection_changes_nothing() -> None:
    resting = [order(1, SELL, 30, "10.00"), order(2, SELL, 50, "10.01")]
    book = book_with(*resting)
    seq_before = book.seq
    result = book.submit(order(3, BUY, 81, "10.01", tif=FOK))

    assert result.fills == []
    assert result.touched == []
    assert result.cancel_reason == FOK_NOT_FILLABLE
    assert result.canceled_qty == 81
    assert result.order.filled_qty == 0
    assert [o.filled_qty for o in resting] == [0, 0]
    assert book.seq == seq_before
    assert book.depth() == ([], [(D("10.00"), 30, 1), (D("10.01"), 50, 1)])


# --- fills carry cumulative figures -----------------------------------------


def test_fill_fields_cumulative_filled_and_remaining() -> None:
    book = OrderBook(SYM, seq=40)
    book.submit(order(1, SELL, 100, "10.00", user=11))  # seq 41 (rests)

    first = book.submit(order(2, BUY, 30, "10.00", user=22)).fills
    second = book.submit(order(3, BUY, 50, "10.10", user=33)).fills
    # The buy resting at 10.00 is then hit by an incoming sell: taker is the seller.
    book.submit(order(4, BUY, 40, "10.00", user=44))  # 20 vs order 1, rest 20 -> seq 44, 45
    third = book.submit(order(5, SELL, 15, "9.00", user=55)).fills

    assert first == [
        Fill(
            seq=42, symbol=SYM, price=D("10.00"), qty=30, buy_order_id=2, sell_order_id=1,
            buyer_id=22, seller_id=11, taker_side=BUY, buy_filled_qty=30, sell_filled_qty=30,
            buy_remaining=0, sell_remaining=70,
        )
    ]  # fmt: skip
    assert second == [
        Fill(
            seq=43, symbol=SYM, price=D("10.00"), qty=50, buy_order_id=3, sell_order_id=1,
            buyer_id=33, seller_id=11, taker_side=BUY, buy_filled_qty=50, sell_filled_qty=80,
            buy_remaining=0, sell_remaining=20,
        )
    ]  # fmt: skip
    assert third == [
        Fill(
            seq=46, symbol=SYM, price=D("10.00"), qty=15, buy_order_id=4, sell_order_id=5,
            buyer_id=44, seller_id=55, taker_side=SELL, buy_filled_qty=35, sell_filled_qty=15,
            buy_remaining=5, sell_remaining=0,
        )
    ]  # fmt: skip
    assert book.get(4).filled_qty == 35
    assert book.depth() == ([(D("10.00"), 5, 1)], [])


def test_fill_is_a_real_frozen_fill() -> None:
    book = book_with(order(1, SELL, 10, "10.00"))
    fill = book.submit(order(2, BUY, 10, "10.00")).fills[0]

    assert type(fill) is Fill
    assert isinstance(fill.price, Decimal)
    assert hash(fill) == hash(dataclasses.replace(fill))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fill.qty = 1  # type: ignore[misc]


# --- sequence numbers -------------------------------------------------------

# Each step: (operation, argument, expected seq after it).
SEQ_CASES = [
    (
        "rest-fill-rest",
        [
            ("submit", order(1, SELL, 10, "10.00"), 101),  # rests: +1
            ("submit", order(2, SELL, 10, "10.01"), 102),
            ("submit", order(3, BUY, 25, "10.01"), 105),  # 2 fills + rests remainder
        ],
    ),
    (
        "canceled-remainders-do-not-count",
        [
            ("submit", order(1, SELL, 10, "10.00"), 101),
            ("submit", order(2, BUY, 15, "10.00", tif=IOC), 102),  # 1 fill, IOC rest canceled
            ("submit", order(3, BUY, 5), 102),  # market, empty book
            ("submit", order(4, BUY, 5, "10.00", tif=FOK), 102),  # FOK rejected
        ],
    ),
    (
        "self-trade-cancel-does-not-count",
        [
            ("submit", order(1, SELL, 10, "10.00", user=7), 101),
            ("submit", order(2, BUY, 10, "10.00", user=7), 101),
        ],
    ),
    (
        "cancel-and-expire-count-per-removed-order",
        [
            ("submit", order(1, SELL, 10, "10.00"), 101),
            ("submit", order(2, SELL, 10, "10.01", tif=GTC), 102),
            ("submit", order(3, BUY, 10, "9.00"), 103),
            ("submit", order(4, BUY, 10, "9.01"), 104),
            ("cancel", 3, 105),
            ("cancel", 3, 105),  # already gone
            ("cancel", 999, 105),  # never existed
            ("expire", DAY, 107),  # orders 1 and 4
            ("expire", DAY, 107),  # nothing left with DAY
            ("add_resting", order(5, BUY, 10, "9.50"), 107),  # rebuild never counts
            ("expire", GTC, 108),
        ],
    ),
]


@pytest.mark.parametrize("steps", [s for _, s in SEQ_CASES], ids=[i for i, _ in SEQ_CASES])
def test_seq_increments(steps: list[tuple[str, object, int]]) -> None:
    book = OrderBook(SYM, seq=100)
    for op, arg, expected in steps:
        result = getattr(book, op)(arg)
        assert book.seq == expected, (op, arg)
        if isinstance(result, MatchResult) and result.fills:
            # fills take consecutive numbers, and a resting remainder comes after them
            last = expected - 1 if result.rested else expected
            assert [f.seq for f in result.fills] == list(range(last - len(result.fills) + 1, last + 1))


# --- cancel -----------------------------------------------------------------


def test_cancel_partly_filled_resting_order() -> None:
    target = order(1, SELL, 100, "10.00")
    book = book_with(target, order(2, SELL, 40, "10.00"), order(3, SELL, 10, "10.05"))
    book.submit(order(4, BUY, 30, "10.00"))
    assert book.depth() == ([], [(D("10.00"), 110, 2), (D("10.05"), 10, 1)])

    seq = book.seq
    canceled = book.cancel(1)

    assert canceled is target
    assert canceled.filled_qty == 30
    assert canceled.remaining == 70
    assert 1 not in book
    assert book.get(1) is None
    assert len(book) == 2
    assert book.seq == seq + 1
    assert book.depth() == ([], [(D("10.00"), 40, 1), (D("10.05"), 10, 1)])
    assert book.cancel(1) is None
    assert book.seq == seq + 1


@pytest.mark.parametrize(
    ("cancel_ids", "expected_fills", "asks_after"),
    [
        pytest.param([2], [(1, 10), (3, 10), (4, 5)], [("10.00", 5, 1)], id="middle-of-queue"),
        pytest.param([1], [(2, 10), (3, 10), (4, 5)], [("10.00", 5, 1)], id="front-of-queue"),
        pytest.param([4], [(1, 10), (2, 10), (3, 5)], [("10.00", 5, 1)], id="back-of-queue"),
        pytest.param([2, 3], [(1, 10), (4, 10)], [], id="two-in-the-middle"),
        pytest.param([1, 2, 3, 4], [], [], id="whole-level"),
    ],
)
def test_canceled_orders_are_never_matched(
    cancel_ids: list[int], expected_fills: list[tuple[int, int]], asks_after: list[tuple[str, int, int]]
) -> None:
    book = book_with(*(order(i, SELL, 10, "10.00") for i in (1, 2, 3, 4)))
    for oid in cancel_ids:
        assert book.cancel(oid) is not None
    assert len(book) == 4 - len(cancel_ids)

    result = book.submit(order(9, BUY, 25, "10.00", tif=IOC))

    assert [(f.sell_order_id, f.qty) for f in result.fills] == expected_fills
    assert book.depth() == ([], lv(asks_after))
    assert len(book) == sum(n for _, _, n in asks_after)


def test_many_mid_queue_cancels_keep_level_consistent() -> None:
    book = book_with(*(order(i, BUY, 1, "10.00") for i in range(1, 201)))
    for i in range(2, 200):  # everything but the ends, crossing the purge threshold
        book.cancel(i)
    assert book.depth() == ([(D("10.00"), 2, 2)], [])
    book.add_resting(order(2, BUY, 1, "10.00"))  # an id that was canceled comes back
    result = book.submit(order(500, SELL, 5))

    assert [f.buy_order_id for f in result.fills] == [1, 2, 200]
    assert result.cancel_reason == NO_LIQUIDITY
    assert len(book) == 0


# --- rebuild with add_resting --------------------------------------------------


@pytest.mark.parametrize(
    "arrival",
    [
        pytest.param([1, 2, 3, 4], id="in-priority-order"),
        pytest.param([4, 3, 2, 1], id="reversed"),
        pytest.param([3, 1, 4, 2], id="shuffled"),
    ],
)
def test_add_resting_rebuild_keeps_fifo_by_priority(arrival: list[int]) -> None:
    # order_id n has priority 10*n; ids 1-3 at 10.00, id 4 at the better 9.99.
    rows = {
        1: order(1, SELL, 10, "10.00", priority=10, filled=4),
        2: order(2, SELL, 10, "10.00", priority=20),
        3: order(3, SELL, 10, "10.00", priority=30),
        4: order(4, SELL, 10, "9.99", priority=40),
    }
    book = OrderBook(SYM, seq=77)
    for oid in arrival:
        book.add_resting(rows[oid])

    assert book.seq == 77
    assert len(book) == 4
    assert book.depth() == ([], [(D("9.99"), 10, 1), (D("10.00"), 26, 3)])

    result = book.submit(order(9, BUY, 30, "10.00"))

    assert fill_summary(result) == [
        (D("9.99"), 10, 9, 4),
        (D("10.00"), 6, 9, 1),  # only its remaining 6, filled_qty kept from storage
        (D("10.00"), 10, 9, 2),
        (D("10.00"), 4, 9, 3),
    ]
    assert result.fills[1].sell_filled_qty == 10
    assert [f.seq for f in result.fills] == [78, 79, 80, 81]
    assert book.depth() == ([], [(D("10.00"), 6, 1)])


def test_add_resting_then_new_order_queues_behind() -> None:
    book = OrderBook(SYM, seq=5)
    book.add_resting(order(7, BUY, 10, "10.00", priority=700))
    book.submit(order(8, BUY, 10, "10.00", priority=800))
    result = book.submit(order(9, SELL, 15, "10.00", priority=900))

    assert [(f.buy_order_id, f.qty) for f in result.fills] == [(7, 10), (8, 5)]


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(order(1, BUY, 10), id="market-order"),
        pytest.param(order(1, BUY, 10, "10.00", filled=10), id="nothing-remaining"),
    ],
)
def test_add_resting_rejects_orders_that_cannot_rest(bad: BookOrder) -> None:
    book = OrderBook(SYM)
    with pytest.raises(ValueError):
        book.add_resting(bad)
    assert len(book) == 0


def test_duplicate_order_id_rejected() -> None:
    book = book_with(order(1, BUY, 10, "10.00"))
    with pytest.raises(ValueError):
        book.submit(order(1, SELL, 10, "10.00"))
    with pytest.raises(ValueError):
        book.add_resting(order(1, BUY, 10, "9.00"))
    assert book.depth() == ([(D("10.00"), 10, 1)], [])


# --- expiry -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tif", "expired_ids", "kept_ids"),
    [
        pytest.param(DAY, [1, 3, 4], [2, 5], id="market-close-expires-day"),
        pytest.param(GTC, [2, 5], [1, 3, 4], id="gtc-only"),
    ],
)
def test_expire(tif: str, expired_ids: list[int], kept_ids: list[int]) -> None:
    book = book_with(
        order(1, BUY, 10, "9.99", tif=DAY),
        order(2, BUY, 20, "9.99", tif=GTC),
        order(3, SELL, 30, "10.01", tif=DAY),
        order(4, SELL, 40, "10.02", tif=DAY),
        order(5, SELL, 50, "10.02", tif=GTC),
        seq=10,
    )
    assert book.seq == 15

    expired = book.expire(tif)

    assert sorted(o.order_id for o in expired) == expired_ids
    assert all(o.time_in_force == tif for o in expired)
    assert sorted(o.order_id for o in book.orders()) == kept_ids
    assert book.seq == 15 + len(expired_ids)
    for oid in expired_ids:
        assert oid not in book
    for oid in kept_ids:
        assert oid in book


def test_expire_default_is_day_and_updates_depth() -> None:
    book = book_with(
        order(1, BUY, 10, "9.99", tif=DAY),
        order(2, BUY, 20, "9.99", tif=GTC),
        order(3, SELL, 30, "10.01", tif=DAY),
        order(4, SELL, 50, "10.02", tif=GTC),
    )
    book.expire()

    assert book.depth() == ([(D("9.99"), 20, 1)], [(D("10.02"), 50, 1)])
    assert book.best_bid() == D("9.99")
    assert book.best_ask() == D("10.02")


# --- depth and best prices ---------------------------------------------------


def _depth_book() -> OrderBook:
    return book_with(
        order(1, BUY, 10, "9.97"),
        order(2, BUY, 15, "9.99"),
        order(3, BUY, 5, "9.98"),
        order(4, BUY, 20, "9.99"),
        order(5, SELL, 7, "10.02"),
        order(6, SELL, 3, "10.01"),
        order(7, SELL, 4, "10.01"),
        order(8, SELL, 1, "10.01"),
        order(9, SELL, 9, "10.05"),
    )


@pytest.mark.parametrize(
    ("levels", "bids", "asks"),
    [
        pytest.param(1, [("9.99", 35, 2)], [("10.01", 8, 3)], id="top-of-book"),
        pytest.param(
            2, [("9.99", 35, 2), ("9.98", 5, 1)], [("10.01", 8, 3), ("10.02", 7, 1)], id="two-levels"
        ),
        pytest.param(
            10,
            [("9.99", 35, 2), ("9.98", 5, 1), ("9.97", 10, 1)],
            [("10.01", 8, 3), ("10.02", 7, 1), ("10.05", 9, 1)],
            id="all-levels",
        ),
        pytest.param(0, [], [], id="zero-levels"),
    ],
)
def test_depth_aggregation(
    levels: int, bids: list[tuple[str, int, int]], asks: list[tuple[str, int, int]]
) -> None:
    book = _depth_book()
    assert book.depth(levels) == (lv(bids), lv(asks))
    assert book.best_bid() == D("9.99")
    assert book.best_ask() == D("10.01")
    assert len(book) == 9


def test_depth_default_cuts_at_ten_levels() -> None:
    book = book_with(*(order(i, SELL, i, f"10.{i:02d}") for i in range(1, 16)))
    bids, asks = book.depth()
    assert bids == []
    assert [p for p, _, _ in asks] == [D(f"10.{i:02d}") for i in range(1, 11)]
    assert asks[-1] == (D("10.10"), 10, 1)


def test_empty_book_views() -> None:
    book = OrderBook(SYM)
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.depth() == ([], [])
    assert len(book) == 0
    assert book.orders() == []
    assert book.expire() == []
    assert book.cancel(1) is None
    assert book.seq == 0


# --- differential check against a naive reference ------------------------------


class ReferenceBook:
    """The rules written as plainly as possible: sort everything, every time."""

    def __init__(self) -> None:
        self.resting: list[BookOrder] = []
        self.seq = 0

    def _queue(self, side: str) -> list[BookOrder]:
        opposite = [o for o in self.resting if o.side != side]
        if side == BUY:
            return sorted(opposite, key=lambda o: (o.limit_price, o.priority))
        return sorted(opposite, key=lambda o: (-o.limit_price, o.priority))

    @staticmethod
    def _beyond(o: BookOrder, price: Decimal) -> bool:
        bound = o.limit_price if o.type == LIMIT else o.collar_price
        if bound is None:
            return False
        return price > bound if o.side == BUY else price < bound

    def submit(self, o: BookOrder) -> tuple[list[tuple], bool, int, str | None]:
        queue = self._queue(o.side)
        if o.time_in_force == FOK:
            available = 0
            for r in queue:
                if self._beyond(o, r.limit_price) or r.user_id == o.user_id:
                    break
                available += r.remaining
            if available < o.remaining:
                return [], False, o.remaining, FOK_NOT_FILLABLE
        fills: list[tuple] = []
        reason = None
        for r in queue:
            if o.remaining == 0:
                break
            if self._beyond(o, r.limit_price):
                reason = COLLAR if o.type == MARKET else None
                break
            if r.user_id == o.user_id:
                reason = SELF_TRADE
                break
            q = min(o.remaining, r.remaining)
            o.filled_qty += q
            r.filled_qty += q
            self.seq += 1
            buy, sell = (o, r) if o.side == BUY else (r, o)
            fills.append((self.seq, r.limit_price, q, buy.order_id, sell.order_id, buy.filled_qty,
                          sell.filled_qty, buy.remaining, sell.remaining))  # fmt: skip
            if r.remaining == 0:
                self.resting.remove(r)
        if o.remaining == 0:
            return fills, False, 0, None
        if reason is None:
            if o.type == MARKET:
                reason = NO_LIQUIDITY
            elif o.time_in_force == IOC:
                reason = IOC_REMAINDER
        if reason is None:
            self.resting.append(o)
            self.seq += 1
            return fills, True, 0, None
        return fills, False, o.remaining, reason

    def cancel(self, order_id: int) -> int | None:
        for r in self.resting:
            if r.order_id == order_id:
                self.resting.remove(r)
                self.seq += 1
                return r.filled_qty
        return None

    def expire(self, tif: str) -> list[int]:
        gone = [r for r in self.resting if r.time_in_force == tif]
        self.resting = [r for r in self.resting if r.time_in_force != tif]
        self.seq += len(gone)
        return sorted(r.order_id for r in gone)

    def depth(self) -> tuple[list[Level], list[Level]]:
        def levels(side: str, best_first: bool) -> list[Level]:
            agg: dict[Decimal, list[int]] = {}
            for r in self.resting:
                if r.side == side:
                    row = agg.setdefault(r.limit_price, [0, 0])
                    row[0] += r.remaining
                    row[1] += 1
            return [(p, q, n) for p, (q, n) in sorted(agg.items(), reverse=best_first)]

        return levels(BUY, True), levels(SELL, False)


def _random_order(rng: random.Random, oid: int) -> BookOrder:
    side = rng.choice((BUY, SELL))
    tif = rng.choice((DAY, DAY, GTC, IOC, FOK))
    user = rng.randrange(1, 6)  # few users, so self-trade prevention triggers often
    qty = rng.randrange(1, 40)
    if rng.random() < 0.15:
        collar = None
        if rng.random() < 0.5:
            collar = f"{rng.randrange(995, 1006) / 100:.2f}"
        return order(oid, side, qty, user=user, tif=tif, collar=collar)
    return order(oid, side, qty, f"{rng.randrange(990, 1011) / 100:.2f}", user=user, tif=tif)


@pytest.mark.parametrize("seed", [1, 2, 3, 4], ids=lambda s: f"seed-{s}")
def test_matches_naive_reference(seed: int) -> None:
    rng = random.Random(seed)
    book = OrderBook(SYM)
    ref = ReferenceBook()
    for oid in range(1, 1501):
        roll = rng.random()
        if roll < 0.25 and oid > 1:
            target = rng.randrange(max(1, oid - 40), oid)  # recent ids, mostly still resting
            got = book.cancel(target)
            assert (got.filled_qty if got else None) == ref.cancel(target)
        elif roll < 0.26:
            assert sorted(o.order_id for o in book.expire(DAY)) == ref.expire(DAY)
        else:
            incoming = _random_order(rng, oid)
            twin = dataclasses.replace(incoming)
            result = book.submit(incoming)
            fills, rested, canceled_qty, reason = ref.submit(twin)
            got_fills = [
                (f.seq, f.price, f.qty, f.buy_order_id, f.sell_order_id, f.buy_filled_qty,
                 f.sell_filled_qty, f.buy_remaining, f.sell_remaining)
                for f in result.fills
            ]  # fmt: skip
            assert got_fills == fills, oid
            outcome = (result.rested, result.canceled_qty, result.cancel_reason)
            assert outcome == (rested, canceled_qty, reason), oid
        assert book.seq == ref.seq
        assert book.depth(1000) == ref.depth()
        assert len(book) == len(ref.resting)


# --- stops (order_matching.stops) -------------------------------------------------


def stop(order_id: int, side: str, qty: int, stop_price: str, limit: str | None = None, *,
         tif: str = DAY, collar: str | None = None) -> BookOrder:
    """A stop (market once triggered) or, with ``limit``, a stop_limit."""
    o = order(order_id, side, qty, limit, tif=tif, collar=collar)
    o.type = STOP_LIMIT if limit is not None else STOP
    o.stop_price = D(stop_price)
    return o


def trace(steps: list[stops.Step]) -> list[tuple]:
    """What happened, in order: held, triggered (at a price), each fill, and how each
    matched order ended (rested, or canceled with its reason)."""
    out: list[tuple] = []
    for step in steps:
        if isinstance(step, stops.Held):
            out.append(("held", step.order.order_id))
        elif isinstance(step, stops.Triggered):
            out.append(("triggered", step.order.order_id, str(step.price)))
        else:
            out.extend(("fill", str(f.price), f.qty, f.buy_order_id, f.sell_order_id) for f in step.fills)
            if step.rested:
                out.append(("rested", step.order.order_id))
            elif step.canceled_qty:
                out.append(("canceled", step.order.order_id, step.canceled_qty, step.cancel_reason))
    return out


@dataclass
class StopCase:
    id: str
    resting: list[BookOrder]
    held: list[BookOrder]  # stops submitted first, before any trade (so they are held)
    incoming: list[BookOrder]  # then these, in turn
    expected: list[tuple]  # trace of the incoming orders' submissions
    still_held: list[int] = field(default_factory=list)
    last: str | None = None  # last trade price at the end
    priority_after: dict[int, int] = field(default_factory=dict)  # a triggered stop's new priority


STOP_CASES = [
    StopCase(
        id="buy stop triggers on a trade at its stop price, and buys at market",
        resting=[order(1, SELL, 5, "10.00"), order(2, SELL, 5, "10.50")],
        held=[stop(10, BUY, 3, "10.00", collar="11.00")],
        incoming=[order(20, BUY, 2, "10.00")],
        expected=[("fill", "10.00", 2, 20, 1), ("triggered", 10, "10.00"), ("fill", "10.00", 3, 10, 1)],
        last="10.00",
    ),
    StopCase(
        id="a trade short of the stop price triggers nothing",
        resting=[order(1, SELL, 5, "9.99")],
        held=[stop(10, BUY, 3, "10.00", collar="11.00")],
        incoming=[order(20, BUY, 2, "9.99")],
        expected=[("fill", "9.99", 2, 20, 1)],
        still_held=[10],
        last="9.99",
    ),
    StopCase(
        id="sell stop (a stop-loss) triggers on a trade at or below its stop price",
        resting=[order(1, BUY, 5, "9.50"), order(2, BUY, 5, "9.00")],
        held=[stop(10, SELL, 4, "9.60", collar="9.00"), stop(11, SELL, 4, "9.40", collar="8.50")],
        incoming=[order(20, SELL, 1, "9.50")],
        expected=[("fill", "9.50", 1, 1, 20), ("triggered", 10, "9.50"),
                  ("fill", "9.50", 4, 1, 10)],
        still_held=[11],
        last="9.50",
    ),
    StopCase(
        id="a trade through several stop prices triggers them lowest stop first (buys), arrival breaking ties",
        resting=[order(1, SELL, 1, "10.00"), order(2, SELL, 100, "12.00")],
        held=[stop(10, BUY, 1, "11.00", "12.00"), stop(11, BUY, 1, "10.00", "12.00"),
              stop(12, BUY, 1, "10.00", "12.00")],
        incoming=[order(20, BUY, 1, "10.00")],
        expected=[("fill", "10.00", 1, 20, 1), ("triggered", 11, "10.00"), ("fill", "12.00", 1, 11, 2),
                  ("triggered", 12, "10.00"), ("fill", "12.00", 1, 12, 2), ("triggered", 10, "12.00"),
                  ("fill", "12.00", 1, 10, 2)],
        last="12.00",
    ),
    StopCase(
        id="gap past the stop price: the triggered stop_limit rests at its limit when the market ran away",
        resting=[order(1, SELL, 1, "10.00"), order(2, SELL, 5, "10.80")],
        held=[stop(10, BUY, 2, "9.80", "10.20")],
        incoming=[order(20, BUY, 1, "10.00")],
        expected=[("fill", "10.00", 1, 20, 1), ("triggered", 10, "10.00"), ("rested", 10)],
        last="10.00",
        priority_after={10: 101},  # its arrival gave it 10
    ),
    StopCase(
        id="a market stop gapped past its collar is canceled (price_collar)",
        resting=[order(1, SELL, 1, "10.00"), order(2, SELL, 5, "12.00")],
        held=[stop(10, BUY, 2, "9.00", collar="9.45")],
        incoming=[order(20, BUY, 1, "10.00")],
        expected=[("fill", "10.00", 1, 20, 1), ("triggered", 10, "10.00"), ("canceled", 10, 2, COLLAR)],
        last="10.00",
    ),
    StopCase(
        id="cascade: a stop-loss's own fill triggers the next one, down the book",
        resting=[order(1, BUY, 1, "9.90"), order(2, BUY, 1, "9.80"), order(3, BUY, 1, "9.70"),
                 order(4, BUY, 5, "9.00")],
        held=[stop(10, SELL, 1, "9.90", collar="9.00"), stop(11, SELL, 1, "9.80", collar="9.00"),
              stop(12, SELL, 1, "9.75", collar="9.00"), stop(13, SELL, 1, "9.10", collar="8.00")],
        incoming=[order(20, SELL, 1, "9.90")],
        expected=[("fill", "9.90", 1, 1, 20), ("triggered", 10, "9.90"), ("fill", "9.80", 1, 2, 10),
                  ("triggered", 11, "9.80"), ("fill", "9.70", 1, 3, 11), ("triggered", 12, "9.70"),
                  ("fill", "9.00", 1, 4, 12), ("triggered", 13, "9.00"), ("fill", "9.00", 1, 4, 13)],
        last="9.00",
    ),
    StopCase(
        id="a stop already through the last trade price triggers the moment it arrives",
        resting=[order(1, SELL, 1, "10.00"), order(2, SELL, 5, "10.10")],
        held=[],
        incoming=[order(20, BUY, 1, "10.00"), stop(30, BUY, 2, "9.50", collar="11.00")],
        expected=[("fill", "10.00", 1, 20, 1), ("triggered", 30, "10.00"), ("fill", "10.10", 2, 30, 2)],
        last="10.10",
    ),
    StopCase(
        id="a stop that arrives short of the last trade price is held",
        resting=[order(1, SELL, 1, "10.00")],
        held=[],
        incoming=[order(20, BUY, 1, "10.00"), stop(30, BUY, 2, "10.01", collar="11.00")],
        expected=[("fill", "10.00", 1, 20, 1), ("held", 30)],
        still_held=[30],
        last="10.00",
    ),
]


@pytest.mark.parametrize("case", STOP_CASES, ids=[c.id for c in STOP_CASES])
def test_stop_table(case: StopCase) -> None:
    book = book_with(*case.resting)
    held = stops.StopBook()
    priority = iter(range(101, 200))
    last = None
    for s in case.held:
        steps, last = stops.submit(book, held, s, last, lambda: next(priority))
        assert trace(steps) == [("held", s.order_id)]
    out: list[tuple] = []
    for o in case.incoming:
        steps, last = stops.submit(book, held, o, last, lambda: next(priority))
        out += trace(steps)
    assert out == case.expected
    assert sorted(o.order_id for o in held.orders()) == sorted(case.still_held)
    assert last == (D(case.last) if case.last is not None else None)
    for order_id, p in case.priority_after.items():
        assert book.get(order_id).priority == p  # time priority from the trigger, not from arrival
    for step in out:
        if step[0] == "triggered":
            triggered = book.get(step[1])
            assert triggered is None or (triggered.triggered and triggered.type == LIMIT)


def test_a_triggered_stop_does_not_trade_with_its_owners_resting_order() -> None:
    book = book_with(order(1, SELL, 1, "10.00"), order(2, SELL, 5, "10.10", user=7))
    held = stops.StopBook()
    own = stop(10, BUY, 2, "10.00", "10.20")
    own.user_id = 7
    held.add(own)
    steps, _ = stops.submit(book, held, order(20, BUY, 1, "10.00"), None, lambda: 99)
    assert trace(steps) == [("fill", "10.00", 1, 20, 1), ("triggered", 10, "10.00"),
                            ("canceled", 10, 2, SELF_TRADE)]


def test_cancel_before_trigger_takes_the_stop_out_for_good() -> None:
    book = book_with(order(1, SELL, 5, "10.00"))
    held = stops.StopBook()
    held.add(stop(10, BUY, 1, "10.00", collar="11.00"))
    held.add(stop(11, BUY, 1, "10.00", collar="11.00"))
    assert held.cancel(10).order_id == 10
    assert held.cancel(10) is None
    steps, _ = stops.submit(book, held, order(20, BUY, 1, "10.00"), None, lambda: 99)
    assert [s for s in trace(steps) if s[0] == "triggered"] == [("triggered", 11, "10.00")]
    assert len(held) == 0


def test_day_stops_expire_at_the_close_and_gtc_stops_stay() -> None:
    held = stops.StopBook()
    held.add(stop(10, BUY, 1, "10.00", collar="11.00"))
    held.add(stop(11, SELL, 1, "9.00", collar="8.00", tif=GTC))
    held.add(stop(12, SELL, 1, "9.50", "9.40"))
    assert sorted(o.order_id for o in held.expire(DAY)) == [10, 12]
    assert [o.order_id for o in held.orders()] == [11]
    assert [o.order_id for o in held.triggered_by(D("9.00"))] == [11]


def test_nothing_triggers_without_a_trade_and_the_first_trade_after_a_halt_triggers_what_it_passed() -> None:
    # A halted market matches nothing, so stops see no trade; the first trade after the
    # reopening, wherever it prints, triggers every stop its price has reached.
    book = book_with(order(1, BUY, 1, "8.00"), order(2, BUY, 10, "7.00"))
    held = stops.StopBook()
    held.add(stop(10, SELL, 1, "9.00", collar="6.00"))
    held.add(stop(11, SELL, 1, "8.50", collar="6.00"))
    assert held.triggered_by(D("9.01")) == []
    assert len(held) == 2
    steps, last = stops.submit(book, held, order(20, SELL, 1, "8.00"), D("10.00"), lambda: 99)
    assert trace(steps) == [("fill", "8.00", 1, 1, 20), ("triggered", 10, "8.00"), ("fill", "7.00", 1, 2, 10),
                            ("triggered", 11, "8.00"), ("fill", "7.00", 1, 2, 11)]
    assert last == D("7.00")


def test_buy_and_sell_stops_triggered_by_one_trade_go_buys_first() -> None:
    book = book_with(order(1, SELL, 1, "10.00"), order(2, SELL, 5, "10.50"), order(3, BUY, 5, "9.50"))
    held = stops.StopBook()
    held.add(stop(10, SELL, 1, "10.20", collar="9.00"))  # a sell stop above the price: reached by 10.00
    held.add(stop(11, BUY, 1, "9.90", collar="11.00"))
    steps, _ = stops.submit(book, held, order(20, BUY, 1, "10.00"), None, lambda: 99)
    assert [s for s in trace(steps) if s[0] == "triggered"] == [("triggered", 11, "10.00"),
                                                                 ("triggered", 10, "10.00")]


@pytest.mark.parametrize("bad", [
    order(1, BUY, 1, "10.00"),  # not a stop
    dataclasses.replace(stop(1, BUY, 1, "10.00", collar="11.00"), triggered=True),
])
def test_the_stop_book_holds_only_untriggered_stops(bad: BookOrder) -> None:
    with pytest.raises(ValueError):
        stops.StopBook().add(bad)


# --- replace (order_matching.stops.take_out_replaced) ------------------------------


@pytest.mark.parametrize(("expected_filled", "owner", "taken"), [
    (2, 1001, True),  # still the order the replace was asked for
    (0, 1001, False),  # filled further since: the replace lost the race
    (2, 9999, False),  # another user's order
])
def test_a_replace_takes_the_old_order_out_only_if_it_is_still_what_was_replaced(expected_filled, owner, taken):
    book = book_with(order(1, BUY, 10, "9.00"), order(2, SELL, 5, "11.00"))
    book.submit(order(3, SELL, 2, "9.00"))  # order 1 now has 2 filled, 8 resting
    seq = book.seq
    old = stops.take_out_replaced(book, stops.StopBook(), 1, expected_filled, owner)
    assert (old is not None) is taken
    assert (1 in book) is not taken
    assert book.depth() == (([] if taken else [(D("9.00"), 8, 1)]), [(D("11.00"), 5, 1)])
    assert book.seq == seq + (1 if taken else 0)


def test_a_replace_reaches_a_waiting_stop_and_a_gone_order_is_refused():
    book = book_with()
    held = stops.StopBook()
    held.add(stop(10, SELL, 5, "9.00", collar="8.00"))
    assert stops.take_out_replaced(book, held, 10, 0, 1010).order_id == 10
    assert len(held) == 0
    assert stops.take_out_replaced(book, held, 10, 0, 1010) is None  # gone: filled, canceled or replaced
