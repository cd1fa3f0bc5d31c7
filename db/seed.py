"""The demo class: one instructor, six traders with $100,000 and some shares, five
listed stocks, market open. Idempotent: running it again changes nothing.

Seeding goes through each service's own use cases and outbox, so the other services
learn of the users and stocks by the same events as in class.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from service_runtime.config import Settings
from service_runtime.db import connect
from service_runtime.unit_of_work import unit_of_work
from stock_data import services as stock_services
from stock_data import store as stock_store
from stock_data.domain import new_stock
from user_accounts import services as user_services
from user_accounts.domain import NewUser

INSTRUCTOR_NAME = "Instructor"
STOCKS = (
    ("AAPL", "Apple Inc.", Decimal("190.00")),
    ("MSFT", "Microsoft Corp.", Decimal("420.00")),
    ("GOOG", "Alphabet Inc.", Decimal("170.00")),
    ("AMZN", "Amazon.com Inc.", Decimal("185.00")),
    ("TSLA", "Tesla Inc.", Decimal("250.00")),
)
TRADERS = ("Alice", "Bob", "Carol", "Dave", "Erin", "Frank")
STARTING_CASH = Decimal("100000.00")
STARTING_HOLDINGS = {"AAPL": 100, "MSFT": 50, "GOOG": 100, "AMZN": 100, "TSLA": 80}
OPENED_KEY = "demo_market_opened"


def seed_demo(settings: Settings) -> dict[str, int]:
    """Create what is missing of the demo class; return {name: user id}."""
    with connect(settings.database_url("stock_data"), autocommit=True) as conn, \
            unit_of_work(conn, "stock_data") as uow:
        for symbol, name, price in STOCKS:
            if stock_store.get_stock(conn, symbol) is None:
                stock_services.list_stock(uow, new_stock(symbol, name, price))
        # Only a brand-new exchange is opened by the seed: an instructor who closed
        # the market keeps it closed across restarts.
        if conn.execute("SELECT 1 FROM service_state WHERE key = %s", (OPENED_KEY,)).fetchone() is None:
            stock_services.change_market(uow, "open")
            conn.execute("INSERT INTO service_state (key, value) VALUES (%s, 'true')", (OPENED_KEY,))
    ids: dict[str, int] = {}
    with connect(settings.database_url("user_accounts"), autocommit=True) as conn, \
            unit_of_work(conn, "user_accounts") as uow:
        ids[INSTRUCTOR_NAME] = user_services.ensure_instructor(uow, INSTRUCTOR_NAME)["id"]
        for name in TRADERS:
            ids[name] = user_services.ensure_trader(
                uow, NewUser(name, "trader", STARTING_CASH, dict(STARTING_HOLDINGS)))["id"]
    return ids


def set_instructor_password(settings: Settings, password: str | None) -> str:
    """(Re)set the instructor's password; generate one when none is given. Returns it."""
    password = password or secrets.token_urlsafe(12)
    with connect(settings.database_url("user_accounts"), autocommit=True) as conn, \
            unit_of_work(conn, "user_accounts") as uow:
        user_services.set_password(uow, INSTRUCTOR_NAME, password)
    return password
