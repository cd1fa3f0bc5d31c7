"""user_accounts' tables: users and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from service_runtime.contracts import UserCreated

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


def user_created_event(row: dict[str, Any]) -> UserCreated:
    return UserCreated(
        user_id=row["id"],
        name=row["name"],
        role=row["role"],
        starting_cash=row["starting_cash"],
        holdings=dict(row["holdings"]),
    )
