"""The fault suite's order flow and its count, in the vocabulary of RabbitMQ's
data-safety tests (messages lost, duplicated, unexpected):

- lost: an order the exchange accepted (or may have accepted: the answer was lost)
  that never reached a resting or final state;
- duplicated: a trade applied more than once anywhere (the book's execution, the
  tape, the portfolio settlements), or an order placed twice for one client_order_id;
- unexpected: a state no correct run can produce: an order's fills disagreeing
  with its trades, a status that does not follow from its fields, an open order
  that is not resting in the book (or a closed one that still is), an order the
  client was told was refused but that exists.

`OrderFlow` is several traders placing and cancelling limit orders from threads,
each order with a client_order_id and retried with it (the client's rule) when
the answer is a 5xx or the connection broke, so a fault costs latency, never an
order. `count()` reads the services' databases (as the audit does) once the
exchange is quiet. Used by tests/faults/ and bench/soak.py.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import requests

from stack.audit import check
from stack.local import Api, RunningStack
from stock_ordering.domain import derive_status

FINAL = ("filled", "canceled", "rejected", "expired")
RESTING = ("new", "partially_filled")
RETRY_FOR = 60.0  # seconds a placement is retried through a fault before it counts as unknown


@dataclass
class Tally:
    sent: int = 0
    accepted: dict[str, int] = field(default_factory=dict)  # client_order_id -> order id
    refused: dict[str, int] = field(default_factory=dict)  # client_order_id -> 4xx status
    unknown: set[str] = field(default_factory=set)  # never got an answer
    retries: int = 0
    errors: Counter = field(default_factory=Counter)  # what the retries saw (503, 502, ConnectionError ...)
    cancels: int = 0


@dataclass
class Count:
    orders: int
    lost: list[str]
    duplicated: list[str]
    unexpected: list[str]
    audit: list[str]

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.unexpected or self.audit)

    def summary(self) -> dict[str, int]:
        return {"orders": self.orders, "lost": len(self.lost), "duplicated": len(self.duplicated),
                "unexpected": len(self.unexpected), "audit_violations": len(self.audit)}


class OrderFlow:
    """Traders on a few symbols placing crossing and resting limit orders, with cancels."""

    def __init__(self, stack: RunningStack, traders: list[Api], symbols: dict[str, str], seed: int = 7) -> None:
        self.stack = stack
        self.traders = traders
        self.symbols = symbols  # symbol -> reference price
        self.tally = Tally()
        self.lock = threading.Lock()
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: dict[int, list[int]] = {t.user_id: [] for t in traders}

    # ---------------------------------------------------------------- sending
    def start(self, rate: float) -> None:
        """Send about `rate` orders/s in total until stop()."""
        self._stop.clear()
        pause = len(self.traders) / rate
        self._threads = [threading.Thread(target=self._loop, args=(t, pause, self.rng.random()), daemon=True)
                         for t in self.traders]
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(RETRY_FOR + 10)
        self._threads = []

    def run(self, seconds: float, rate: float) -> None:
        self.start(rate)
        time.sleep(seconds)
        self.stop()

    def _loop(self, trader: Api, pause: float, seed: float) -> None:
        rng = random.Random(seed)
        while not self._stop.is_set():
            started = time.monotonic()
            if rng.random() < 0.1 and self._open[trader.user_id]:
                self._cancel(trader, self._open[trader.user_id].pop(0))
            else:
                self.place(trader, rng)
            self._stop.wait(max(0.0, pause - (time.monotonic() - started)))

    def body(self, rng: random.Random) -> dict[str, Any]:
        symbol = rng.choice(sorted(self.symbols))
        ref = int(float(self.symbols[symbol]) * 100)
        side = rng.choice(("buy", "sell"))
        cents = ref + rng.randint(-3, 3)
        return {"symbol": symbol, "side": side, "type": "limit", "qty": rng.randint(1, 5),
                "limit_price": f"{cents // 100}.{cents % 100:02d}", "client_order_id": uuid.uuid4().hex}

    def place(self, trader: Api, rng: random.Random) -> None:
        body = self.body(rng)
        coid = body["client_order_id"]
        with self.lock:
            self.tally.sent += 1
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                resp = trader.session.post(trader.base + "/api/orders", json=body, timeout=15)
                status, why = resp.status_code, str(resp.status_code)
            except requests.RequestException as exc:
                status, why = 0, type(exc).__name__
            with self.lock:
                if status in (200, 201):
                    self.tally.accepted[coid] = resp.json()["id"]
                    self._open[trader.user_id].append(resp.json()["id"])
                    return
                if 400 <= status < 500 and status != 429:
                    self.tally.refused[coid] = status
                    return
                if time.monotonic() > deadline:
                    self.tally.unknown.add(coid)
                    return
                self.tally.retries += 1
                self.tally.errors[why] += 1
            time.sleep(0.2)

    def _cancel(self, trader: Api, order_id: int) -> None:
        try:
            trader.session.delete(f"{trader.base}/api/orders/{order_id}", timeout=15)
            with self.lock:
                self.tally.cancels += 1
        except requests.RequestException:
            pass  # a cancel lost in a fault is a cancel not made: the order stays valid either way

    # ---------------------------------------------------------------- counting
    def count(self, quiet_timeout: float = 90.0) -> Count:
        """Wait until the exchange is quiet, then count lost, duplicated and unexpected."""
        self.stack.wait_quiet(quiet_timeout)
        user_ids = [t.user_id for t in self.traders]
        lost: list[str] = []
        duplicated: list[str] = []
        unexpected: list[str] = []
        with self.stack.db("stock_ordering") as conn:
            orders = conn.execute("SELECT * FROM orders WHERE user_id = ANY(%s)", (user_ids,)).fetchall()
        with self.stack.db("order_matching") as conn:
            book = {r["order_id"]: r for r in conn.execute(
                "SELECT order_id, status, filled_qty FROM book_orders WHERE user_id = ANY(%s)", (user_ids,))}
            executions = conn.execute(
                "SELECT trade_id, qty, buy_order_id, sell_order_id FROM executions"
                " WHERE buyer_id = ANY(%s) OR seller_id = ANY(%s)", (user_ids, user_ids)).fetchall()
        trade_ids = [e["trade_id"] for e in executions]
        with self.stack.db("stock_data") as conn:
            tape = Counter(r["trade_id"] for r in conn.execute(
                "SELECT trade_id FROM trades WHERE trade_id = ANY(%s)", (trade_ids,)))
        with self.stack.db("user_portfolio") as conn:
            settled = Counter(r["trade_id"] for r in conn.execute(
                "SELECT trade_id FROM ledger WHERE kind IN ('buy', 'sell') AND trade_id = ANY(%s)", (trade_ids,)))

        by_coid: dict[str, list[dict[str, Any]]] = {}
        for o in orders:
            by_coid.setdefault(o["client_order_id"], []).append(o)
        for coid, rows in by_coid.items():
            if len(rows) > 1:
                duplicated.append(f"client_order_id {coid} placed {len(rows)} times")
        for coid, order_id in self.tally.accepted.items():
            if coid not in by_coid:
                lost.append(f"order {order_id} ({coid}) accepted but not in stock_ordering")
        for coid in self.tally.refused:
            if coid in by_coid:
                unexpected.append(f"{coid} refused ({self.tally.refused[coid]}) but exists as order "
                                  f"{by_coid[coid][0]['id']}")

        filled: Counter = Counter()
        for e in executions:
            filled[e["buy_order_id"]] += e["qty"]
            filled[e["sell_order_id"]] += e["qty"]
            if tape[e["trade_id"]] != 1:
                (duplicated if tape[e["trade_id"]] > 1 else lost).append(
                    f"trade {e['trade_id']} on the tape {tape[e['trade_id']]} times")
            if settled[e["trade_id"]] != 2:
                (duplicated if settled[e["trade_id"]] > 2 else lost).append(
                    f"trade {e['trade_id']} settled {settled[e['trade_id']]} times (2 sides)")
        for o in orders:
            status = derive_status(o)
            if status in ("pending_new", "pending_cancel"):
                lost.append(f"order {o['id']} stuck in {status}")
            if status != o["status"]:
                unexpected.append(f"order {o['id']}: status {o['status']} but its fields say {status}")
            if o["filled_qty"] != filled[o["id"]]:
                unexpected.append(f"order {o['id']}: filled {o['filled_qty']} but its trades sum to {filled[o['id']]}")
            resting = book.get(o["id"], {}).get("status") == "resting"
            if status in RESTING and not resting:
                unexpected.append(f"order {o['id']} is {status} but not resting in the book")
            if status in FINAL and resting:
                unexpected.append(f"order {o['id']} is {status} but still resting in the book")
        return Count(len(orders), lost, duplicated, unexpected, check(self.stack.settings))
