"""A random multi-user flow (several hundred orders over several symbols from
concurrent clients, with cancels), followed by the audit."""

from __future__ import annotations

import random
import threading
from decimal import Decimal

import pytest

pytestmark = pytest.mark.stack

ORDERS_PER_CLIENT = 80
CLIENTS = 6


def test_random_concurrent_flow_keeps_every_invariant(stack, sandbox):
    symbols = [sandbox.symbol(p) for p in ("20.00", "50.00", "120.00")]
    refs = dict(zip(symbols, (Decimal("20.00"), Decimal("50.00"), Decimal("120.00")), strict=True))
    traders = [sandbox.trader("50000.00", {s: 300 for s in symbols}) for _ in range(CLIENTS)]
    errors: list[str] = []
    placed: list[int] = []

    def run(trader, seed: int) -> None:
        rng = random.Random(seed)
        mine: list[int] = []
        for _ in range(ORDERS_PER_CLIENT):
            sym = rng.choice(symbols)
            side = rng.choice(("buy", "sell"))
            kind = rng.random()
            body = {"symbol": sym, "side": side, "qty": rng.randint(1, 40)}
            if kind < 0.1:
                body["type"] = "market"
            else:
                body["type"] = "limit"
                body["limit_price"] = str(refs[sym] + Decimal(rng.randint(-30, 30)) / 100)
                body["time_in_force"] = rng.choice(("day", "day", "gtc", "ioc", "fok"))
            resp = trader.post("/api/orders", body)
            if resp.status_code != 201:
                errors.append(f"{resp.status_code} {resp.text}")
                continue
            mine.append(resp.json()["id"])
            if mine and rng.random() < 0.15:
                victim = rng.choice(mine)
                r = trader.delete(f"/api/orders/{victim}")
                if r.status_code not in (202, 409):
                    errors.append(f"cancel {victim}: {r.status_code} {r.text}")
        placed.extend(mine)

    threads = [threading.Thread(target=run, args=(t, i)) for i, t in enumerate(traders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(placed) == CLIENTS * ORDERS_PER_CLIENT

    assert stack.audit() == []
    # Cash and shares only moved between these traders.
    portfolios = [t.portfolio() for t in traders]
    assert sum(Decimal(p["cash"]) for p in portfolios) == Decimal("50000.00") * CLIENTS
    for sym in symbols:
        held = sum(next((x["qty"] for x in p["positions"] if x["symbol"] == sym), 0) for p in portfolios)
        assert held == 300 * CLIENTS
    trades = sum(len(stack.anonymous().get(f"/api/stocks/{s}/trades?limit=5000").json()) for s in symbols)
    assert trades > 20  # the flow really traded
