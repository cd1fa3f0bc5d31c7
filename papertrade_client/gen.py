"""`papertrade gen-orders`: a file of orders for `papertrade load` (benchmarks, demos).

Pairs of limit orders at the same price: a sell from one trader, then a buy from
the next, so the pairs trade and cash and shares flow both ways. Prices stay
within half a percent of each stock's reference price, quantities 1 to 5.
Deterministic for a given seed.
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
    rows: list[dict[str, object]] = []
    pair = 0
    while len(rows) < count:
        seller = users[pair % len(users)]
        buyer = users[(pair + 1 + rng.randrange(len(users) - 1)) % len(users)]
        if buyer == seller:
            buyer = users[(pair + 1) % len(users)]
        symbol = rng.choice(symbols)
        move = Decimal(rng.randint(-50, 50)) / Decimal(10000)
        price = max(TICK, (prices[symbol] * (1 + move)).quantize(TICK, rounding=ROUND_HALF_UP))
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
