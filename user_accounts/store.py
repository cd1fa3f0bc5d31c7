"""user_accounts' tables: users and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from service_runtime import revocation
from service_runtime.db import insert_many_returning

from .domain import NewUser


def list_users(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return conn.execute("SELECT id, name, role FROM users ORDER BY id").fetchall()


def get_user(conn: psycopg.Connection, user_id: int) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM users WHERE id = %s", (user_id,)).fetchone()


def get_user_by_name(conn: psycopg.Connection, name: str) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM users WHERE name = %s", (name,)).fetchone()


def insert_user(conn: psycopg.Connection, user: NewUser, password_hash: str | None = None) -> dict[str, Any] | None:
    """Insert; None when the name is taken (the caller answers 409)."""
    return conn.execute(
        """
        INSERT INTO users (name, role, password_hash, starting_cash, holdings)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (name) DO NOTHING
        RETURNING *
        """,
        (user.name, user.role, password_hash, user.starting_cash, psycopg.types.json.Jsonb(user.holdings)),
    ).fetchone()


def set_password_hash(conn: psycopg.Connection, user_id: int, password_hash: str) -> None:
    conn.execute("UPDATE users SET password_hash = %s, updated_at = now() WHERE id = %s", (password_hash, user_id))


def record_session(conn: psycopg.Connection, token_id: str, user_id: int, epoch: int, expires_at: datetime) -> None:
    conn.execute(
        "INSERT INTO sessions (token_id, user_id, epoch, expires_at) VALUES (%s, %s, %s, %s)",
        (token_id, user_id, epoch, expires_at),
    )


def rename_user(conn: psycopg.Connection, user_id: int, name: str) -> dict[str, Any] | None:
    """None when there is no such user or another one has the name."""
    return conn.execute(
        "UPDATE users SET name = %(name)s, updated_at = now() WHERE id = %(id)s"
        " AND NOT EXISTS (SELECT 1 FROM users WHERE name = %(name)s AND id <> %(id)s) RETURNING *",
        {"name": name, "id": user_id},
    ).fetchone()


def insert_instructor(conn: psycopg.Connection, name: str) -> dict[str, Any]:
    return conn.execute(
        "INSERT INTO users (name, role, starting_cash) VALUES (%s, 'instructor', 0) RETURNING *", (name,)
    ).fetchone()


def lock_names(conn: psycopg.Connection, prefix: str) -> None:
    """Serialize the numbering of bulk creations with one prefix."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("bulk:" + prefix,))


def names_with_prefix(conn: psycopg.Connection, prefix: str) -> list[str]:
    return [r["name"] for r in conn.execute(
        "SELECT name FROM users WHERE starts_with(name, %s)", (prefix + " ",)).fetchall()]


def insert_users(conn: psycopg.Connection, users: list[NewUser]) -> list[dict[str, Any] | None]:
    """Insert many (one pipelined statement); an entry is None where the name is taken."""
    return insert_many_returning(
        conn,
        """
        INSERT INTO users (name, role, starting_cash, holdings) VALUES (%s, %s, %s, %s)
        ON CONFLICT (name) DO NOTHING
        RETURNING *
        """,
        [(u.name, u.role, u.starting_cash, psycopg.types.json.Jsonb(u.holdings)) for u in users],
    )


# --- settings and the simulation ---------------------------------------------

def get_settings_row(conn: psycopg.Connection, for_update: bool = False) -> dict[str, Any]:
    return conn.execute(
        "SELECT * FROM settings WHERE id = 1" + (" FOR UPDATE" if for_update else "")).fetchone()


def update_settings(conn: psycopg.Connection, changes: dict[str, Any]) -> dict[str, Any]:
    """Write the changed settings (the others keep their values); the new row."""
    row = get_settings_row(conn, for_update=True)
    row.update(changes)
    return conn.execute(
        """
        UPDATE settings SET commission_per_share = %(commission_per_share)s, max_position = %(max_position)s,
               max_order_qty = %(max_order_qty)s, updated_at = now()
        WHERE id = 1 RETURNING *
        """,
        row,
    ).fetchone()


def get_simulation(conn: psycopg.Connection) -> dict[str, Any]:
    return conn.execute(
        "SELECT (SELECT (value #>> '{}')::int FROM service_state WHERE key = 'epoch') AS epoch, reset_at,"
        " coalesce((SELECT (value #>> '{}')::int FROM service_state WHERE key = %s), 1)"
        " AS tokens_valid_from_epoch"
        " FROM simulation WHERE id = 1",
        (revocation.KEY,),
    ).fetchone()


def start_new_epoch(conn: psycopg.Connection) -> int:
    """Move to the next epoch (row-locked, so two resets at once get two epochs)."""
    epoch = conn.execute(
        "UPDATE service_state SET value = to_jsonb((value #>> '{}')::int + 1) WHERE key = 'epoch'"
        " RETURNING (value #>> '{}')::int AS epoch"
    ).fetchone()["epoch"]
    conn.execute("UPDATE simulation SET reset_at = now() WHERE id = 1")
    return epoch
