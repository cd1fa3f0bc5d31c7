"""The SQL over house_bots' own tables: runner (config, running flag), bot_users, scenarios."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from service_runtime import jsonio

from .config import BotConfig, parse_config


def _json(value: Any) -> Jsonb:
    # Decimals (money, percentages) are stored as strings, as the API shows them.
    return Jsonb(value, dumps=jsonio.dumps)


def load_runner(conn: psycopg.Connection) -> dict[str, Any]:
    """{"config": BotConfig, "running", "started_at", "started_by"}; the defaults before the first save."""
    row = conn.execute("SELECT config, running, started_at, started_by FROM runner WHERE id = 1").fetchone()
    if row is None:
        return {"config": BotConfig(), "running": False, "started_at": None, "started_by": None}
    return {**row, "config": parse_config(row["config"])}


def save_runner(conn: psycopg.Connection, config: BotConfig, running: bool | None = None,
                started_by: int | None = None) -> None:
    """Store the config; with `running` given also the flag (and started_at/by when it turns on)."""
    conn.execute(
        """
        INSERT INTO runner (id, config, running, started_at, started_by)
        VALUES (1, %(config)s, coalesce(%(running)s::boolean, false),
                CASE WHEN %(running)s::boolean THEN now() END, %(by)s::integer)
        ON CONFLICT (id) DO UPDATE SET
            config = excluded.config,
            running = coalesce(%(running)s::boolean, runner.running),
            started_at = CASE WHEN %(running)s::boolean IS NULL THEN runner.started_at
                              WHEN %(running)s::boolean AND NOT runner.running THEN now()
                              WHEN %(running)s::boolean THEN runner.started_at END,
            started_by = coalesce(%(by)s::integer, runner.started_by),
            updated_at = now()
        """,
        {"config": _json(config.to_json()), "running": running, "by": started_by},
    )


def active_bot_users(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT user_id, name, kind, slot, starting_cash, holdings FROM bot_users WHERE NOT retired ORDER BY kind, slot"
    ).fetchall()


def bot_names(conn: psycopg.Connection) -> set[str]:
    return {r["name"] for r in conn.execute("SELECT name FROM bot_users").fetchall()}


def add_bot_user(conn: psycopg.Connection, user_id: int, name: str, kind: str, slot: int,
                 starting_cash: Decimal, holdings: dict[str, int]) -> None:
    conn.execute(
        "INSERT INTO bot_users (user_id, name, kind, slot, starting_cash, holdings) VALUES (%s, %s, %s, %s, %s, %s)",
        (user_id, name, kind, slot, starting_cash, _json(holdings)),
    )


def retire_bot_user(conn: psycopg.Connection, user_id: int) -> None:
    conn.execute("UPDATE bot_users SET retired = true WHERE user_id = %s", (user_id,))


def list_scenarios(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return conn.execute("SELECT name, document FROM scenarios ORDER BY name").fetchall()


def get_scenario(conn: psycopg.Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT document FROM scenarios WHERE name = %s", (name,)).fetchone()
    return row["document"] if row else None


def save_scenario(conn: psycopg.Connection, name: str, document: dict[str, Any], saved_by: int) -> bool:
    """Insert or replace; True when it was new."""
    row = conn.execute(
        """
        INSERT INTO scenarios (name, document, saved_by) VALUES (%s, %s, %s)
        ON CONFLICT (name) DO UPDATE SET document = excluded.document, saved_by = excluded.saved_by,
                                         updated_at = now()
        RETURNING (xmax = 0) AS created
        """,
        (name, _json(document), saved_by),
    ).fetchone()
    return bool(row["created"])
