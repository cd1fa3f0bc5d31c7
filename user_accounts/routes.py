"""user_accounts' HTTP API: /api/users, /api/sessions, /api/settings, /api/simulation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, request

from service_runtime import revocation
from service_runtime.auth import Principal, issue_token
from service_runtime.contracts import SimulationReset
from service_runtime.handlers import emit_now
from service_runtime.identifiers import is_user_id
from service_runtime.openapi import api, responses
from service_runtime.outbox import read_epoch
from service_runtime.web import (
    ApiError,
    db,
    json_body,
    json_object,
    json_response,
    require_auth,
    require_instructor,
    settings,
    token_floor,
)

from . import schemas, store
from .domain import parse_bulk, parse_new_user, parse_settings_update, public_settings, public_user
from .passwords import verify_password

bp = Blueprint("user_accounts", __name__)

SERVICE = "user_accounts"


@bp.get("/api/users")
@api(resp=responses(200, schemas.User, array=True), tags=["users"], public=True)
def list_users() -> Response:
    with db().read() as conn:
        return json_response([public_user(r) for r in store.list_users(conn)])


@bp.post("/api/users")
@require_instructor
@api(json=schemas.NewUser, resp=responses(201, schemas.CreatedUser, errors=(403, 409, 422)), tags=["users"])
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


@bp.post("/api/users/bulk")
@require_instructor
@api(json=schemas.BulkUsers, resp=responses(201, schemas.User, array=True, errors=(403, 409, 413, 422)), tags=["users"])
def create_users(who: Principal) -> Response:
    """A class at once: count + prefix, or CSV. All or nothing."""
    body = json_object()
    prefix = body.get("prefix", "Student")
    with db().transaction() as conn:
        if "count" in body and isinstance(prefix, str):
            # Serialize numbering with other bulk creations of the same prefix.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("bulk:" + prefix.strip(),))
        taken = store.names_with_prefix(conn, prefix.strip()) if isinstance(prefix, str) else []
        users = parse_bulk(body, taken)
        rows = store.insert_users(conn, users)
        for user, row in zip(users, rows, strict=True):
            if row is None:
                # raising rolls the transaction back: nothing is created
                raise ApiError(409, "conflict", f"a user named {user.name!r} already exists", field="name")
        emit_now(conn, SERVICE, [store.user_created_event(r) for r in rows if r is not None])
    return json_response([public_user(r) for r in rows if r is not None], 201)


@bp.get("/api/settings")
@require_auth
@api(resp=responses(200, schemas.Settings), tags=["simulation"])
def get_settings(who: Principal) -> Response:
    with db().read() as conn:
        return json_response(public_settings(store.get_settings_row(conn)))


@bp.put("/api/settings")
@require_instructor
@api(json=schemas.SettingsUpdate, resp=responses(200, schemas.Settings, errors=(403, 422)), tags=["simulation"])
def put_settings(who: Principal) -> Response:
    changes = parse_settings_update(json_object())
    with db().transaction() as conn:
        row = store.update_settings(conn, changes)
        emit_now(conn, SERVICE, [store.settings_changed_event(row)])
    return json_response(public_settings(row))


@bp.get("/api/simulation")
@api(resp=responses(200, schemas.Simulation), tags=["simulation"], public=True)
def get_simulation() -> Response:
    """The epoch (also public in GET /api/market), when the last reset was, and the
    lowest epoch a trader's or bot's token may carry: public, so the gateway and the
    house bots can read it without a token that may have been revoked."""
    with db().read() as conn:
        return json_response(store.get_simulation(conn))


@bp.post("/api/simulation/reset")
@require_instructor
@api(json=schemas.ResetRequest, resp=responses(202, schemas.ResetStarted, errors=(403, 422)), tags=["simulation"])
def reset_simulation(who: Principal) -> Response:
    """Start a new epoch: every service returns to its starting state when the
    simulation.reset event reaches it (202: it is under way, not done). With
    `revoke_tokens`, traders' and bots' tokens issued before it stop working on each
    service as that service applies the reset (within a second of it)."""
    revoke = False
    if request.get_data(cache=True):
        body = json_body()
        revoke = isinstance(body, dict) and body.get("revoke_tokens") is True
    with db().transaction() as conn:
        epoch = store.start_new_epoch(conn)
        floor = revocation.raise_floor(conn, epoch if revoke else 1)
        emit_now(conn, SERVICE, [SimulationReset(epoch=epoch, requested_by=who.user_id,
                                                 tokens_valid_from_epoch=floor)])
    cached = token_floor()
    if cached is not None:
        cached.invalidate()  # this process refuses the old tokens at once
    return json_response({"epoch": epoch, "tokens_valid_from_epoch": floor}, 202)


@bp.post("/api/sessions")
@api(json=schemas.NewSession, resp=responses(201, schemas.Session, errors=(401, 404, 422)), tags=["users"], public=True)
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
