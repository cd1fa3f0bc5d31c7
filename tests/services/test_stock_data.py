"""stock_data against a real database: listings, market status, trades moving prices,
candles and the tape, and the events it emits."""

from __future__ import annotations

import json
import time
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from service_runtime import contracts
from service_runtime.contracts import SimulationReset, TradeExecuted
from service_runtime.errors import Conflict
from service_runtime.unit_of_work import unit_of_work
from stock_data import services, store
from stock_data.domain import new_stock

SERVICE = "stock_data"

T0 = datetime(2024, 3, 4, 9, 30, 0, tzinfo=UTC)
INSTRUCTOR = 1
TRADER = 7


def outbox(conn) -> list[tuple[str, dict]]:
    rows = conn.execute("SELECT type, body FROM outbox ORDER BY id").fetchall()
    return [(r["type"], json.loads(r["body"])["payload"]) for r in rows]


def count(conn, table: str) -> int:
    return conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]


def echo(sdb) -> list:
    """The worker receives its own listings and market changes back from the broker:
    deliver what the outbox holds to it (a redelivered one changes nothing)."""
    rows = sdb.conn.execute("SELECT body FROM outbox WHERE type IN ('stock.listed', 'market.status_changed')"
                            " ORDER BY id").fetchall()
    return sdb.runner.deliver(*[contracts.parse(r["body"]) for r in rows]) if rows else []


def list_directly(sdb, symbol: str = "ACME", price: str = "10.00", name: str = "Acme Corp") -> None:
    with unit_of_work(sdb.conn, SERVICE) as uow:
        services.list_stock(uow, new_stock(symbol, name, Decimal(price)))
    echo(sdb)


def trade(seq: int, price: str, qty: int, at: datetime, symbol: str = "ACME", trade_id: int | None = None):
    return TradeExecuted(
        trade_id=trade_id if trade_id is not None else seq * 1000 + zlib.crc32(symbol.encode()) % 1000,
        seq=seq, symbol=symbol, price=Decimal(price), qty=qty,
        buy_order_id=seq * 10, sell_order_id=seq * 10 + 1, buyer_id=2, seller_id=3, taker_side="buy",
        buy_filled_qty=qty, sell_filled_qty=qty, buy_remaining=0, sell_remaining=0, executed_at=at,
    )


def payloads(emitted, type_: str) -> list[dict]:
    return [json.loads(e.to_json())["payload"] for e in emitted if e.type == type_]


# --- listing ----------------------------------------------------------------

def test_instructor_lists_a_stock_and_stock_listed_is_in_the_outbox(service_db):
    client = service_db.client()
    resp = client.post(
        "/api/stocks",
        json={"symbol": "ACME", "name": "Acme Corp", "reference_price": "12.5"},
        headers=service_db.auth(INSTRUCTOR, "instructor"),
    )
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["updated_at"]
    assert {k: v for k, v in body.items() if k != "updated_at"} == {
        "symbol": "ACME", "name": "Acme Corp", "reference_price": "12.50", "last_price": "12.50",
        "open": None, "high": None, "low": None, "change_pct": "0.00", "volume": 0, "listed": True,
    }
    assert outbox(service_db.conn) == [
        ("stock.listed", {"symbol": "ACME", "name": "Acme Corp", "reference_price": "12.50"})
    ]
    assert client.get("/api/stocks/ACME").json == body
    # A JSON number is accepted too; the list is sorted by symbol.
    resp = client.post(
        "/api/stocks",
        data='{"symbol": "AAA1", "name": "  Triple A  ", "reference_price": 0.01}',
        content_type="application/json",
        headers=service_db.auth(INSTRUCTOR, "instructor"),
    )
    assert resp.status_code == 201 and resp.json["reference_price"] == "0.01" and resp.json["name"] == "Triple A"
    assert [s["symbol"] for s in client.get("/api/stocks").json] == ["AAA1", "ACME"]


def test_duplicate_listing_is_409_and_writes_nothing(service_db):
    client = service_db.client()
    headers = service_db.auth(INSTRUCTOR, "instructor")
    body = {"symbol": "ACME", "name": "Acme Corp", "reference_price": 10}
    assert client.post("/api/stocks", json=body, headers=headers).status_code == 201
    resp = client.post("/api/stocks", json={**body, "name": "Other", "reference_price": 20}, headers=headers)
    assert resp.status_code == 409 and resp.json["error"]["field"] == "symbol"
    assert [t for t, _ in outbox(service_db.conn)] == ["stock.listed"]
    stock = client.get("/api/stocks/ACME").json
    assert (stock["name"], stock["reference_price"]) == ("Acme Corp", "10.00")


def test_bad_listing_bodies_are_422_naming_the_field_and_leave_nothing(service_db):
    client = service_db.client()
    headers = service_db.auth(INSTRUCTOR, "instructor")
    good = {"symbol": "ACME", "name": "Acme Corp", "reference_price": "10.00"}
    cases = [
        ({**good, "symbol": "acme"}, "symbol"),
        ({**good, "symbol": "ABCDEFGHI"}, "symbol"),
        ({**good, "symbol": ""}, "symbol"),
        ({**good, "symbol": "AC-ME"}, "symbol"),
        ({**good, "symbol": 12}, "symbol"),
        ({k: v for k, v in good.items() if k != "symbol"}, "symbol"),
        ({k: v for k, v in good.items() if k != "name"}, "name"),
        ({**good, "name": "   "}, "name"),
        ({**good, "name": "x" * 65}, "name"),
        ({**good, "name": 5}, "name"),
        ({**good, "reference_price": "-1.00"}, "reference_price"),
        ({**good, "reference_price": 0}, "reference_price"),
        ({**good, "reference_price": "0.00"}, "reference_price"),
        ({**good, "reference_price": "10.001"}, "reference_price"),
        ({**good, "reference_price": "NaN"}, "reference_price"),
        ({**good, "reference_price": "Infinity"}, "reference_price"),
        ({**good, "reference_price": "1000000.01"}, "reference_price"),
        ({**good, "reference_price": "1e100"}, "reference_price"),
        ({**good, "reference_price": True}, "reference_price"),
        ({**good, "reference_price": "ten"}, "reference_price"),
        ({k: v for k, v in good.items() if k != "reference_price"}, "reference_price"),
        ({**good, "extra": 1}, "extra"),
    ]
    for body, field in cases:
        resp = client.post("/api/stocks", json=body, headers=headers)
        assert resp.status_code == 422, body
        assert resp.json["error"]["field"] == field, body
    assert client.post("/api/stocks", json=["ACME"], headers=headers).status_code == 422
    bad_json = client.post("/api/stocks", data="{bad", headers=headers, content_type="application/json")
    assert bad_json.status_code == 400
    nan = client.post("/api/stocks", data='{"symbol":"ACME","name":"A","reference_price":NaN}',
                      headers=headers, content_type="application/json")
    assert nan.status_code == 400
    assert count(service_db.conn, "stocks") == 0
    assert outbox(service_db.conn) == []
    # The limits themselves are fine.
    ok = client.post("/api/stocks", json={**good, "symbol": "ABCDEFG8", "name": "x" * 64,
                                          "reference_price": "1000000"}, headers=headers)
    assert ok.status_code == 201 and ok.json["reference_price"] == "1000000.00"


def test_only_instructors_list_stocks_and_reads_are_public(service_db):
    client = service_db.client()
    body = {"symbol": "ACME", "name": "Acme", "reference_price": "10"}
    assert client.post("/api/stocks", json=body).status_code == 401
    # 401 comes before validation for anonymous callers.
    assert client.post("/api/stocks", json={"symbol": "bad"}).status_code == 401
    assert client.post("/api/stocks", json=body, headers=service_db.auth(TRADER)).status_code == 403
    assert client.post("/api/stocks", json=body, headers=service_db.auth(TRADER, "bot")).status_code == 403
    forged = {"Authorization": "Bearer " + service_db.token(INSTRUCTOR, "instructor")[:-3] + "abc"}
    assert client.post("/api/stocks", json=body, headers=forged).status_code == 401
    assert count(service_db.conn, "stocks") == 0 and outbox(service_db.conn) == []
    list_directly(service_db)
    assert client.get("/api/stocks").status_code == 200
    assert client.get("/api/stocks/ACME/candles").json == []
    assert client.get("/api/stocks/ACME/trades").json == []
    assert client.get("/api/market").json["status"] == "closed"


def test_unknown_or_malformed_symbols_are_404(service_db):
    list_directly(service_db)
    client = service_db.client()
    for path in ["/api/stocks/NOPE", "/api/stocks/acme", "/api/stocks/TOOLONGSYMBOL",
                 "/api/stocks/NOPE/candles", "/api/stocks/NOPE/trades", "/api/stocks/a%20b/trades"]:
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert resp.json["error"]["code"] == "not_found", path


def test_listing_and_market_use_cases_announce_only_changes(service_db):
    conn = service_db.conn
    with unit_of_work(conn, SERVICE) as uow:
        row = services.list_stock(uow, new_stock("ACME", "Acme", Decimal("10.00")))
        assert row["symbol"] == "ACME" and row["reference_price"] == Decimal("10.00")
        market, previous, changed = services.change_market(uow, "open")
        assert (market["status"], previous, changed) == ("open", "closed", True)
    with pytest.raises(Conflict), unit_of_work(conn, SERVICE) as uow:
        services.list_stock(uow, new_stock("ACME", "Acme again", Decimal("11.00")))
    with unit_of_work(conn, SERVICE) as uow:
        assert services.change_market(uow, "open")[1:] == ("open", False)
        assert services.change_market(uow, "halted")[1:] == ("open", True)
    assert [t for t, _ in outbox(conn)] == ["stock.listed", "market.status_changed", "market.status_changed"]
    assert outbox(conn)[2] == ("market.status_changed", {"status": "halted", "previous": "open", "closes_at": None})


# --- trades -----------------------------------------------------------------

def test_trades_move_last_price_ohlc_volume_and_candles(service_db):
    list_directly(service_db, "ACME", "10.00")
    emitted = service_db.runner.deliver(trade(1, "10.50", 100, T0 + timedelta(seconds=10)))
    assert payloads(emitted, "price.updated") == [{
        "symbol": "ACME", "last_price": "10.50", "open": "10.50", "high": "10.50", "low": "10.50",
        "volume": 100, "change_pct": "5.00", "trade_seq": 1,
    }]
    service_db.runner.deliver(trade(2, "10.25", 50, T0 + timedelta(seconds=40)))
    service_db.runner.deliver(trade(3, "10.77", 10, T0 + timedelta(seconds=65)))
    client = service_db.client()
    stock = client.get("/api/stocks/ACME").json
    assert stock["updated_at"]
    assert {k: v for k, v in stock.items() if k != "updated_at"} == {
        "symbol": "ACME", "name": "Acme Corp", "reference_price": "10.00", "last_price": "10.77",
        "open": "10.50", "high": "10.77", "low": "10.25", "change_pct": "7.70", "volume": 160, "listed": True,
    }
    assert client.get("/api/stocks").json == [stock]
    assert client.get("/api/stocks/ACME/candles?interval=1m").json == [
        {"time": "2024-03-04T09:30:00+00:00", "open": "10.50", "high": "10.50", "low": "10.25",
         "close": "10.25", "volume": 150},
        {"time": "2024-03-04T09:31:00+00:00", "open": "10.77", "high": "10.77", "low": "10.77",
         "close": "10.77", "volume": 10},
    ]
    assert client.get("/api/stocks/ACME/trades").json == [
        {"seq": 3, "symbol": "ACME", "price": "10.77", "qty": 10, "ts": "2024-03-04T09:31:05+00:00"},
        {"seq": 2, "symbol": "ACME", "price": "10.25", "qty": 50, "ts": "2024-03-04T09:30:40+00:00"},
        {"seq": 1, "symbol": "ACME", "price": "10.50", "qty": 100, "ts": "2024-03-04T09:30:10+00:00"},
    ]


def test_change_pct_rounds_to_two_decimals_and_can_be_negative(service_db):
    list_directly(service_db, "ACME", "3.00")
    service_db.runner.deliver(trade(1, "3.01", 1, T0))
    assert service_db.client().get("/api/stocks/ACME").json["change_pct"] == "0.33"
    emitted = service_db.runner.deliver(trade(2, "2.98", 1, T0))
    assert payloads(emitted, "price.updated")[0]["change_pct"] == "-0.67"


def test_a_batch_of_trades_emits_one_price_updated_per_symbol(service_db):
    list_directly(service_db, "ACME", "10.00")
    list_directly(service_db, "BETA", "50.00", "Beta Inc")
    emitted = service_db.runner.deliver(
        trade(1, "10.10", 5, T0, "ACME"),
        trade(1, "49.00", 7, T0, "BETA"),
        trade(2, "10.30", 5, T0 + timedelta(seconds=1), "ACME"),
        trade(3, "9.90", 5, T0 + timedelta(seconds=2), "ACME"),
        trade(2, "48.50", 3, T0 + timedelta(seconds=3), "BETA"),
    )
    assert service_db.runner.emitted_types(emitted) == ["price.updated", "price.updated"]
    assert payloads(emitted, "price.updated") == [
        {"symbol": "ACME", "last_price": "9.90", "open": "10.10", "high": "10.30", "low": "9.90",
         "volume": 15, "change_pct": "-1.00", "trade_seq": 3},
        {"symbol": "BETA", "last_price": "48.50", "open": "49.00", "high": "49.00", "low": "48.50",
         "volume": 10, "change_pct": "-3.00", "trade_seq": 2},
    ]
    # prices are notices: published after the commit, never in the outbox
    assert [t for t, _ in outbox(service_db.conn)] == ["stock.listed", "stock.listed"]


def test_an_older_seq_never_moves_the_last_price_back(service_db):
    list_directly(service_db, "ACME", "10.00")
    service_db.runner.deliver(trade(5, "11.00", 10, T0 + timedelta(seconds=30)))
    emitted = service_db.runner.deliver(trade(4, "9.00", 20, T0 + timedelta(seconds=20)))
    assert payloads(emitted, "price.updated") == [{
        "symbol": "ACME", "last_price": "11.00", "open": "9.00", "high": "11.00", "low": "9.00",
        "volume": 30, "change_pct": "10.00", "trade_seq": 5,
    }]
    client = service_db.client()
    assert client.get("/api/stocks/ACME").json["last_price"] == "11.00"
    # The minute's open is the lower seq's price, its close the higher seq's.
    assert client.get("/api/stocks/ACME/candles").json == [
        {"time": "2024-03-04T09:30:00+00:00", "open": "9.00", "high": "11.00", "low": "9.00",
         "close": "11.00", "volume": 30},
    ]
    assert [t["seq"] for t in client.get("/api/stocks/ACME/trades").json] == [5, 4]


def test_the_same_trade_delivered_twice_counts_once(service_db):
    list_directly(service_db, "ACME", "10.00")
    envelope = service_db.runner.envelope(trade(1, "10.40", 25, T0))
    assert len(service_db.runner.deliver(envelope)) == 1
    assert service_db.runner.deliver(envelope) == []
    # ... and twice within one batch. (A producer re-publishing a trade sends its
    # envelope again, same id: matching announces each trade in one event only.)
    again = service_db.runner.envelope(trade(2, "10.60", 5, T0))
    assert len(service_db.runner.deliver(again, again)) == 1
    client = service_db.client()
    stock = client.get("/api/stocks/ACME").json
    assert (stock["volume"], stock["last_price"]) == (30, "10.60")
    assert len(client.get("/api/stocks/ACME/trades").json) == 2
    assert client.get("/api/stocks/ACME/candles").json[0]["volume"] == 30


def test_a_trade_for_an_unknown_symbol_waits_for_the_listing(service_db):
    assert service_db.runner.deliver(trade(1, "20.00", 3, T0, "LATE")) == []
    assert count(service_db.conn, "parked_events") == 1 and count(service_db.conn, "trades") == 0
    client = service_db.client()
    resp = client.post("/api/stocks", json={"symbol": "LATE", "name": "Late Ltd", "reference_price": "16"},
                       headers=service_db.auth(INSTRUCTOR, "instructor"))
    assert resp.status_code == 201 and resp.json["volume"] == 0
    assert outbox(service_db.conn) == [
        ("stock.listed", {"symbol": "LATE", "name": "Late Ltd", "reference_price": "16.00"})]
    # the listing reaches the worker: the trade that waited for it applies then
    emitted = echo(service_db)
    assert count(service_db.conn, "parked_events") == 0
    assert payloads(emitted, "price.updated") == [
        {"symbol": "LATE", "last_price": "20.00", "open": "20.00", "high": "20.00", "low": "20.00", "volume": 3,
         "change_pct": "25.00", "trade_seq": 1}]
    stock = client.get("/api/stocks/LATE").json
    assert (stock["last_price"], stock["volume"], stock["change_pct"]) == ("20.00", 3, "25.00")


# --- candles and tape ---------------------------------------------------------

def test_candles_are_aggregated_from_one_minute_rows(service_db):
    list_directly(service_db, "ACME", "10.00")
    # (seq, price, qty, minutes after 09:30, seconds)
    rows = [
        (1, "10.00", 1, 0, 5), (2, "10.20", 2, 1, 0), (3, "9.80", 3, 4, 59),  # 09:30 bucket
        (4, "10.50", 4, 5, 0), (5, "10.40", 5, 9, 30),                          # 09:35 bucket
        (6, "11.00", 6, 12, 0),                                                  # 09:40 bucket
        (7, "12.00", 7, 31, 0),                                                  # 10:00 (1h: 10:00)
    ]
    service_db.runner.deliver(*[
        trade(seq, price, qty, T0 + timedelta(minutes=m, seconds=s)) for seq, price, qty, m, s in rows
    ])
    client = service_db.client()
    assert len(client.get("/api/stocks/ACME/candles?interval=1m").json) == 7
    assert client.get("/api/stocks/ACME/candles?interval=5m").json == [
        {"time": "2024-03-04T09:30:00+00:00", "open": "10.00", "high": "10.20", "low": "9.80",
         "close": "9.80", "volume": 6},
        {"time": "2024-03-04T09:35:00+00:00", "open": "10.50", "high": "10.50", "low": "10.40",
         "close": "10.40", "volume": 9},
        {"time": "2024-03-04T09:40:00+00:00", "open": "11.00", "high": "11.00", "low": "11.00",
         "close": "11.00", "volume": 6},
        {"time": "2024-03-04T10:00:00+00:00", "open": "12.00", "high": "12.00", "low": "12.00",
         "close": "12.00", "volume": 7},
    ]
    assert client.get("/api/stocks/ACME/candles?interval=15m").json == [
        {"time": "2024-03-04T09:30:00+00:00", "open": "10.00", "high": "11.00", "low": "9.80",
         "close": "11.00", "volume": 21},
        {"time": "2024-03-04T10:00:00+00:00", "open": "12.00", "high": "12.00", "low": "12.00",
         "close": "12.00", "volume": 7},
    ]
    assert client.get("/api/stocks/ACME/candles?interval=1h").json == [
        {"time": "2024-03-04T09:00:00+00:00", "open": "10.00", "high": "11.00", "low": "9.80",
         "close": "11.00", "volume": 21},
        {"time": "2024-03-04T10:00:00+00:00", "open": "12.00", "high": "12.00", "low": "12.00",
         "close": "12.00", "volume": 7},
    ]
    assert client.get("/api/stocks/ACME/candles?interval=1d").json == [
        {"time": "2024-03-04T00:00:00+00:00", "open": "10.00", "high": "12.00", "low": "9.80",
         "close": "12.00", "volume": 28},
    ]
    # The last N, oldest first; limit is clamped, never refused.
    last2 = client.get("/api/stocks/ACME/candles?interval=5m&limit=2").json
    assert [c["time"] for c in last2] == ["2024-03-04T09:40:00+00:00", "2024-03-04T10:00:00+00:00"]
    assert [c["time"] for c in client.get("/api/stocks/ACME/candles?interval=5m&limit=0").json] == [
        "2024-03-04T10:00:00+00:00"]
    assert len(client.get("/api/stocks/ACME/candles?interval=5m&limit=999999").json) == 4
    for bad in ["2m", "1M", "minute", "1w"]:
        resp = client.get(f"/api/stocks/ACME/candles?interval={bad}")
        assert resp.status_code == 422 and resp.json["error"]["field"] == "interval", bad
    assert client.get("/api/stocks/ACME/candles?limit=abc").status_code == 422


def test_tape_is_newest_first_and_limit_is_clamped(service_db):
    list_directly(service_db, "ACME", "10.00")
    service_db.runner.deliver(*[trade(seq, f"10.{seq:02d}", seq, T0 + timedelta(seconds=seq))
                                for seq in range(1, 6)])
    client = service_db.client()
    tape = client.get("/api/stocks/ACME/trades").json
    assert [t["seq"] for t in tape] == [5, 4, 3, 2, 1]
    assert tape[0] == {"seq": 5, "symbol": "ACME", "price": "10.05", "qty": 5, "ts": "2024-03-04T09:30:05+00:00"}
    assert [t["seq"] for t in client.get("/api/stocks/ACME/trades?limit=2").json] == [5, 4]
    assert [t["seq"] for t in client.get("/api/stocks/ACME/trades?limit=0").json] == [5]
    assert [t["seq"] for t in client.get("/api/stocks/ACME/trades?limit=-3").json] == [5]
    assert client.get("/api/stocks/ACME/trades?limit=x").status_code == 422
    # Many more trades than the maximum: the tape clamps at 5000 (default 100).
    with service_db.conn.transaction():
        service_db.conn.execute(
            """
            INSERT INTO trades (trade_id, symbol, seq, price, qty, executed_at)
            SELECT 100000 + g, 'ACME', 5 + g, 10.00, 1, %s FROM generate_series(1, 5100) g
            """,
            (T0,),
        )
    assert len(client.get("/api/stocks/ACME/trades").json) == 100
    big = client.get("/api/stocks/ACME/trades?limit=999999").json
    assert len(big) == 5000 and big[0]["seq"] == 5105 and big[-1]["seq"] == 106


# --- market -----------------------------------------------------------------

def test_market_open_halt_close_emit_events_and_repeat_is_a_no_op(service_db):
    client = service_db.client()
    headers = service_db.auth(INSTRUCTOR, "instructor")
    market = client.get("/api/market").json
    assert market["status"] == "closed" and market["changed_at"]
    assert client.get("/healthz").json["market"] == "closed"

    resp = client.post("/api/market/open", headers=headers)
    assert resp.status_code == 200
    assert (resp.json["status"], resp.json["previous"], resp.json["changed"]) == ("open", "closed", True)
    again = client.post("/api/market/open", headers=headers)
    assert again.status_code == 200
    assert (again.json["status"], again.json["changed"]) == ("open", False)
    assert again.json["changed_at"] == resp.json["changed_at"]
    assert client.post("/api/market/halt", headers=headers).json["status"] == "halted"
    assert client.post("/api/market/open", headers=headers).json["status"] == "open"
    assert client.post("/api/market/close", headers=headers).json["status"] == "closed"
    assert client.post("/api/market/close", headers=headers).status_code == 200
    assert outbox(service_db.conn) == [
        ("market.status_changed", {"status": "open", "previous": "closed", "closes_at": None}),
        ("market.status_changed", {"status": "halted", "previous": "open", "closes_at": None}),
        ("market.status_changed", {"status": "open", "previous": "halted", "closes_at": None}),
        ("market.status_changed", {"status": "closed", "previous": "open", "closes_at": None}),
    ]
    assert client.get("/api/market").json["status"] == "closed"
    assert client.get("/healthz").json["market"] == "closed"


def test_only_instructors_change_the_market(service_db):
    client = service_db.client()
    assert client.post("/api/market/open").status_code == 401
    assert client.post("/api/market/open", headers=service_db.auth(TRADER)).status_code == 403
    assert client.post("/api/market/halt", headers=service_db.auth(TRADER)).status_code == 403
    assert client.post("/api/market/bogus", headers=service_db.auth(INSTRUCTOR, "instructor")).status_code == 404
    assert client.get("/api/market").json["status"] == "closed"
    assert outbox(service_db.conn) == []


# --- batches: merging with what is already there, and their cost -------------------

def test_a_batch_merges_with_the_stats_and_candles_already_there(service_db):
    list_directly(service_db, "ACME", "10.00")
    service_db.runner.deliver(
        trade(5, "11.00", 10, T0 + timedelta(seconds=30)),
        trade(7, "12.00", 1, T0 + timedelta(seconds=70)),
    )
    # Late and early seqs in one batch, in no particular order, over the same two minutes and a new one.
    emitted = service_db.runner.deliver(
        trade(8, "12.50", 2, T0 + timedelta(seconds=80)),
        trade(4, "9.50", 3, T0 + timedelta(seconds=20)),
        trade(6, "11.50", 4, T0 + timedelta(seconds=50)),
        trade(3, "10.20", 5, T0 + timedelta(seconds=10)),
        trade(9, "12.10", 6, T0 + timedelta(seconds=130)),
        trade(2, "11.90", 7, T0 + timedelta(seconds=75)),
    )
    assert payloads(emitted, "price.updated") == [{
        "symbol": "ACME", "last_price": "12.10", "open": "11.90", "high": "12.50", "low": "9.50",
        "volume": 38, "change_pct": "21.00", "trade_seq": 9,
    }]
    client = service_db.client()
    assert client.get("/api/stocks/ACME/candles").json == [
        # seqs 3, 4, 5, 6: open is seq 3's price, close seq 6's.
        {"time": "2024-03-04T09:30:00+00:00", "open": "10.20", "high": "11.50", "low": "9.50",
         "close": "11.50", "volume": 22},
        # seqs 2, 7, 8: open seq 2 (applied last), close seq 8.
        {"time": "2024-03-04T09:31:00+00:00", "open": "11.90", "high": "12.50", "low": "11.90",
         "close": "12.50", "volume": 10},
        {"time": "2024-03-04T09:32:00+00:00", "open": "12.10", "high": "12.10", "low": "12.10",
         "close": "12.10", "volume": 6},
    ]
    row = store.get_stock(service_db.conn, "ACME")
    assert (row["last_trade_seq"], row["first_trade_seq"], row["day_open"]) == (9, 2, Decimal("11.90"))
    # An older seq than any applied, alone in its batch, moves open and low, not last.
    emitted = service_db.runner.deliver(trade(1, "9.00", 1, T0 + timedelta(seconds=40)))
    assert payloads(emitted, "price.updated")[0] == {
        "symbol": "ACME", "last_price": "12.10", "open": "9.00", "high": "12.50", "low": "9.00",
        "volume": 39, "change_pct": "21.00", "trade_seq": 9,
    }
    first = client.get("/api/stocks/ACME/candles").json[0]
    assert (first["open"], first["low"], first["close"], first["volume"]) == ("9.00", "9.00", "11.50", 23)


def test_a_batch_skips_repeated_envelopes_and_applies_the_rest(service_db):
    list_directly(service_db, "ACME", "10.00")
    list_directly(service_db, "BETA", "50.00", "Beta Inc")
    runner = service_db.runner
    first = runner.envelope(trade(1, "10.40", 25, T0))
    runner.deliver(first)
    second = runner.envelope(trade(2, "10.60", 5, T0))
    # trade 1 redelivered, trade 2 twice in one batch, and a BETA trade.
    emitted = runner.deliver(first, second, second, trade(1, "51.00", 4, T0, "BETA"))
    assert payloads(emitted, "price.updated") == [
        {"symbol": "ACME", "last_price": "10.60", "open": "10.40", "high": "10.60", "low": "10.40",
         "volume": 30, "change_pct": "6.00", "trade_seq": 2},
        {"symbol": "BETA", "last_price": "51.00", "open": "51.00", "high": "51.00", "low": "51.00",
         "volume": 4, "change_pct": "2.00", "trade_seq": 1},
    ]
    # Nothing new for ACME: no price.updated for it, only for what did change.
    emitted = runner.deliver(second, trade(2, "52.00", 1, T0, "BETA"))
    assert [p["symbol"] for p in payloads(emitted, "price.updated")] == ["BETA"]
    assert count(service_db.conn, "trades") == 4
    assert service_db.client().get("/api/stocks/ACME/candles").json[0]["volume"] == 30


def test_a_batch_parks_trades_for_unlisted_symbols_and_applies_the_rest(service_db):
    list_directly(service_db, "ACME", "10.00")
    emitted = service_db.runner.deliver(
        trade(1, "10.10", 1, T0), trade(1, "20.00", 3, T0, "LATE"), trade(2, "10.20", 2, T0),
        trade(2, "21.00", 1, T0 + timedelta(seconds=61), "LATE"),
    )
    assert [p["symbol"] for p in payloads(emitted, "price.updated")] == ["ACME"]
    assert count(service_db.conn, "parked_events") == 2 and count(service_db.conn, "trades") == 2
    resp = service_db.client().post("/api/stocks", json={"symbol": "LATE", "name": "Late", "reference_price": "20"},
                                    headers=service_db.auth(INSTRUCTOR, "instructor"))
    assert resp.status_code == 201
    assert [p["symbol"] for p in payloads(echo(service_db), "price.updated")] == ["LATE"]
    late = service_db.client().get("/api/stocks/LATE").json
    assert (late["last_price"], late["open"], late["volume"]) == ("21.00", "20.00", 4)
    assert count(service_db.conn, "parked_events") == 0
    assert [c["volume"] for c in service_db.client().get("/api/stocks/LATE/candles").json] == [3, 1]


def test_a_batch_of_trades_costs_a_constant_number_of_statements(service_db, statement_counter):
    symbols = {"ACME": "10.00", "BETA": "50.00", "GAMA": "5.00"}
    for symbol, price in symbols.items():
        list_directly(service_db, symbol, price, f"{symbol} Inc")
    runner = service_db.runner
    service_db.runner.deliver(trade(1, "10.00", 1, T0, "ACME"))
    trades = []
    for n in range(50):
        symbol = list(symbols)[n % 3]
        seq = 2 + n // 3 if n % 7 else 100 - n  # a few seqs out of order
        px = Decimal(symbols[symbol]) + Decimal(n % 11 - 5) / 100
        trades.append(trade(seq, str(px), 1 + n % 4, T0 + timedelta(seconds=7 * n), symbol))
    statement_counter.reset()
    emitted = runner.deliver(*trades)
    big, big_statements = statement_counter.count, list(statement_counter.statements)
    statement_counter.reset()
    runner.deliver(trade(500, "10.01", 1, T0 + timedelta(minutes=10), "ACME"))
    small = statement_counter.count
    assert big <= 12 and small <= 12 and abs(big - small) <= 1, (big, small, big_statements)

    # What the batch did equals the trades' own arithmetic.
    assert [p["symbol"] for p in payloads(emitted, "price.updated")] == ["ACME", "BETA", "GAMA"]
    for p in payloads(emitted, "price.updated"):
        mine = [t for t in trades if t.symbol == p["symbol"]] + ([trade(1, "10.00", 1, T0)] if p["symbol"] == "ACME"
                                                               else [])
        last = max(mine, key=lambda t: t.seq)
        first = min(mine, key=lambda t: t.seq)
        assert p == {
            "symbol": p["symbol"], "last_price": str(last.price), "open": str(first.price),
            "high": str(max(t.price for t in mine)), "low": str(min(t.price for t in mine)),
            "volume": sum(t.qty for t in mine), "change_pct": p["change_pct"], "trade_seq": last.seq,
        }
    candles = service_db.client().get("/api/stocks/BETA/candles").json
    beta = [t for t in trades if t.symbol == "BETA"]
    for c in candles:
        start = datetime.fromisoformat(c["time"])
        inside = [t for t in beta if start <= t.executed_at < start + timedelta(minutes=1)]
        assert c == {
            "time": c["time"], "open": str(min(inside, key=lambda t: t.seq).price),
            "high": str(max(t.price for t in inside)), "low": str(min(t.price for t in inside)),
            "close": str(max(inside, key=lambda t: t.seq).price), "volume": sum(t.qty for t in inside),
        }
    assert sum(c["volume"] for c in candles) == sum(t.qty for t in beta)
    assert count(service_db.conn, "trades") == 52


# --- instructor simulations: delisting, sessions, reset -----------------------


def test_delisting_hides_the_stock_and_listing_again_relists_it(service_db):
    list_directly(service_db, "ACME", "10.00")
    client = service_db.client()
    teacher = {"Authorization": f"Bearer {service_db.token(INSTRUCTOR, 'instructor')}"}
    assert client.delete("/api/stocks/ACME").status_code == 401
    assert client.delete("/api/stocks/ACME", headers=service_db.auth(TRADER)).status_code == 403
    gone = client.delete("/api/stocks/ACME", headers=teacher)
    assert gone.status_code == 200 and gone.json["listed"] is False
    assert client.delete("/api/stocks/ACME", headers=teacher).status_code == 409
    assert client.delete("/api/stocks/NOPE", headers=teacher).status_code == 404
    assert client.get("/api/stocks").json == []
    again = client.post("/api/stocks", json={"symbol": "ACME", "name": "Acme Two", "reference_price": "12.00"},
                        headers=teacher)
    assert again.status_code == 201
    assert (again.json["name"], again.json["reference_price"], again.json["listed"]) == ("Acme Two", "12.00", True)
    assert client.post("/api/stocks", json={"symbol": "ACME", "name": "x", "reference_price": "1"},
                       headers=teacher).status_code == 409
    assert [t for t, _ in outbox(service_db.conn)] == ["stock.listed", "stock.delisted", "stock.listed"]
    assert outbox(service_db.conn)[1][1] == {"symbol": "ACME"}


def test_a_session_sets_closes_at_and_the_worker_closes_the_market_when_it_is_due(service_db):
    client = service_db.client()
    teacher = {"Authorization": f"Bearer {service_db.token(INSTRUCTOR, 'instructor')}"}
    for body, field in (({"session_minutes": 0}, "session_minutes"), ({"session_minutes": 601}, "session_minutes"),
                        ({"session_minutes": "5"}, "session_minutes"), ({"minutes": 5}, "minutes")):
        bad = client.post("/api/market/open", json=body, headers=teacher)
        assert (bad.status_code, bad.json["error"]["field"]) == (422, field), body
    assert client.post("/api/market/halt", json={"session_minutes": 5}, headers=teacher).status_code == 422
    assert outbox(service_db.conn) == []
    resp = client.post("/api/market/open", json={"session_minutes": 90}, headers=teacher)
    assert resp.status_code == 200 and resp.json["status"] == "open"
    closes_at = datetime.fromisoformat(resp.json["closes_at"])
    assert timedelta(minutes=89) < closes_at - datetime.now(UTC) <= timedelta(minutes=90)
    market = client.get("/api/market").json
    assert (market["closes_at"], market["epoch"]) == (resp.json["closes_at"], 1)
    [(kind, payload)] = outbox(service_db.conn)
    assert (kind, payload["status"], payload["closes_at"]) == ("market.status_changed", "open", resp.json["closes_at"])
    from stock_data.handlers import close_when_the_session_ends, handlers

    echo(service_db)  # the worker learns when the session ends
    hook = next(h for h in handlers.periodic_hooks if h.fn is close_when_the_session_ends)
    handlers.state.checked_at = time.monotonic()
    assert hook.when(handlers.state) is False  # not due: the worker does not even ask the database
    with unit_of_work(service_db.conn, SERVICE) as uow:
        close_when_the_session_ends(uow)  # not due yet
    assert len(outbox(service_db.conn)) == 1
    service_db.conn.execute("UPDATE market SET closes_at = now() - interval '1 second'")
    with unit_of_work(service_db.conn, SERVICE) as uow:
        close_when_the_session_ends(uow)
        close_when_the_session_ends(uow)  # once only
    assert outbox(service_db.conn)[1:] == [
        ("market.status_changed", {"status": "closed", "previous": "open", "closes_at": None})]
    # opening without a session clears any close time
    assert client.post("/api/market/open", headers=teacher).json["closes_at"] is None


def test_reset_clears_trades_and_candles_and_reopens_the_market_once(service_db):
    list_directly(service_db, "ACME", "10.00")
    with unit_of_work(service_db.conn, SERVICE) as uow:
        services.change_market(uow, "halted")
    service_db.runner.deliver(trade(1, "10.50", 100, T0), trade(2, "11.00", 5, T0))
    runner = service_db.runner
    reset = runner.envelope(SimulationReset(epoch=2, requested_by=1), epoch=2)
    emitted = runner.deliver(reset)
    assert [(e.type, e.epoch, json.loads(e.to_json())["payload"]) for e in emitted] == [
        ("market.status_changed", 2, {"status": "open", "previous": "halted", "closes_at": None})]
    assert runner.deliver(reset) == []
    assert runner.deliver(runner.envelope(SimulationReset(epoch=2, requested_by=1), epoch=2)) == []
    assert count(service_db.conn, "trades") == 0 and count(service_db.conn, "candles") == 0
    stock = service_db.client().get("/api/stocks/ACME").json
    assert (stock["last_price"], stock["open"], stock["high"], stock["volume"]) == ("10.00", None, None, 0)
    # a trade of the old epoch arriving late is ignored; one of the new epoch moves the price
    assert runner.deliver(runner.envelope(trade(3, "12.00", 1, T0), epoch=1)) == []
    emitted = runner.deliver(runner.envelope(trade(4, "9.00", 1, T0), epoch=2))
    assert payloads(emitted, "price.updated")[0]["last_price"] == "9.00"
