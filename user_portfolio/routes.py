"""user_portfolio's HTTP API: /api/portfolios/{user_id} and /api/leaderboard."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from service_runtime.auth import Principal
from service_runtime.db import Database
from service_runtime.identifiers import MAX_ID
from service_runtime.web import ApiError, clamp_limit, db, json_response, require_auth

from . import store
from .domain import leaderboard, portfolio_body

bp = Blueprint("user_portfolio", __name__)

LEADERBOARD_DEFAULT = 1000
LEADERBOARD_MAX = 10000




@bp.get("/api/portfolios/<user_id_text>")
@require_auth
def get_portfolio(who: Principal, user_id_text: str) -> Response:
    # parsed here, not by the URL converter, so an anonymous caller gets 401 first
    ok = user_id_text.isascii() and user_id_text.isdigit() and len(user_id_text) <= 10
    user_id = int(user_id_text) if ok else -1
    if not who.is_instructor and who.user_id != user_id:
        raise ApiError(403, "forbidden", "you may only see your own portfolio")
    if not 0 < user_id <= MAX_ID:
        raise ApiError(404, "not_found", "no such portfolio")
    with db().read() as conn:
        valuation = store.load_valuation(conn, user_id)
    if valuation is None:
        raise ApiError(404, "not_found", f"no portfolio for user {user_id}")
    return json_response(portfolio_body(valuation))


@bp.get("/api/leaderboard")
@require_auth
def get_leaderboard(who: Principal) -> Response:
    limit = clamp_limit(LEADERBOARD_DEFAULT, LEADERBOARD_MAX)
    with db().read() as conn:
        valuations = store.load_valuations(conn, role="trader")
    return json_response(leaderboard(valuations)[:limit])


def health(database: Database) -> dict[str, Any]:
    with database.read() as conn:
        return {"accounts": store.count_accounts(conn)}
