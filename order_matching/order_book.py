"""The in-memory price-time order book and matching engine (records in domain.py).

This module deliberately does no I/O, no logging and no clock reads: it is
the deterministic core that the persistence and networking layers wrap, so it
can be replayed from the database after a restart and unit-tested exhaustively.

Layout (chosen for throughput, see bench/matching_core.py):

* each side is a ``dict price -> _Level`` plus an ascending ``list`` of the
  prices kept sorted with ``bisect``; the best ask is ``prices[0]``, the best
  bid ``prices[-1]``, so the hot path never searches;
* a level is a FIFO ``deque`` of orders with running totals (live qty, live
  count) so ``depth()`` never walks orders;
* ``order_id -> order`` index gives O(1) cancel.  Cancel removes the order from
  the index and the level totals immediately but only removes it from the
  deque when it sits at either end; otherwise the deque entry becomes "stale"
  and is skipped (by an identity check against the index) when matching
  reaches it.  Every public view (len, orders, depth, best prices) is derived
  from the index and the level totals, so it is always exact.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Iterable
from dataclasses import fields, make_dataclass
from decimal import Decimal

from .domain import (
    BUY,
    COLLAR,
    DAY,
    FOK,
    FOK_NOT_FILLABLE,
    IOC,
    IOC_REMAINDER,
    LIMIT,
    MARKET,
    NO_LIQUIDITY,
    SELF_TRADE,
    SELL,
    SIDES,
    TIME_IN_FORCES,
    BookOrder,
    Fill,
    MatchResult,
)

# A level's deque is rebuilt once it holds more stale (canceled) entries than
# this and than live ones, so memory stays bounded under heavy mid-queue
# cancelling while the common case (cancel at either end) never rebuilds.
_PURGE_MIN_STALE = 32

# Fill must stay frozen for consumers, but a frozen dataclass __init__ goes
# through object.__setattr__ once per field (~2us for 13 fields on the target
# machine), about a quarter of the whole matching cost.  The engine therefore
# builds a mutable twin with the identical slot layout and re-labels it
# (``__class__ = Fill``): the result is a genuine, immutable Fill instance
# (isinstance, eq, hash, repr, FrozenInstanceError all normal).  The twin is
# derived from Fill's own fields so the two layouts cannot drift apart.
_FillBuilder = make_dataclass(
    "_FillBuilder", [(f.name, f.type) for f in fields(Fill)], slots=True, eq=False, repr=False
)




class _Level:
    """One price level.  Totals cover live orders only (stale entries excluded)."""

    __slots__ = ("orders", "qty", "count", "stale")

    def __init__(self) -> None:
        self.orders: deque[BookOrder] = deque()
        self.qty = 0
        self.count = 0
        self.stale = 0


def _priority_key(order: BookOrder) -> int:
    return order.priority


class OrderBook:
    """Central limit order book for one symbol with price-time priority."""

    __slots__ = ("symbol", "seq", "_bids", "_asks", "_bid_prices", "_ask_prices", "_index")

    def __init__(self, symbol: str, seq: int = 0) -> None:
        self.symbol = symbol
        # Last sequence number used; lets the caller resume numbering after a
        # restart so sequence numbers stay unique per symbol.
        self.seq = seq
        self._bids: dict[Decimal, _Level] = {}
        self._asks: dict[Decimal, _Level] = {}
        self._bid_prices: list[Decimal] = []  # ascending; best bid is last
        self._ask_prices: list[Decimal] = []  # ascending; best ask is first
        self._index: dict[int, BookOrder] = {}

    # ------------------------------------------------------------------ views

    def get(self, order_id: int) -> BookOrder | None:
        return self._index.get(order_id)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._index

    def __len__(self) -> int:
        return len(self._index)

    def orders(self) -> list[BookOrder]:
        """Every resting order (in the order they entered the book)."""
        return list(self._index.values())

    def best_bid(self) -> Decimal | None:
        return self._bid_prices[-1] if self._bid_prices else None

    def best_ask(self) -> Decimal | None:
        return self._ask_prices[0] if self._ask_prices else None

    def depth(
        self, levels: int = 10
    ) -> tuple[list[tuple[Decimal, int, int]], list[tuple[Decimal, int, int]]]:
        """(bids, asks) as (price, total remaining qty, order count), best first."""
        if levels <= 0:
            return [], []
        bid_prices = self._bid_prices[-1 : -levels - 1 : -1]
        ask_prices = self._ask_prices[:levels]
        bids = self._bids
        asks = self._asks
        return (
            [(p, bids[p].qty, bids[p].count) for p in bid_prices],
            [(p, asks[p].qty, asks[p].count) for p in ask_prices],
        )

    # -------------------------------------------------------------- mutations

    def add_resting(self, order: BookOrder) -> None:
        """Rest an order without matching and without consuming a sequence number.

        Used to rebuild the book from storage, where rows may come back in any
        order, so the FIFO position is derived from ``priority`` rather than
        from call order.
        """
        if order.order_id in self._index:
            raise ValueError(f"order {order.order_id} is already in the book")
        if order.type != LIMIT or order.limit_price is None:
            raise ValueError("only limit orders with a limit price can rest")
        if order.side not in SIDES:
            raise ValueError(f"invalid side {order.side!r}")
        if order.qty - order.filled_qty <= 0:
            raise ValueError("an order with nothing remaining cannot rest")
        levels = self._bids if order.side == BUY else self._asks
        level = levels.get(order.limit_price)
        if level is not None and level.stale:
            # The same object may have been canceled mid-queue and be re-added:
            # its stale entry would otherwise look live again (identity check).
            self._purge(level)
        self._rest(order)

    def cancel(self, order_id: int) -> BookOrder | None:
        """Remove a resting order; returns it (filled_qty kept) or None."""
        order = self._index.pop(order_id, None)
        if order is None:
            return None
        self._unlink(order)
        self.seq += 1
        return order

    def expire(self, time_in_force: str = DAY) -> list[BookOrder]:
        """Remove and return every resting order with that time in force."""
        expired = [o for o in self._index.values() if o.time_in_force == time_in_force]
        index = self._index
        for order in expired:
            del index[order.order_id]
            self._unlink(order)
            self.seq += 1
        return expired

    def submit(self, order: BookOrder) -> MatchResult:
        """Match an incoming order, then rest or cancel whatever is left."""
        index = self._index
        order_id = order.order_id
        if order_id in index:
            # A duplicate id would corrupt the index / stale-entry bookkeeping.
            raise ValueError(f"order {order_id} is already in the book")
        remaining = order.qty - order.filled_qty
        if remaining <= 0:
            raise ValueError("order quantity must be positive")
        side = order.side
        if side == BUY:
            is_buy = True
            levels = self._asks
            prices = self._ask_prices
            pos = 0
        elif side == SELL:
            is_buy = False
            levels = self._bids
            prices = self._bid_prices
            pos = -1
        else:
            raise ValueError(f"invalid side {side!r}")
        otype = order.type
        if otype == LIMIT:
            is_market = False
            bound = order.limit_price
            if bound is None:
                raise ValueError("limit order without limit price")
        elif otype == MARKET:
            is_market = True
            bound = order.collar_price
        else:
            raise ValueError(f"invalid order type {otype!r}")
        tif = order.time_in_force
        if tif not in TIME_IN_FORCES:
            raise ValueError(f"invalid time in force {tif!r}")

        fills: list[Fill] = []
        touched: list[BookOrder] = []
        user_id = order.user_id

        if tif == FOK and not self._fok_fillable(
            reversed(prices) if pos else prices, levels, is_buy, bound, user_id, remaining
        ):
            return MatchResult(order, fills, False, remaining, FOK_NOT_FILLABLE, touched)

        symbol = self.symbol
        seq = self.seq
        builder = _FillBuilder
        fill_cls = Fill
        filled = order.filled_qty
        stop_reason: str | None = None
        blocked = False  # stopped by limit/collar rather than by running out

        while prices:
            price = prices[pos]
            if bound is not None and (price > bound if is_buy else price < bound):
                blocked = True
                break
            level = levels[price]
            dq = level.orders
            while dq:
                resting = dq[0]
                if index.get(resting.order_id) is not resting:
                    dq.popleft()  # canceled earlier while mid-queue
                    level.stale -= 1
                    continue
                r_user = resting.user_id
                if r_user == user_id:
                    stop_reason = SELF_TRADE
                    break
                r_id = resting.order_id
                r_filled = resting.filled_qty
                r_rem = resting.qty - r_filled
                q = remaining if remaining < r_rem else r_rem
                remaining -= q
                filled += q
                r_filled += q
                r_rem -= q
                resting.filled_qty = r_filled
                seq += 1
                if is_buy:
                    fill = builder(
                        seq, symbol, price, q, order_id, r_id, user_id, r_user,
                        BUY, filled, r_filled, remaining, r_rem,
                    )  # fmt: skip
                else:
                    fill = builder(
                        seq, symbol, price, q, r_id, order_id, r_user, user_id,
                        SELL, r_filled, filled, r_rem, remaining,
                    )  # fmt: skip
                fill.__class__ = fill_cls  # see _FillBuilder
                fills.append(fill)
                touched.append(resting)
                level.qty -= q
                if not r_rem:
                    dq.popleft()
                    del index[r_id]
                    level.count -= 1
                if not remaining:
                    break
            if not level.count:
                del levels[price]
                del prices[pos]
            if stop_reason is not None or not remaining:
                break

        order.filled_qty = filled
        self.seq = seq

        if not remaining:
            return MatchResult(order, fills, False, 0, None, touched)
        if stop_reason is None:
            if is_market:
                stop_reason = COLLAR if blocked else NO_LIQUIDITY
            elif tif == IOC:
                stop_reason = IOC_REMAINDER
            elif tif == FOK:
                # Unreachable when the pre-check agrees with the match loop;
                # kept so a FOK can never rest even if they ever diverge.
                stop_reason = FOK_NOT_FILLABLE
            else:
                self._rest(order)
                self.seq = seq + 1
                return MatchResult(order, fills, True, 0, None, touched)
        return MatchResult(order, fills, False, remaining, stop_reason, touched)

    # -------------------------------------------------------------- internals

    def _fok_fillable(
        self,
        best_first: Iterable[Decimal],
        levels: dict[Decimal, _Level],
        is_buy: bool,
        bound: Decimal | None,
        user_id: int,
        need: int,
    ) -> bool:
        """Dry-run of the match loop: would ``need`` fill completely right now?"""
        index = self._index
        for price in best_first:
            if bound is not None and (price > bound if is_buy else price < bound):
                return False
            for resting in levels[price].orders:
                if index.get(resting.order_id) is not resting:
                    continue
                if resting.user_id == user_id:
                    return False  # the real match would stop here (self-trade)
                need -= resting.qty - resting.filled_qty
                if need <= 0:
                    return True
        return False

    def _rest(self, order: BookOrder) -> None:
        if order.side == BUY:
            levels, prices = self._bids, self._bid_prices
        else:
            levels, prices = self._asks, self._ask_prices
        price = order.limit_price
        level = levels.get(price)
        if level is None:
            level = levels[price] = _Level()
            insort(prices, price)
        dq = level.orders
        if not dq or dq[-1].priority <= order.priority:
            dq.append(order)  # the normal case: a newer order joins the back
        else:
            # Rebuild path (add_resting out of priority order).
            dq.insert(bisect_right(dq, order.priority, key=_priority_key), order)
        level.count += 1
        level.qty += order.qty - order.filled_qty
        self._index[order.order_id] = order

    def _unlink(self, order: BookOrder) -> None:
        """Take an order (already popped from the index) out of its level."""
        if order.side == BUY:
            levels, prices = self._bids, self._bid_prices
        else:
            levels, prices = self._asks, self._ask_prices
        price = order.limit_price
        level = levels[price]
        level.count -= 1
        level.qty -= order.qty - order.filled_qty
        if not level.count:
            # Dropping the level also drops any stale entries it still held.
            del levels[price]
            del prices[bisect_left(prices, price)]
            return
        dq = level.orders
        if dq[-1] is order:
            dq.pop()
        elif dq[0] is order:
            dq.popleft()
        else:
            level.stale += 1
            if level.stale > _PURGE_MIN_STALE and level.stale > level.count:
                self._purge(level)

    def _purge(self, level: _Level) -> None:
        """Drop a level's stale (canceled) deque entries."""
        index = self._index
        level.orders = deque(o for o in level.orders if index.get(o.order_id) is o)
        level.stale = 0
