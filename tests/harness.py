"""Test helpers over a running exchange (stack/local.py): per-test isolation."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from stack.local import INSTRUCTOR_PASSWORD, Api, RunningStack, running_stack

__all__ = ["INSTRUCTOR_PASSWORD", "Api", "RunningStack", "Sandbox", "money", "running_stack"]


def money(value: str | int) -> Decimal:
    return Decimal(str(value))


class Sandbox:
    """Per-test isolation on a shared stack: a fresh symbol and fresh traders, so
    tests never see each other's orders or positions."""

    def __init__(self, stack: RunningStack) -> None:
        self.stack = stack
        self.instructor = stack.instructor()

    def symbol(self, reference_price: str = "50.00") -> str:
        symbol = "T" + uuid.uuid4().hex[:6].upper()
        resp = self.instructor.post("/api/stocks", {"symbol": symbol, "name": f"Test {symbol}",
                                                    "reference_price": reference_price})
        assert resp.status_code == 201, resp.text
        self._wait_known("stock_ordering", "SELECT 1 FROM known_symbols WHERE symbol = %s", symbol)
        return symbol

    def trader(self, cash: str = "10000.00", holdings: dict[str, int] | None = None, role: str = "trader") -> Api:
        name = f"t-{uuid.uuid4().hex[:10]}"
        resp = self.instructor.post("/api/users", {"name": name, "starting_cash": cash, "holdings": holdings or {},
                                                   "role": role})
        assert resp.status_code == 201, resp.text
        user_id = resp.json()["id"]
        self._wait_known("user_portfolio", "SELECT 1 FROM accounts WHERE user_id = %s", user_id)
        return self.stack.login(user_id)

    def _wait_known(self, service: str, sql: str, key: Any, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        with self.stack.db(service) as conn:
            while time.monotonic() < deadline:
                if conn.execute(sql, (key,)).fetchone():
                    return
                time.sleep(0.05)
        raise AssertionError(f"{service} never learned of {key}")


def wait_for(what: str, check: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
