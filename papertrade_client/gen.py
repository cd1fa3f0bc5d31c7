"""`papertrade gen-orders`: a file of orders for `papertrade load` (benchmarks, demos).

Pairs of limit orders at the same price: a sell from one trader, then a buy from
another, so the pairs trade and cash and shares flow both ways. Each symbol's
price walks a tick at a time (within 1 % of its reference price), and every pair
trades at the current price: whichever order of a pair reaches the book first
rests and the other crosses it, so the book stays thin however the senders
interleave. Quantities 1 to 5. Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO

TICK = Decimal("0.01")
FIELDS = ("user_id", "symbol", "side", "type", "qty", "limit_price", "time_in_force")


def generate(count: int, users: Sequence[int], prices: dict[str, Decimal], seed: int = 1
             ) -> list[dict[str, object]]:
    if len(users) < 2:
        raise ValueError("need at least two users so that orders can trade")
    if not prices:
        raise ValueError("need at least one symbol")
    rng = random.Random(seed)
    symbols = sorted(prices)
    current = dict(prices)
    rows: list[dict[str, object]] = []
    pair = 0
    while len(rows) < count:
        seller = users[pair % len(users)]
        buyer = users[(pair + 1 + rng.randrange(len(users) - 1)) % len(users)]
        if buyer == seller:
            buyer = users[(pair + 1) % len(users)]
        symbol = rng.choice(symbols)
        ref = prices[symbol]
        step = TICK * rng.choice((-1, 0, 1))
        price = current[symbol] + step
        if abs(price - ref) > ref / 100 or price < TICK:
            price = current[symbol] - step
        current[symbol] = price = max(TICK, price.quantize(TICK, rounding=ROUND_HALF_UP))
        qty = rng.randint(1, 5)
        for user, side in ((seller, "sell"), (buyer, "buy")):
            if len(rows) < count:
                rows.append({"user_id": user, "symbol": symbol, "side": side, "type": "limit", "qty": qty,
                             "limit_price": format(price, "f"), "time_in_force": "day"})
        pair += 1
    return rows


def write(rows: list[dict[str, object]], out: IO[str], fmt: str) -> None:
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            out.write(json.dumps(row, separators=(",", ":")) + "\n")


def format_for(path: Path) -> str:
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv"
