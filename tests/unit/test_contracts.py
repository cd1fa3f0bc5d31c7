"""The event catalog (service_runtime.contracts, service_runtime.catalog): every event
survives the wire unchanged, money travels as strings, symbol-scoped events carry a
stable partition suffix, ids are time-ordered, and every event has a real producer
and at least one consumer in the handler tables."""

from __future__ import annotations

import dataclasses
import json
import typing
import uuid
import zlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from service_runtime import catalog, contracts
from service_runtime.catalog import GATEWAY
from service_runtime.config import SERVICES
from service_runtime.contracts import (
    PARTITIONS,
    REGISTRY,
    Envelope,
    OrderPlaced,
    PriceUpdated,
    StockListed,
    TradeExecuted,
    UnknownEvent,
    UserCreated,
    partition_of,
)

WHEN = datetime(2024, 6, 3, 14, 30, 15, 250000, tzinfo=UTC)
SYMBOL_NAMES = {"symbol"}


def _sample(name: str, hint: typing.Any) -> typing.Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if args and type(None) in args:  # X | None -> a value of X
        inner = [a for a in args if a is not type(None)]
        return _sample(name, inner[0])
    if hint is Decimal:
        return Decimal("12.34")
    if hint is bool:
        return True
    if hint is int:
        return 7
    if hint is str:
        return "AAPL" if name in SYMBOL_NAMES else "x"
    if hint is datetime:
        return WHEN
    if hint is dict or origin is dict:
        if args == (str, int):
            return {"AAPL": 5, "MSFT": 2}
        return {"k": "v", "n": 3, "nested": {"ok": True}}
    if origin is list:
        return [_sample(name, args[0]), _sample(name, args[0])]
    if dataclasses.is_dataclass(hint):
        return sample_event(hint)
    raise AssertionError(f"no sample for {name}: {hint!r}")


def sample_event(cls):
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: _sample(f.name, hints[f.name]) for f in dataclasses.fields(cls)})


EVENT_CLASSES = sorted(REGISTRY.values(), key=lambda c: c.TYPE)
IDS = [c.TYPE for c in EVENT_CLASSES]


def test_registry_is_the_catalog():
    assert {
        "user.created",
        "user.updated",
        "simulation.reset",
        "stock.listed",
        "market.status_changed",
        "price.updated",
        "order.placed",
        "order.cancel_requested",
        "order.approved",
        "order.rejected",
        "order.booked",
        "trade.executed",
        "order.canceled",
        "order.expired",
        "book.updated",
        "portfolio.updated",
    } <= set(REGISTRY)  # new events may be added; the starting catalog must stay
    for type_, cls in REGISTRY.items():
        assert type_ == cls.TYPE
        assert dataclasses.is_dataclass(cls)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=IDS)
def test_roundtrip_through_json(cls):
    evt = sample_event(cls)
    env = contracts.wrap(evt, producer=cls.PRODUCERS[0], epoch=3)
    assert isinstance(env, Envelope)
    assert (env.type, env.version, env.producer, env.epoch) == (cls.TYPE, cls.VERSION, cls.PRODUCERS[0], 3)
    assert isinstance(env.id, uuid.UUID)
    assert env.occurred_at.tzinfo is not None

    text = env.to_json()
    back = contracts.parse(text)
    assert back.id == env.id
    assert back.type == cls.TYPE
    assert back.version == cls.VERSION
    assert back.producer == cls.PRODUCERS[0]
    assert back.epoch == 3
    assert back.occurred_at == env.occurred_at
    assert type(back.event) is cls
    assert back.event == evt
    assert back.event.to_payload() == evt.to_payload()
    # the same through bytes, as a message body arrives
    assert contracts.parse(text.encode()).event == evt


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=IDS)
def test_money_travels_as_strings(cls):
    evt = sample_event(cls)
    raw = json.loads(contracts.wrap(evt, cls.PRODUCERS[0], 1).to_json())
    hints = typing.get_type_hints(cls)
    assert set(raw) == {"id", "type", "version", "occurred_at", "producer", "epoch", "payload"}
    assert set(raw["payload"]) == {f.name for f in dataclasses.fields(cls)}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if typing.get_origin(hint) is list:
            item = raw["payload"][f.name][0]
            assert all(item[k] == "12.34" for k, h in typing.get_type_hints(typing.get_args(hint)[0]).items()
                       if h is Decimal), f.name
        if Decimal in (set(typing.get_args(hint)) | {hint}):
            assert raw["payload"][f.name] == "12.34", f.name
        if hint is int:
            assert raw["payload"][f.name] == 7, f.name
        if datetime in (set(typing.get_args(hint)) | {hint}):
            assert raw["payload"][f.name] == "2024-06-03T14:30:15.250000+00:00", f.name


def test_optional_money_travels_as_null():
    evt = OrderPlaced(1, 2, "AAPL", "buy", "market", 10, None, "ioc")
    text = contracts.wrap(evt, "stock_ordering", 1).to_json()
    assert '"limit_price":null' in text
    assert contracts.parse(text).event == evt


def test_trade_executed_exact_wire_text():
    evt = TradeExecuted(
        trade_id=9, seq=4, symbol="AAPL", price=Decimal("150.10"), qty=25, buy_order_id=1, sell_order_id=2,
        buyer_id=10, seller_id=11, taker_side="buy", buy_filled_qty=25, sell_filled_qty=30, buy_remaining=0,
        sell_remaining=70, executed_at=WHEN,
    )
    env = contracts.wrap(evt, "order_matching", 2, occurred_at=WHEN)
    text = env.to_json()
    assert '"price":"150.10"' in text
    assert '"occurred_at":"2024-06-03T14:30:15.250000+00:00"' in text
    back = contracts.parse(text).event
    assert back.price == Decimal("150.10")
    assert str(back.price) == "150.10"
    assert back.executed_at == WHEN


def test_non_utc_times_keep_their_instant():
    local = datetime(2024, 1, 2, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    env = contracts.wrap(StockListed("MSFT", "Microsoft", Decimal("400.00")), "stock_data", 1, occurred_at=local)
    back = contracts.parse(env.to_json())
    assert back.occurred_at == local
    assert back.occurred_at.utcoffset() == timedelta(hours=-5)


def test_user_created_holdings_default_and_roundtrip():
    evt = UserCreated(5, "Ann", "trader", Decimal("100000.00"))
    assert evt.holdings == {}
    back = contracts.parse(contracts.wrap(evt, "user_accounts", 1).to_json()).event
    assert back == evt
    assert str(back.starting_cash) == "100000.00"


# ---------------------------------------------------------------------------
# routing keys and partitions
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=IDS)
def test_routing_key_partition_suffix(cls):
    evt = sample_event(cls)
    has_symbol = "symbol" in {f.name for f in dataclasses.fields(cls)}
    if has_symbol:
        expected = f"{cls.TYPE}.p{zlib.crc32(b'AAPL') % PARTITIONS:02d}"
        assert evt.routing_key() == expected
        assert evt.routing_key().startswith(cls.TYPE + ".p")
        assert len(evt.routing_key()) == len(cls.TYPE) + 4
    else:
        assert evt.routing_key() == cls.TYPE


def test_routing_key_concrete_values():
    assert PARTITIONS == 16
    assert partition_of("AAPL") == 12
    assert partition_of("MSFT") == 11
    assert partition_of("TSLA") == 15
    assert StockListed("AAPL", "Apple", Decimal("1.00")).routing_key() == "stock.listed.p12"
    assert StockListed("TSLA", "Tesla", Decimal("1.00")).routing_key() == "stock.listed.p15"
    price = PriceUpdated("MSFT", Decimal("1"), Decimal("1"), Decimal("1"), Decimal("1"), 0, Decimal("0"), 0)
    assert price.routing_key() == "price.updated.p11"


def test_same_symbol_same_partition_across_event_types():
    suffixes = set()
    for cls in EVENT_CLASSES:
        if "symbol" in {f.name for f in dataclasses.fields(cls)}:
            key = sample_event(cls).routing_key()
            suffixes.add(key.rsplit(".", 1)[1])
    assert suffixes == {f"p{partition_of('AAPL'):02d}"}


def test_partition_of_range_and_stability():
    symbols = [f"S{i}" for i in range(500)] + ["A", "AAPL", "ZZZZZZZZ", "12345678"]
    seen = set()
    for symbol in symbols:
        p = partition_of(symbol)
        assert p in range(PARTITIONS)
        assert partition_of(symbol) == p
        seen.add(p)
    assert seen == set(range(PARTITIONS))  # 500 symbols reach every partition


# ---------------------------------------------------------------------------
# parse refuses what it cannot decode
# ---------------------------------------------------------------------------


def _body(**changes):
    body = {
        "id": str(uuid.uuid4()),
        "type": "stock.listed",
        "version": 1,
        "occurred_at": WHEN.isoformat(),
        "producer": "stock_data",
        "epoch": 1,
        "payload": {"symbol": "AAPL", "name": "Apple", "reference_price": "150.00"},
    }
    body.update(changes)
    return json.dumps(body)


def test_parse_plain_body():
    env = contracts.parse(_body())
    assert env.event == StockListed("AAPL", "Apple", Decimal("150.00"))


def test_parse_refuses_unknown_type():
    with pytest.raises(UnknownEvent):
        contracts.parse(_body(type="stock.renamed"))
    no_type = json.loads(_body())
    del no_type["type"]
    with pytest.raises(UnknownEvent):
        contracts.parse(json.dumps(no_type))
    assert issubclass(UnknownEvent, ValueError)


@pytest.mark.parametrize("body", ["[]", "[1, 2]", '"stock.listed"', "42", "null", b"[]"])
def test_parse_refuses_non_objects(body):
    with pytest.raises(ValueError) as info:
        contracts.parse(body)
    assert not isinstance(info.value, UnknownEvent)


# ---------------------------------------------------------------------------
# ids
# ---------------------------------------------------------------------------


def test_event_ids_are_time_ordered_uuid7():
    before = datetime.now(UTC)
    ids = [contracts.wrap(StockListed("AAPL", "Apple", Decimal("1.00")), "stock_data", 1).id for _ in range(2000)]
    after = datetime.now(UTC)
    assert ids == sorted(ids)  # one process's ids never go back: the inbox index grows at its end
    assert len(set(ids)) == len(ids)
    assert {i.version for i in ids} == {7}
    made = contracts.event_time(ids[0])
    assert made is not None and before - timedelta(milliseconds=1) <= made <= after
    assert contracts.event_time(uuid.uuid4()) is None


# ---------------------------------------------------------------------------
# producers, consumers, catalog
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=IDS)
def test_producer_and_consumers_declared(cls):
    assert set(cls.PRODUCERS) <= set(SERVICES)
    consumers = catalog.consumers_of(cls)
    assert len(consumers) >= 1, f"nobody handles {cls.TYPE}"
    assert len(set(consumers)) == len(consumers)
    if cls.NOTICE:  # snapshots for screens: never a service's durable queue
        assert consumers == [GATEWAY]


def test_order_matching_consumes_what_it_handles():
    assert {cls.TYPE for cls in catalog.consumed_by_services()["order_matching"]} == {
        "simulation.reset",
        "stock.listed",
        "stock.delisted",
        "market.status_changed",
        "order.approved",
        "order.cancel_requested",
    }
    assert catalog.consumed_by_services()["user_accounts"] == []


def test_catalog_markdown_one_row_per_event():
    md = catalog.catalog_markdown()
    lines = md.splitlines()
    assert lines[0] == "| event | kind | producer | payload | consumers |"
    assert lines[1] == "|---|---|---|---|---|"
    rows = lines[2:2 + len(REGISTRY)]
    types = [row.split("|")[1].strip().strip("`") for row in rows]
    assert sorted(types) == sorted(REGISTRY)
    assert len(set(types)) == len(types)
    listed = next(row for row in rows if row.startswith("| `stock.listed` |"))
    assert listed == (
        "| `stock.listed` | domain | stock_data | `symbol`: str, `name`: str, `reference_price`: decimal string "
        "| user_portfolio, stock_data, stock_ordering, order_matching, socket_gateway |"
    )
    placed = next(row for row in rows if row.startswith("| `order.placed` |"))
    assert "`limit_price`: decimal string or null" in placed
    rejected = next(row for row in rows if row.startswith("| `order.rejected` |"))
    assert rejected.split("|")[3].strip() == "user_portfolio, order_matching"
    book = next(row for row in rows if row.startswith("| `book.updated` |"))
    assert book.split("|")[2].strip() == "notice" and "`bids`: list of BookLevel" in book
    assert "| `BookLevel` | `price`: decimal string, `qty`: int, `orders`: int |" in md
