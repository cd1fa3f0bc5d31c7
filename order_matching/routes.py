"""order_matching's HTTP API: aggregated book depth (/api/books)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, Response, current_app, request

from service_runtime.config import shard_database
from service_runtime.db import Database
from service_runtime.identifiers import is_symbol
from service_runtime.openapi import api, responses
from service_runtime.shards import shard_of
from service_runtime.web import ApiError, db, json_response, settings

from . import schemas, store

bp = Blueprint("order_matching", __name__)
_POOLS_LOCK = threading.Lock()
MAX_LEVELS = 1000


def health(database: Database) -> dict[str, Any]:
    with database.read() as conn:
        detail: dict[str, Any] = {"market": store.market_status(conn)}
    shards = settings().matching_shards
    if shards > 1:
        for k in range(1, shards):
            with shard_db(k).read() as conn:
                conn.execute("SELECT 1")  # every shard's database must answer
        detail["shards"] = shards
    return detail


def shard_db(shard: int) -> Database:
    """Shard `shard`'s database (shard 0's is the service's own): one lazy pool each."""
    if shard == 0:
        return db()
    with _POOLS_LOCK:
        pools = current_app.extensions.setdefault("papertrade.shard_dbs", {})
        if shard not in pools:
            s = settings()
            name = shard_database(shard)
            pools[shard] = Database(s.database_url(name), max_size=s.db_pool_size, name=name)
        return pools[shard]


@bp.get("/api/books/<symbol>")
@api(query=schemas.BookQuery, resp=responses(200, schemas.Book, errors=(404, 422)), tags=["market data"], public=True)
def book(symbol: str) -> Response:
    if not is_symbol(symbol):
        raise ApiError(404, "not_found", "symbols are 1 to 8 upper-case letters or digits")
    raw = request.args.get("levels", "10")
    try:
        levels = max(1, min(int(raw), MAX_LEVELS))
    except ValueError as exc:
        raise ApiError(422, "invalid", "levels must be a whole number", field="levels") from exc
    with shard_db(shard_of(symbol, settings().matching_shards)).read() as conn:
        body = store.depth(conn, symbol, levels)
    if body is None:
        raise ApiError(404, "not_found", f"{symbol} is not listed")
    return json_response(body)
