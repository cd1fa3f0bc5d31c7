"""user_accounts' HTTP API: /api/users, /api/sessions, /api/settings, /api/simulation."""

from __future__ import annotations

from flask import Blueprint, Response

from service_runtime.auth import Principal
from service_runtime.openapi import api, body, responses
from service_runtime.web import db, json_response, require_auth, require_instructor, settings, token_floor

from . import schemas, services, store
from .domain import new_user
from .views import created_user, public_settings, public_user

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
    req: schemas.NewUser = body()
    user = new_user(req.name, req.role, req.starting_cash, req.holdings)
    with db().unit_of_work(SERVICE) as uow:
        row = services.create_user(uow, user)
    return json_response(created_user(row), 201)


@bp.patch("/api/users/<int:user_id>")
@require_instructor
@api(json=schemas.Rename, resp=responses(200, schemas.User, errors=(403, 404, 409, 422)), tags=["users"])
def rename_user(who: Principal, user_id: int) -> Response:
    """Rename a user (announced as user.updated: screens and leaderboards follow)."""
    with db().unit_of_work(SERVICE) as uow:
        row = services.rename_user(uow, user_id, body().name)
    return json_response(public_user(row))


@bp.post("/api/users/bulk")
@require_instructor
@api(json=schemas.BulkUsers, resp=responses(201, schemas.User, array=True, errors=(403, 409, 413, 422)),
     tags=["users"])
def create_users(who: Principal) -> Response:
    """A class at once: count + prefix, or CSV. All or nothing."""
    req: schemas.BulkUsers = body()
    request = services.ClassList(count=req.count, prefix="Student" if req.prefix is None else req.prefix, csv=req.csv,
                                 role=req.role or "trader", starting_cash=req.starting_cash, holdings=req.holdings)
    with db().unit_of_work(SERVICE) as uow:
        rows = services.create_users(uow, request)
    return json_response([public_user(r) for r in rows], 201)


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
    req: schemas.SettingsUpdate = body()
    changes = {name: getattr(req, name) for name in req.model_fields_set}
    with db().unit_of_work(SERVICE) as uow:
        row = services.change_settings(uow, changes)
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
    with db().unit_of_work(SERVICE) as uow:
        epoch, floor = services.reset_simulation(uow, who.user_id, body().revoke_tokens)
    cached = token_floor()
    if cached is not None:
        cached.invalidate()  # this process refuses the old tokens at once
    return json_response({"epoch": epoch, "tokens_valid_from_epoch": floor}, 202)


@bp.post("/api/sessions")
@api(json=schemas.NewSession, resp=responses(201, schemas.Session, errors=(401, 404, 422)), tags=["users"],
     public=True)
def create_session() -> Response:
    req: schemas.NewSession = body()
    cfg = settings()
    with db().unit_of_work(SERVICE) as uow:
        session = services.open_session(uow, req.user_id, req.password, cfg.secret_key, cfg.token_ttl_seconds)
    return json_response({"token": session.token, "user": public_user(session.user)}, 201)
