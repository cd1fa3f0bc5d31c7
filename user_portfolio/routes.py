"""user_portfolio's HTTP API: /api/portfolios (one, or the instructor's roster), the
ledger, /api/leaderboard, and the instructor's CSV exports under /api/exports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, request

from service_runtime.auth import Principal
from service_runtime.db import Database
from service_runtime.errors import Forbidden, Invalid, NotFound
from service_runtime.identifiers import MAX_ID
from service_runtime.money import fmt, money
from service_runtime.openapi import api, query, responses
from service_runtime.web import clamp_limit, db, json_response, require_auth, require_instructor

from . import schemas, store
from .views import leaderboard_json, ledger_entry, portfolio_json, roster_row

bp = Blueprint("user_portfolio", __name__)

LEADERBOARD_DEFAULT = 1000
LEADERBOARD_MAX = 10000
LEDGER_DEFAULT = 200
LEDGER_MAX = 10000


def _owned_user_id(who: Principal, user_id_text: str) -> int:
    # parsed here, not by the URL converter, so an anonymous caller gets 401 first
    ok = user_id_text.isascii() and user_id_text.isdigit() and len(user_id_text) <= 10
    user_id = int(user_id_text) if ok else -1
    if not who.is_instructor and who.user_id != user_id:
        raise Forbidden("you may only see your own portfolio")
    if not 0 < user_id <= MAX_ID:
        raise NotFound("no such portfolio")
    return user_id


@bp.get("/api/portfolios")
@require_instructor
@api(query=schemas.RosterQuery, resp=responses(200, schemas.RosterRow, array=True, errors=(403, 422)),
     tags=["portfolios"])
def roster(who: Principal) -> Response:
    """Every user's portfolio with name, role, trades, starting_equity and return_pct
    (`?role=bot`: the house bots' only, one read for all of them)."""
    q: schemas.RosterQuery = query()
    return json_response(_roster(q.role))


ROSTER_ROLES = ("trader", "bot", "instructor")


def _roster(role: str | None = None) -> list[dict[str, Any]]:
    with db().read() as conn:
        valuations = store.load_valuations(conn, role=role or list(ROSTER_ROLES))
    return [roster_row(v) for v in valuations]


@bp.get("/api/portfolios/<user_id_text>/ledger")
@require_auth
@api(query=schemas.LedgerQuery, resp=responses(200, schemas.LedgerEntry, array=True, errors=(403, 404, 422)), tags=["portfolios"])
def get_ledger(who: Principal, user_id_text: str) -> Response:
    user_id = _owned_user_id(who, user_id_text)
    limit = clamp_limit(LEDGER_DEFAULT, LEDGER_MAX)
    with db().read() as conn:
        rows = store.ledger_rows(conn, user_id, limit)
    return json_response([ledger_entry(r) for r in rows])


@bp.get("/api/portfolios/<user_id_text>")
@require_auth
@api(resp=responses(200, schemas.Portfolio, errors=(403, 404)), tags=["portfolios"])
def get_portfolio(who: Principal, user_id_text: str) -> Response:
    user_id = _owned_user_id(who, user_id_text)
    with db().read() as conn:
        valuation = store.load_valuation(conn, user_id)
    if valuation is None:
        raise NotFound(f"no portfolio for user {user_id}")
    return json_response(portfolio_json(valuation))


@bp.get("/api/leaderboard")
@require_auth
@api(query=schemas.LeaderboardQuery, resp=responses(200, schemas.LeaderboardRow, array=True, errors=(422,)), tags=["portfolios"])
def get_leaderboard(who: Principal) -> Response:
    limit = clamp_limit(LEADERBOARD_DEFAULT, LEADERBOARD_MAX)
    return json_response(_leaderboard()[:limit])


def _leaderboard() -> list[dict[str, Any]]:
    include_bots = request.args.get("include_bots", "false")
    if include_bots not in ("true", "false"):
        raise Invalid("include_bots must be true or false", "include_bots")
    with db().read() as conn:
        valuations = store.load_valuations(conn, role=["trader", "bot"] if include_bots == "true" else "trader")
    return leaderboard_json(valuations)


# -- CSV exports (instructors) -------------------------------------------------


def _csv(filename: str, header: list[str], rows: Iterable[list[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else fmt(v) if isinstance(v, Decimal) else v for v in row])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/api/exports/leaderboard.csv")
@require_instructor
@api(resp=responses(200, None, errors=(403,)), tags=["exports"])
def export_leaderboard(who: Principal) -> Response:
    columns = ["rank", "user_id", "name", "role", "equity", "return_pct", "realized_pl", "unrealized_pl", "cash",
               "trades"]
    return _csv("leaderboard.csv", columns, ([r[c] for c in columns] for r in _leaderboard()))


@bp.get("/api/exports/portfolios.csv")
@require_instructor
@api(resp=responses(200, None, errors=(403,)), tags=["exports"])
def export_portfolios(who: Principal) -> Response:
    """One row per user and symbol held (a user with no shares: one row, symbol empty)."""
    with db().read() as conn:
        positions = store.all_positions(conn)
    by_user: dict[int, list[dict[str, Any]]] = {}
    for p in positions:
        by_user.setdefault(p["user_id"], []).append(p)
    rows = []
    for user in _roster():
        held = [p for p in by_user.get(user["user_id"], []) if p["qty"] > 0]
        base = [user["user_id"], user["name"], user["role"], user["cash"], user["reserved_cash"], user["equity"],
                user["realized_pl"], user["starting_equity"], user["return_pct"], user["trades"]]
        if not held:
            rows.append([*base, None, None, None, None, None, None])
        for p in held:
            value = money(p["last_price"] * p["qty"]) if p["last_price"] is not None else None
            rows.append([*base, p["symbol"], p["qty"], p["reserved_qty"], money(p["avg_cost"]), p["last_price"],
                         value])
    header = ["user_id", "name", "role", "cash", "reserved_cash", "equity", "realized_pl", "starting_equity",
              "return_pct", "trades", "symbol", "qty", "reserved_qty", "avg_cost", "last_price", "market_value"]
    return _csv("portfolios.csv", header, rows)


@bp.get("/api/exports/trades.csv")
@require_instructor
@api(resp=responses(200, None, errors=(403,)), tags=["exports"])
def export_trades(who: Principal) -> Response:
    """Every settled trade; commission_per_side is what each side paid for it (the
    buyer's amount; both sides pay the same unless the settings changed between the
    two orders' approvals)."""
    with db().read() as conn:
        trades = store.all_trades(conn)
    header = ["trade_id", "seq", "symbol", "price", "qty", "buyer_id", "seller_id", "buy_order_id",
              "sell_order_id", "executed_at", "commission_per_side"]
    return _csv("trades.csv", header, (
        [t["trade_id"], t["seq"], t["symbol"], t["price"], t["qty"], t["buyer_id"], t["seller_id"],
         t["buy_order_id"], t["sell_order_id"], t["executed_at"].isoformat(), t["buy_commission"]]
        for t in trades))


def health(database: Database) -> dict[str, Any]:
    with database.read() as conn:
        return {"accounts": store.count_accounts(conn)}
