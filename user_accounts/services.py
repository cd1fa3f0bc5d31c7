"""user_accounts' use cases: what an instructor or a user can do, and the events each
announces. Routes and the demo seed call these with a unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from service_runtime import contracts as events
from service_runtime import revocation
from service_runtime.auth import issue_token
from service_runtime.errors import Conflict, Invalid, NotFound, Unauthorized
from service_runtime.outbox import read_epoch
from service_runtime.unit_of_work import UnitOfWork

from . import domain, store
from .domain import NewUser
from .passwords import hash_password, verify_password

Row = dict[str, Any]


def _created(uow: UnitOfWork, row: Row) -> None:
    uow.emit(events.UserCreated(user_id=row["id"], name=row["name"], role=row["role"],
                         starting_cash=row["starting_cash"], holdings=dict(row["holdings"])))


def create_user(uow: UnitOfWork, user: NewUser) -> Row:
    row = store.insert_user(uow.conn, user)
    if row is None:
        raise Conflict(f"a user named {user.name!r} already exists", "name")
    _created(uow, row)
    return row


@dataclass(frozen=True)
class ClassList:
    """POST /api/users/bulk: either `count` users named after `prefix`, or a CSV."""

    count: int | None
    prefix: str
    csv: str | None
    role: str
    starting_cash: Decimal | None
    holdings: dict[str, int] | None


def create_users(uow: UnitOfWork, request: ClassList) -> list[Row]:
    """A class at once, all or nothing."""
    if (request.csv is None) == (request.count is None):
        raise Invalid("send either count (with prefix) or csv", "count")
    cash = domain.starting_cash(request.starting_cash)
    granted = domain.holdings(request.holdings)
    if request.count is not None:
        store.lock_names(uow.conn, request.prefix.strip())
        taken = store.names_with_prefix(uow.conn, request.prefix.strip())
        users = domain.numbered_users(request.prefix, request.count, taken, request.role, cash, granted)
    else:
        users = domain.csv_users(request.csv or "", request.role, cash, granted)
    rows = store.insert_users(uow.conn, users)
    for user, row in zip(users, rows, strict=True):
        if row is None:  # raising rolls everything back: nothing is created
            raise Conflict(f"a user named {user.name!r} already exists", "name")
        _created(uow, row)
    return [r for r in rows if r is not None]


def rename_user(uow: UnitOfWork, user_id: int, name: str) -> Row:
    new_name = domain.user_name(name)
    row = store.rename_user(uow.conn, user_id, new_name)
    if row is None:
        if store.get_user(uow.conn, user_id) is None:
            raise NotFound(f"no user {user_id}")
        raise Conflict(f"a user named {new_name!r} already exists", "name")
    uow.emit(events.UserUpdated(user_id=row["id"], name=row["name"], role=row["role"]))
    return row


def change_settings(uow: UnitOfWork, changes: dict[str, Any]) -> Row:
    """A partial update of the trading rules, announced whole."""
    checked: dict[str, Any] = {}
    if "commission_per_share" in changes:
        value = changes["commission_per_share"]
        checked["commission_per_share"] = domain.commission(value if value is not None else Decimal("0"))
    for key in ("max_position", "max_order_qty"):
        if key in changes:
            checked[key] = domain.limit(changes[key], key)
    row = store.update_settings(uow.conn, checked)
    uow.emit(events.SettingsChanged(commission_per_share=row["commission_per_share"], max_position=row["max_position"],
                             max_order_qty=row["max_order_qty"]))
    return row


def reset_simulation(uow: UnitOfWork, requested_by: int, revoke_tokens: bool) -> tuple[int, int]:
    """Start a new epoch (every service returns to its starting state when the reset
    reaches it); with `revoke_tokens` traders' and bots' older tokens stop working.
    Returns (epoch, token floor)."""
    epoch = store.start_new_epoch(uow.conn)
    uow.epoch = epoch
    floor = revocation.raise_floor(uow.conn, epoch if revoke_tokens else 1)
    uow.emit(events.SimulationReset(epoch=epoch, requested_by=requested_by, tokens_valid_from_epoch=floor))
    return epoch, floor


@dataclass(frozen=True)
class Session:
    token: str
    user: Row


def open_session(uow: UnitOfWork, user_id: int, password: str | None, secret: str, ttl_seconds: int) -> Session:
    """Sign a user in: demo traders and bots need no password, instructors do."""
    user = store.get_user(uow.conn, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", "user_id")
    if user["role"] == "instructor" and not verify_password(user["password_hash"], password or ""):
        raise Unauthorized("wrong password", "password")
    if uow.epoch is None:
        uow.epoch = read_epoch(uow.conn)
    epoch = uow.epoch
    token, token_id = issue_token(secret, user["id"], user["role"], user["name"], epoch, ttl_seconds)
    store.record_session(uow.conn, token_id, user["id"], epoch, datetime.now(UTC) + timedelta(seconds=ttl_seconds))
    return Session(token, user)


# -- the demo class -------------------------------------------------------------


def ensure_instructor(uow: UnitOfWork, name: str) -> Row:
    row = store.get_user_by_name(uow.conn, name)
    if row is None:
        row = store.insert_instructor(uow.conn, name)
        _created(uow, row)
    return row


def ensure_trader(uow: UnitOfWork, user: NewUser) -> Row:
    row = store.get_user_by_name(uow.conn, user.name)
    return row if row is not None else create_user(uow, user)


def set_password(uow: UnitOfWork, name: str, password: str) -> None:
    """(Re)set a user's password (the instructor's, at every start)."""
    row = store.get_user_by_name(uow.conn, name)
    if row is None:
        raise NotFound(f"no user named {name!r}")
    if not verify_password(row["password_hash"], password):
        store.set_password_hash(uow.conn, row["id"], hash_password(password))
