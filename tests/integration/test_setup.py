"""Setting up: databases created and migrated, the demo class seeded once however
often it runs, unreachable dependencies named, and an audit that really fails."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import uuid

import pytest

from service_runtime.config import API_SERVICES, Settings
from service_runtime.db import connect
from stack.__main__ import check_dependencies, setup
from stack.processes import settings_env
from stack.teardown import destroy


@pytest.fixture
def namespace():
    settings = Settings(
        namespace=f"ptt{uuid.uuid4().hex[:8]}",
        pg_url=os.environ.get("PAPERTRADE_PG_URL", Settings.pg_url),
        amqp_url=os.environ.get("PAPERTRADE_AMQP_URL", Settings.amqp_url),
        secret_key="k" * 40,
    )
    try:
        yield settings
    finally:
        destroy(settings)


def counts(settings: Settings) -> dict[str, int]:
    out = {}
    for service, table in [("user_accounts", "users"), ("user_accounts", "outbox"), ("stock_data", "stocks"),
                           ("stock_data", "outbox")]:
        with connect(settings.database_url(service)) as conn:
            out[f"{service}.{table}"] = conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]
    return out


def test_setup_creates_five_migrated_databases_and_seeds_once(namespace):
    ids, password = setup(namespace)
    assert set(ids) == {"Instructor", "Alice", "Bob", "Carol", "Dave", "Erin", "Frank"}
    first = counts(namespace)
    assert first == {"user_accounts.users": 7, "user_accounts.outbox": 7, "stock_data.stocks": 5,
                     "stock_data.outbox": 6}
    again_ids, _ = setup(namespace)
    assert again_ids == ids and counts(namespace) == first
    for service in API_SERVICES:  # the five services and house_bots
        with connect(namespace.database_url(service)) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone()
    with connect(namespace.database_url("house_bots")) as conn:
        assert conn.execute("SELECT count(*) AS n FROM runner").fetchone()["n"] == 0  # nothing runs by itself
    with connect(namespace.database_url("stock_data")) as conn:
        assert conn.execute("SELECT status FROM market").fetchone()["status"] == "open"
    # The instructor password is (re)set from the setting at every start.
    fixed = dataclasses.replace(namespace, instructor_password="a-new-password")
    assert setup(fixed)[1] == "a-new-password"
    assert password != "a-new-password" and len(password) >= 12


def test_unreachable_dependencies_are_named_with_how_to_start_them():
    problems = check_dependencies(Settings(pg_url="postgresql://postgres@127.0.0.1:1",
                                           amqp_url="amqp://guest:guest@127.0.0.1:2/%2F"))
    assert len(problems) == 2
    assert "PostgreSQL is not reachable at postgresql://postgres@127.0.0.1:1" in problems[0]
    assert "pg_ctlcluster" in problems[0] and "PAPERTRADE_PG_URL" in problems[0]
    assert "RabbitMQ is not reachable" in problems[1] and "rabbitmq-server" in problems[1]


def test_audit_names_each_violation_and_exits_non_zero(namespace):
    setup(namespace)
    # Nobody relays in this namespace: drop the seed events (as the relay does once
    # they are sent) so the system is "quiet" while user_portfolio never heard of the users.
    for service in ("user_accounts", "stock_data"):
        with connect(namespace.database_url(service)) as conn, conn.transaction():
            conn.execute("DELETE FROM outbox")
    with connect(namespace.database_url("stock_ordering")) as conn, conn.transaction():
        conn.execute(
            "INSERT INTO orders (fingerprint, user_id, symbol, side, type, qty, limit_price, time_in_force, status,"
            " filled_qty, final_status) VALUES ('x', 2, 'AAPL', 'buy', 'limit', 10, 1.00, 'day', 'filled', 10,"
            " 'filled')"
        )
    env = {**os.environ, **settings_env(namespace)}
    result = subprocess.run([sys.executable, "-m", "stack.audit", "--wait", "20"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "user 2 (Alice) has no portfolio account" in result.stdout
    assert "order 1: filled_qty 10 but its trades sum to 0" in result.stdout
    assert "AAPL: 600 shares granted but 0 held" in result.stdout


@pytest.mark.parametrize("service", API_SERVICES)
def test_every_migration_goes_down_to_nothing_and_up_again(service):
    from alembic import command

    from db.migrate import alembic_config, create_database, drop_database, migrate

    settings = Settings(namespace=f"ptmig{uuid.uuid4().hex[:8]}", pg_url=Settings().pg_url)
    create_database(settings, service)
    try:
        def tables() -> list[str]:
            with connect(settings.database_url(service)) as conn:
                return [r["tablename"] for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    " ORDER BY tablename").fetchall()]

        migrate(settings, service)
        full = tables()
        assert full
        command.downgrade(alembic_config(service, settings.database_url(service)), "base")
        assert tables() == []
        migrate(settings, service)  # and up again from nothing
        assert tables() == full
    finally:
        drop_database(settings, service)
