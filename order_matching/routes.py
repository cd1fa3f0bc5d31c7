"""order_matching's HTTP API: aggregated book depth (/api/books)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, Response, current_app

from service_runtime.config import shard_database
from service_runtime.db import Database
from service_runtime.errors import NotFound
from service_runtime.identifiers import is_symbol
from service_runtime.openapi import api, query, responses
from service_runtime.shards import shard_of
from service_runtime.web import db, json_response, settings

from . import schemas, store
from .views import public_book

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
        raise NotFound("symbols are 1 to 8 upper-case letters or digits")
    levels = query().levels
    levels = max(1, min(levels if levels is not None else 10, MAX_LEVELS))
    with shard_db(shard_of(symbol, settings().matching_shards)).read() as conn:
        depth = store.depth(conn, symbol, levels)
    if depth is None:
        raise NotFound(f"{symbol} is not listed")
    return json_response(public_book(depth))
