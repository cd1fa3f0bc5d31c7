"""The demo class: one instructor, six traders with $100,000 and some shares, five
listed stocks, market open. Idempotent: running it again changes nothing.

Seeding goes through each service's own store code and outbox, so the other
services learn of the users and stocks by the same events as in class.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from service_runtime.config import Settings
from service_runtime.db import connect
from service_runtime.handlers import emit_now
from stock_data import store as stock_store
from user_accounts import store as user_store
from user_accounts.domain import NewUser
from user_accounts.passwords import hash_password, verify_password

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


def seed_demo(settings: Settings) -> dict[str, int]:
    """Create what is missing of the demo class; return {name: user id}."""
    ids: dict[str, int] = {}
    with connect(settings.database_url("stock_data")) as conn, conn.transaction():
        for symbol, name, price in STOCKS:
            stock_store.list_stock_and_announce(conn, symbol, name, price)
        # Only a brand-new exchange is opened by the seed: an instructor who
        # closed the market keeps it closed across restarts.
        if not conn.execute("SELECT 1 FROM outbox WHERE type = 'market.status_changed' LIMIT 1").fetchone():
            stock_store.change_market_and_announce(conn, "open")
    with connect(settings.database_url("user_accounts")) as conn, conn.transaction():
        instructor = user_store.get_user_by_name(conn, INSTRUCTOR_NAME)
        if instructor is None:
            instructor = conn.execute(
                "INSERT INTO users (name, role, starting_cash) VALUES (%s, 'instructor', 0) RETURNING *",
                (INSTRUCTOR_NAME,),
            ).fetchone()
            emit_now(conn, "user_accounts", [user_store.user_created_event(instructor)])
        ids[INSTRUCTOR_NAME] = instructor["id"]
        for name in TRADERS:
            row = user_store.get_user_by_name(conn, name)
            if row is None:
                row = user_store.insert_user(conn, NewUser(name, "trader", STARTING_CASH, dict(STARTING_HOLDINGS)))
                emit_now(conn, "user_accounts", [user_store.user_created_event(row)])
            ids[name] = row["id"]
    return ids


def set_instructor_password(settings: Settings, password: str | None) -> str:
    """(Re)set the instructor's password; generate one when none is given. Returns it."""
    password = password or secrets.token_urlsafe(12)
    with connect(settings.database_url("user_accounts")) as conn, conn.transaction():
        row = user_store.get_user_by_name(conn, INSTRUCTOR_NAME)
        if row is None:
            raise RuntimeError("seed the demo class first")
        if not verify_password(row["password_hash"], password):
            user_store.set_password_hash(conn, row["id"], hash_password(password))
    return password
