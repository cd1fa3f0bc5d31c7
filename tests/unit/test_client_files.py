"""The client's pure parts: order files read by line, order checks, typed records,
the order file generator."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from papertrade_client import Order, OrderRequest, Portfolio
from papertrade_client.gen import generate, write
from papertrade_client.load import read_orders
from papertrade_client.types import parse, to_json


def test_csv_lines_are_checked_and_bad_ones_reported_by_line_number(tmp_path: Path):
    path = tmp_path / "orders.csv"
    path.write_text(
        "user_id,symbol,side,type,qty,limit_price,time_in_force\n"
        "2,AAPL,buy,limit,10,189.50,day\n"
        "\n"
        "3,AAPL,sell,market,5,,\n"
        "2,AAPL,buy,limit,10,189.505,day\n"      # line 5: off tick
        "2,AAPL,hold,limit,10,1.00,day\n"        # line 6: side
        "2,AAPL,buy,limit,ten,1.00,day\n"        # line 7: qty
        "2,AAPL,buy,market,1,5.00,day\n"         # line 8: market with a price
        "2,AAPL,buy,limit,1,1.00,day,extra\n"    # line 9: too many cells
        "4,MSFT,buy,,3,420.10,gtc\n"             # line 10: type from the price
    )
    good, bad = read_orders(path)
    assert [line.number for line in good] == [2, 4, 10]
    assert good[0].request == OrderRequest("AAPL", "buy", 10, Decimal("189.50"), "limit", "day", None, 2)
    assert good[1].request.order_type == "market" and good[1].request.limit_price is None
    assert good[2].request.order_type == "limit" and good[2].request.time_in_force == "gtc"
    assert [(e.number, e.field) for e in bad] == [
        (5, "limit_price"), (6, "side"), (7, None), (8, "limit_price"), (9, None)]
    assert "qty must be a whole number" in bad[2].message
    assert bad[4].code == "unreadable"


def test_json_lines_keep_exact_decimals_and_report_bad_lines(tmp_path: Path):
    path = tmp_path / "orders.jsonl"
    path.write_text(
        '{"user_id": 2, "symbol": "AAPL", "side": "buy", "type": "limit", "qty": 1, "limit_price": 0.1}\n'
        'not json\n'
        '[1, 2]\n'
        '{"symbol": "AAPL", "side": "sell", "qty": 2.5}\n'
        '{"symbol": "AAPL", "side": "sell", "qty": 2, "colour": "red"}\n'
        '{"symbol": "TOOLONGSYM", "side": "sell", "qty": 2}\n'
    )
    good, bad = read_orders(path)
    assert [line.number for line in good] == [1]
    assert good[0].request.limit_price == Decimal("0.1")
    assert [(e.number, e.code) for e in bad] == [(2, "unreadable"), (3, "unreadable"), (4, "invalid"),
                                                 (5, "invalid"), (6, "invalid")]
    assert "unknown field 'colour'" in bad[3].message and bad[4].field == "symbol"


def test_an_order_request_gets_a_client_order_id_once_and_keeps_a_given_one():
    req = OrderRequest("AAPL", "buy", 1, Decimal("10.00"))
    with_id = req.with_client_order_id()
    assert len(with_id.client_order_id) == 32 and with_id.with_client_order_id() is with_id
    assert with_id.to_json() == {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 1,
                                 "limit_price": "10.00", "client_order_id": with_id.client_order_id}
    assert OrderRequest("AAPL", "buy", 1, client_order_id="x" * 49).problems() == [
        ("client_order_id", "client_order_id must be 1 to 48 printable characters")]


def test_records_parse_money_as_decimal_and_keep_unknown_fields():
    order = parse(Order, {
        "id": 7, "client_order_id": "a", "user_id": 2, "symbol": "AAPL", "side": "buy", "type": "limit",
        "qty": 10, "limit_price": "189.50", "time_in_force": "day", "status": "filled", "filled_qty": 10,
        "filled_avg_price": "189.5000", "reject_reason": None, "created_at": "2026-11-22T08:00:00+00:00",
        "updated_at": "2026-11-22T08:00:01+00:00", "venue": "papertrade",
    })
    assert order.limit_price == Decimal("189.50") and order.filled_avg_price == Decimal("189.5000")
    assert order.created_at == datetime.fromisoformat("2026-11-22T08:00:00+00:00")
    assert order.extra == {"venue": "papertrade"} and not order.is_open
    assert to_json(order)["filled_avg_price"] == "189.5000" and to_json(order)["venue"] == "papertrade"
    p = parse(Portfolio, {"user_id": 2, "cash": "10.00", "reserved_cash": "1.00", "buying_power": "9.00",
                          "equity": "10.00", "realized_pl": "0.00", "unrealized_pl": "0.00",
                          "positions": [{"symbol": "AAPL", "qty": 1, "reserved_qty": 0, "avg_cost": "1.0000",
                                         "last_price": "1.00", "market_value": "1.00", "unrealized_pl": "0.00"}]})
    assert p.position("AAPL").avg_cost == Decimal("1.0000") and p.name is None


def test_generated_orders_pair_up_at_one_price_between_different_users():
    rows = generate(10, [2, 3, 4], {"AAPL": Decimal("100.00"), "MSFT": Decimal("400.00")}, seed=3)
    assert len(rows) == 10 and rows == generate(10, [2, 3, 4], {"AAPL": Decimal("100.00"),
                                                               "MSFT": Decimal("400.00")}, seed=3)
    for sell, buy in zip(rows[::2], rows[1::2], strict=True):
        assert (sell["side"], buy["side"]) == ("sell", "buy")
        assert sell["limit_price"] == buy["limit_price"] and sell["symbol"] == buy["symbol"]
        assert sell["user_id"] != buy["user_id"]
        ref = Decimal("100.00") if sell["symbol"] == "AAPL" else Decimal("400.00")
        assert abs(Decimal(sell["limit_price"]) - ref) <= ref * Decimal("0.01")
    # the price walks a tick at a time per symbol
    walk = [Decimal(r["limit_price"]) for r in generate(400, [2, 3], {"AAPL": Decimal("1.00")}, seed=5)[::2]]
    assert all(abs(b - a) <= Decimal("0.01") for a, b in zip(walk, walk[1:], strict=False))
    assert min(walk) >= Decimal("0.99") and max(walk) <= Decimal("1.01") and len(set(walk)) == 3
    out = io.StringIO()
    write(rows[:1], out, "csv")
    assert out.getvalue().splitlines()[0] == "user_id,symbol,side,type,qty,limit_price,time_in_force"
