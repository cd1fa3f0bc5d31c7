"""user_accounts' HTTP API: /api/users and /api/sessions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response

from service_runtime.auth import Principal, issue_token
from service_runtime.handlers import emit_now
from service_runtime.identifiers import is_user_id
from service_runtime.outbox import read_epoch
from service_runtime.web import ApiError, db, json_object, json_response, require_instructor, settings

from . import store
from .domain import parse_new_user, public_user
from .passwords import verify_password

bp = Blueprint("user_accounts", __name__)

SERVICE = "user_accounts"


@bp.get("/api/users")
def list_users() -> Response:
    with db().read() as conn:
        return json_response([public_user(r) for r in store.list_users(conn)])


@bp.post("/api/users")
@require_instructor
def create_user(who: Principal) -> Response:
    new_user = parse_new_user(json_object())
    with db().transaction() as conn:
        row = store.insert_user(conn, new_user)
        if row is None:
            raise ApiError(409, "conflict", f"a user named {new_user.name!r} already exists", field="name")
        emit_now(conn, SERVICE, [store.user_created_event(row)])
    return json_response(
        {**public_user(row), "starting_cash": row["starting_cash"], "holdings": row["holdings"]}, 201
    )


@bp.post("/api/sessions")
def create_session() -> Response:
    body = json_object()
    user_id = body.get("user_id")
    if not is_user_id(user_id):
        raise ApiError(422, "invalid", "user_id must be a positive integer", field="user_id")
    password = body.get("password")
    if password is not None and not isinstance(password, str):
        raise ApiError(422, "invalid", "password must be a string", field="password")
    cfg = settings()
    with db().transaction() as conn:
        user = store.get_user(conn, user_id)
        if user is None:
            raise ApiError(404, "not_found", f"no user {user_id}", field="user_id")
        if user["role"] == "instructor" and not verify_password(user["password_hash"], password or ""):
            raise ApiError(401, "unauthorized", "wrong password", field="password")
        epoch = read_epoch(conn)
        token, token_id = issue_token(
            cfg.secret_key, user["id"], user["role"], user["name"], epoch, cfg.token_ttl_seconds
        )
        store.record_session(
            conn, token_id, user["id"], epoch, datetime.now(UTC) + timedelta(seconds=cfg.token_ttl_seconds)
        )
    return json_response({"token": token, "user": public_user(user)}, 201)
