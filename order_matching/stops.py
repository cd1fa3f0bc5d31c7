"""Stop orders: held per symbol, out of the book, until a trade reaches their stop price.

A buy stop triggers on a trade at or above its stop price, a sell stop at or below.
Held by stop price, then arrival, so a trade that passes several levels triggers
them in the order a continuous price path would have: buys from the lowest stop up,
sells from the highest down, buys before sells (both at once only when a sell stop
sits above a buy stop). A triggered stop is a new order at that moment: a market
order (stop) or a limit order (stop_limit), with a new time priority. Its fills are
trades too and may trigger further stops: `submit` plays such a cascade to its end,
in that same order. Pure: no I/O, no clock.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from .domain import BUY, LIMIT, MARKET, STOP, STOP_LIMIT, BookOrder, MatchResult
from .order_book import OrderBook

STOP_TYPES = (STOP, STOP_LIMIT)


class StopBook:
    """The untriggered stops of one symbol."""

    __slots__ = ("_buys", "_sells", "_index")

    def __init__(self) -> None:
        self._buys: list[tuple[Decimal, int, int]] = []  # (stop, priority, id), lowest stop first
        self._sells: list[tuple[Decimal, int, int]] = []  # (-stop, priority, id), highest stop first
        self._index: dict[int, BookOrder] = {}

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._index

    def orders(self) -> list[BookOrder]:
        return list(self._index.values())

    def get(self, order_id: int) -> BookOrder | None:
        return self._index.get(order_id)

    def add(self, order: BookOrder) -> None:
        if order.type not in STOP_TYPES or order.stop_price is None or order.triggered:
            raise ValueError(f"order {order.order_id} is not an untriggered stop")
        if order.order_id in self._index:
            raise ValueError(f"order {order.order_id} is already held")
        self._index[order.order_id] = order
        if order.side == BUY:
            insort(self._buys, (order.stop_price, order.priority, order.order_id))
        else:
            insort(self._sells, (-order.stop_price, order.priority, order.order_id))

    def cancel(self, order_id: int) -> BookOrder | None:
        order = self._index.pop(order_id, None)
        if order is not None:
            self._drop({order_id})
        return order

    def take_all(self) -> list[BookOrder]:
        gone = list(self._index.values())
        self._index.clear()
        self._buys, self._sells = [], []
        return gone

    def expire(self, time_in_force: str) -> list[BookOrder]:
        gone = [o for o in self._index.values() if o.time_in_force == time_in_force]
        for order in gone:
            del self._index[order.order_id]
        self._drop({o.order_id for o in gone})
        return gone

    def triggered_by(self, price: Decimal) -> list[BookOrder]:
        """Take out every stop a trade at `price` triggers, in trigger order."""
        buys, sells = self._buys, self._sells
        n = 0
        while n < len(buys) and buys[n][0] <= price:
            n += 1
        m = 0
        while m < len(sells) and -sells[m][0] >= price:
            m += 1
        taken = [self._index.pop(k[2]) for k in buys[:n]] + [self._index.pop(k[2]) for k in sells[:m]]
        del buys[:n], sells[:m]
        return taken

    def _drop(self, ids: set[int]) -> None:
        if ids:
            self._buys = [k for k in self._buys if k[2] not in ids]
            self._sells = [k for k in self._sells if k[2] not in ids]


def is_through(order: BookOrder, price: Decimal | None) -> bool:
    """Whether a stop is already triggered by the last trade's price."""
    if price is None or order.stop_price is None:
        return False
    return price >= order.stop_price if order.side == BUY else price <= order.stop_price


@dataclass(frozen=True, slots=True)
class Held:
    """A stop not triggered yet: it waits in the stop book."""

    order: BookOrder


@dataclass(frozen=True, slots=True)
class Triggered:
    """A stop triggered: it becomes the market or limit order matched next."""

    order: BookOrder
    price: Decimal  # the trade price that triggered it


Step = Held | Triggered | MatchResult


def trigger(order: BookOrder, priority: int) -> None:
    order.type = MARKET if order.type == STOP else LIMIT
    order.triggered = True
    order.priority = priority


def submit(book: OrderBook, stops: StopBook, order: BookOrder, last_price: Decimal | None,
           next_priority: Callable[[], int]) -> tuple[list[Step], Decimal | None]:
    """Match an incoming order, or hold it when it is a stop not yet through `last_price`,
    then every stop its trades trigger, and theirs, to the end. Returns what happened,
    in order, and the last trade price after it."""
    steps: list[Step] = []
    if order.type in STOP_TYPES:
        if not is_through(order, last_price):
            stops.add(order)
            return [Held(order)], last_price
        trigger(order, next_priority())
        steps.append(Triggered(order, last_price))  # type: ignore[arg-type]
    result = book.submit(order)
    steps.append(result)
    if not result.fills:
        return steps, last_price
    last_price = result.fills[-1].price
    if not stops:
        return steps, last_price
    pending = [(stop, last_price) for stop in stops.triggered_by(last_price)]
    while pending:
        stop, price = pending.pop(0)
        trigger(stop, next_priority())
        steps.append(Triggered(stop, price))
        result = book.submit(stop)
        steps.append(result)
        if result.fills:
            last_price = result.fills[-1].price
            pending.extend((later, last_price) for later in stops.triggered_by(last_price))
    return steps, last_price


def take_out_replaced(book: OrderBook, stops: StopBook, order_id: int, filled_qty: int | None,
                      user_id: int) -> BookOrder | None:
    """Take a replaced order out of the book (or the stops), in the step that matches its
    replacement; None, and nothing changed, when it is no longer the order the replace
    was asked for: gone (filled, canceled, expired), filled further since, or another
    user's."""
    old = book.get(order_id) or stops.get(order_id)
    if old is None or old.filled_qty != filled_qty or old.user_id != user_id:
        return None
    if book.cancel(order_id) is None:
        stops.cancel(order_id)
    return old
