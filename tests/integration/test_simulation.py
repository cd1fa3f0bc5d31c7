"""Instructor simulations on a whole stack: reset (under load, twice, with orders in
flight), settings (commission, limits), bulk class creation, delisting, the session
length, the roster and the CSV exports.

The stack is this module's own: a reset wipes every trade on it."""

from __future__ import annotations

import csv
import io
import random
import threading
import time
from decimal import Decimal

import pytest

from tests.harness import RunningStack, Sandbox, running_stack
from tests.integration.test_gateway import Listener, token_of

pytestmark = pytest.mark.stack

OFF = {"commission_per_share": "0.00", "max_position": None, "max_order_qty": None}


@pytest.fixture(scope="module")
def sim():
    with running_stack("sim") as running:
        yield running


def count(stack: RunningStack, service: str, sql: str) -> int:
    with stack.db(service) as conn:
        return conn.execute(sql).fetchone()["n"]


def put_settings(stack: RunningStack, body: dict) -> dict:
    resp = stack.instructor().session.put(stack.url + "/api/settings", json=body, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_settings_known(stack: RunningStack, commission: str, max_order_qty: int | None) -> None:
    deadline = time.monotonic() + 20
    with stack.db("user_portfolio") as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT commission_per_share, max_order_qty FROM settings").fetchone()
            if row["commission_per_share"] == Decimal(commission) and row["max_order_qty"] == max_order_qty:
                return
            time.sleep(0.05)
    raise AssertionError("user_portfolio never learned the settings")


def reset(stack: RunningStack) -> int:
    resp = stack.instructor().post("/api/simulation/reset")
    assert resp.status_code == 202, resp.text
    return resp.json()["epoch"]


def wait_epoch(stack: RunningStack, epoch: int) -> None:
    """Every service has started `epoch` and the system is quiet."""
    deadline = time.monotonic() + 30
    for service in ("user_portfolio", "stock_data", "stock_ordering", "order_matching"):
        with stack.db(service) as conn:
            while True:
                got = conn.execute("SELECT (value #>> '{}')::int AS e FROM service_state WHERE key = 'epoch'"
                                   ).fetchone()["e"]
                if got >= epoch:
                    break
                assert time.monotonic() < deadline, f"{service} still at epoch {got}"
                time.sleep(0.05)
    stack.wait_quiet()


def assert_starting_state(stack: RunningStack, traders: list, cash: str, sym: str, granted: int) -> None:
    for trader in traders:
        p = trader.portfolio()
        assert (p["cash"], p["reserved_cash"], p["realized_pl"]) == (cash, "0.00", "0.00"), p
        [pos] = [x for x in p["positions"] if x["symbol"] == sym]
        assert (pos["qty"], pos["reserved_qty"], pos["avg_cost"]) == (granted, 0, "10.0000"), pos
        assert trader.get("/api/orders?status=all").json() == []
        kinds = {e["kind"] for e in trader.get(f"/api/portfolios/{trader.user_id}/ledger").json()}
        assert kinds == {"starting_cash", "grant"}
    assert count(stack, "stock_ordering", "SELECT count(*) AS n FROM orders") == 0
    assert count(stack, "order_matching", "SELECT count(*) AS n FROM book_orders") == 0
    assert count(stack, "order_matching", "SELECT count(*) AS n FROM executions") == 0
    assert count(stack, "user_portfolio", "SELECT count(*) AS n FROM reservations") == 0
    assert count(stack, "user_portfolio", "SELECT count(*) AS n FROM trades") == 0
    assert count(stack, "user_portfolio",
                 "SELECT count(*) AS n FROM ledger WHERE kind NOT IN ('grant_cash', 'grant_shares')") == 0
    assert count(stack, "stock_data", "SELECT count(*) AS n FROM trades") == 0
    assert count(stack, "stock_data", "SELECT count(*) AS n FROM candles") == 0
    anon = stack.anonymous()
    stock = anon.get(f"/api/stocks/{sym}").json()
    assert (stock["last_price"], stock["volume"], stock["open"]) == ("10.00", 0, None)
    assert anon.get(f"/api/stocks/{sym}/trades").json() == []
    assert anon.get(f"/api/stocks/{sym}/candles").json() == []
    book = anon.get(f"/api/books/{sym}").json()
    assert (book["bids"], book["asks"]) == ([], [])
    assert anon.get("/api/market").json()["status"] == "open"


def load(traders: list, sym: str, stop: threading.Event, placed: list[int]) -> list[threading.Thread]:
    """Each trader sends batches of crossing limit orders (and some cancels) until stopped."""

    def run(trader, seed: int) -> None:
        rnd = random.Random(seed)
        while not stop.is_set():
            orders = [{"symbol": sym, "side": rnd.choice(("buy", "sell")), "type": "limit",
                       "qty": rnd.randint(1, 3), "limit_price": f"{rnd.choice((9.98, 9.99, 10.00, 10.01, 10.02)):.2f}",
                       "time_in_force": rnd.choice(("day", "gtc"))} for _ in range(40)]
            resp = trader.post("/api/orders/batch", {"orders": orders})
            if resp.status_code != 200:
                continue
            ids = [r["id"] for r in resp.json()["results"] if "id" in r]
            placed.extend(ids)
            for order_id in ids[:3]:
                trader.delete(f"/api/orders/{order_id}")

    threads = [threading.Thread(target=run, args=(t, i), daemon=True) for i, t in enumerate(traders)]
    for thread in threads:
        thread.start()
    return threads


def test_reset_under_load_returns_every_service_to_the_start_and_trading_resumes(sim):
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    traders = [box.trader("5000.00", {sym: 300}) for _ in range(4)]
    stop = threading.Event()
    placed: list[int] = []
    # Matching is paused, so the orders are still in flight when the reset lands,
    # however fast the rest of the pipeline is.
    sim.pause("order_matching-worker")
    try:
        threads = load(traders, sym, stop, placed)
        deadline = time.monotonic() + 60
        while len(placed) < 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(30)
        assert len(placed) >= 200
        in_flight = count(sim, "stock_ordering",
                          "SELECT count(*) AS n FROM orders WHERE status IN ('pending_new', 'new')")
        assert in_flight > 0
        epoch = reset(sim)
    finally:
        sim.resume("order_matching-worker")
    wait_epoch(sim, epoch)

    assert_starting_state(sim, traders, "5000.00", sym, 300)
    assert sim.audit() == []
    assert sim.instructor().get("/api/simulation").json()["epoch"] == epoch
    assert sim.anonymous().get("/api/market").json()["epoch"] == epoch

    # trading resumes: a new trade settles in every service
    buyer, seller = traders[0], traders[1]
    bid = buyer.order(sym, "buy", 5, "10.00")
    buyer.wait_order(bid["id"], "new")
    ask = seller.order(sym, "sell", 5, "10.00")
    assert seller.wait_order(ask["id"], "filled")["filled_avg_price"] == "10.0000"
    sim.wait_quiet()
    assert buyer.portfolio()["cash"] == "4950.00"
    assert [t["price"] for t in sim.anonymous().get(f"/api/stocks/{sym}/trades").json()] == ["10.00"]
    assert sim.audit() == []


def test_orders_placed_while_the_reset_happens_leave_nothing_behind(sim):
    """Orders keep arriving at the door during the reset: whatever survives it is an
    order of the new epoch, carried through every service (nothing stuck pending_new,
    no reservation without an order)."""
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    traders = [box.trader("5000.00", {sym: 300}) for _ in range(3)]
    stop = threading.Event()
    placed: list[int] = []
    threads = load(traders, sym, stop, placed)
    time.sleep(1.5)
    epoch = reset(sim)
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join(30)
    wait_epoch(sim, epoch)
    assert sim.audit() == []
    with sim.db("stock_ordering") as conn:
        survivors = conn.execute("SELECT count(*) AS n FROM orders").fetchone()["n"]
    with sim.db("user_portfolio") as conn:
        answered = conn.execute("SELECT count(*) AS n FROM reservations").fetchone()["n"]
    assert survivors == answered  # each surviving order was answered by the portfolio, no other was
    assert survivors < len(placed)


def test_reset_twice_in_a_row_and_repeated_is_idempotent(sim):
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    buyer, seller = box.trader("1000.00"), box.trader("0.00", {sym: 10})
    bid = buyer.order(sym, "buy", 4, "10.00")
    buyer.wait_order(bid["id"], "new")
    seller.order(sym, "sell", 2, "10.00")
    first = reset(sim)
    second = reset(sim)
    assert second == first + 1
    wait_epoch(sim, second)
    assert buyer.portfolio()["cash"] == "1000.00" and buyer.portfolio()["reserved_cash"] == "0.00"
    assert sim.audit() == []
    anonymous = sim.anonymous()
    assert anonymous.get("/api/simulation").json()["epoch"] == second  # public, as /api/market's epoch
    assert box.trader().post("/api/simulation/reset").status_code == 403
    assert anonymous.post("/api/simulation/reset").status_code == 401


def test_halt_rejects_orders_keeps_cancels_and_nothing_trades_until_open(sim):
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    buyer, seller = box.trader("1000.00"), box.trader("0.00", {sym: 10})
    bid = buyer.order(sym, "buy", 5, "10.00")
    buyer.wait_order(bid["id"], "new")
    assert sim.instructor().post("/api/market/halt").status_code == 200
    sim.wait_quiet()
    refused = seller.post("/api/orders", {"symbol": sym, "side": "sell", "type": "limit", "qty": 5,
                                          "limit_price": "10.00"})
    assert refused.status_code == 409
    assert refused.json()["error"] == {"code": "market_halted",
                                       "message": "the market is halted: new orders are not accepted"}
    assert buyer.delete(f"/api/orders/{bid['id']}").status_code == 202
    assert buyer.wait_order(bid["id"], "canceled")["filled_qty"] == 0
    sim.wait_quiet()
    assert sim.anonymous().get(f"/api/stocks/{sym}/trades").json() == []
    assert sim.instructor().post("/api/market/open").status_code == 200
    sim.wait_quiet()
    bid = buyer.order(sym, "buy", 5, "10.00")
    buyer.wait_order(bid["id"], "new")
    ask = seller.order(sym, "sell", 5, "10.00")
    assert seller.wait_order(ask["id"], "filled")
    assert sim.audit() == []


def test_a_session_closes_the_market_by_itself_and_expires_day_orders(sim):
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    trader = box.trader("1000.00")
    teacher = sim.instructor()
    assert teacher.post("/api/market/open", {"session_minutes": 0}).status_code == 422
    opened = teacher.post("/api/market/open", {"session_minutes": 30})
    assert opened.status_code == 200 and opened.json()["closes_at"] is not None
    assert sim.anonymous().get("/api/market").json()["closes_at"] == opened.json()["closes_at"]
    day = trader.order(sym, "buy", 10, "9.00")
    gtc = trader.order(sym, "buy", 10, "8.00", time_in_force="gtc")
    trader.wait_order(day["id"], "new")
    trader.wait_order(gtc["id"], "new")
    # the session is (made) over: the worker closes the market within a second or two
    with sim.db("stock_data") as conn:
        conn.execute("UPDATE market SET closes_at = now() WHERE id = 1")
    assert trader.wait_order(day["id"], "expired")
    market = sim.anonymous().get("/api/market").json()
    assert (market["status"], market["closes_at"]) == ("closed", None)
    sim.wait_quiet()
    assert trader.get(f"/api/orders/{gtc['id']}").json()["status"] == "new"
    assert trader.portfolio()["reserved_cash"] == "80.00"
    assert teacher.post("/api/market/open").json()["closes_at"] is None
    sim.wait_quiet()
    assert sim.audit() == []


def test_commission_is_charged_to_both_sides_to_the_cent_and_credited_to_the_house(sim):
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    buyer, seller = box.trader("1000.00"), box.trader("100.00", {sym: 10})
    assert sim.instructor().get("/api/settings").json() == OFF
    with sim.db("user_portfolio") as conn:
        house_before = conn.execute("SELECT cash FROM accounts WHERE user_id = 0").fetchone()["cash"]
    put_settings(sim, {"commission_per_share": "0.05"})
    wait_settings_known(sim, "0.05", None)
    try:
        bid = buyer.order(sym, "buy", 10, "10.00")
        buyer.wait_order(bid["id"], "new")
        assert buyer.portfolio()["reserved_cash"] == "100.50"  # price and commission
        ask = seller.order(sym, "sell", 7, "10.00")
        seller.wait_order(ask["id"], "filled")
        sim.wait_quiet()
        # buyer: 1000 - 70 - 0.35 = 929.65, 3 shares still held: 30.15 reserved
        b = buyer.portfolio()
        assert (b["cash"], b["reserved_cash"]) == ("929.65", "30.15")
        assert seller.portfolio()["cash"] == "169.65"  # 100 + 70 - 0.35
        ledger = buyer.get(f"/api/portfolios/{buyer.user_id}/ledger").json()
        assert [(e["kind"], e["amount"], e["symbol"]) for e in ledger[:2]] == [
            ("commission", "-0.35", sym), ("trade", "-70.00", sym)]
        assert ledger[0]["ref"] == ledger[1]["ref"] and ledger[0]["ref"].startswith("trade:")
        with sim.db("user_portfolio") as conn:
            house = conn.execute("SELECT cash FROM accounts WHERE user_id = 0").fetchone()["cash"]
        assert house - house_before == Decimal("0.70")
        assert buyer.delete(f"/api/orders/{bid['id']}").status_code == 202
        buyer.wait_order(bid["id"], "canceled")
        sim.wait_quiet()
        assert buyer.portfolio()["reserved_cash"] == "0.00"
        assert sim.audit() == []
    finally:
        put_settings(sim, {"commission_per_share": "0"})
        wait_settings_known(sim, "0.00", None)


def test_position_and_order_size_limits_reject_naming_the_rule(sim):
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    trader = box.trader("10000.00", {sym: 8})
    put_settings(sim, {"max_order_qty": 5, "max_position": 10})
    wait_settings_known(sim, "0.00", 5)
    try:
        assert sim.anonymous().get("/api/settings").status_code == 401
        assert trader.get("/api/settings").json() == {"commission_per_share": "0.00", "max_position": 10,
                                                      "max_order_qty": 5}
        big = trader.order(sym, "sell", 6, "12.00")
        rejected = trader.wait_order(big["id"], "rejected")
        assert rejected["reject_reason"] == "max_order_qty: the max order size is 5 shares; this order is for 6"
        over = trader.order(sym, "buy", 3, "9.00")
        rejected = trader.wait_order(over["id"], "rejected")
        assert rejected["reject_reason"] == (f"max_position: the max position is 10 shares of {sym}; "
                                             "8 held + 3 bought would be 11")
        fine = trader.order(sym, "buy", 2, "9.00")
        assert trader.wait_order(fine["id"], "new")
        one_more = trader.order(sym, "buy", 1, "9.00")  # open buys count toward the position
        assert trader.wait_order(one_more["id"], "rejected")["reject_reason"] == (
            f"max_position: the max position is 10 shares of {sym}; 8 held + 2 on order + 1 bought would be 11")
        assert trader.post("/api/settings", {}).status_code == 405
        denied = trader.session.put(sim.url + "/api/settings", json={"max_order_qty": None}, timeout=10)
        assert denied.status_code == 403
    finally:
        assert put_settings(sim, {"max_order_qty": None, "max_position": None}) == OFF
        wait_settings_known(sim, "0.00", None)


def test_bulk_class_creation_by_count_and_csv(sim):
    teacher = sim.instructor()
    made = teacher.post("/api/users/bulk", {"count": 3, "prefix": "Pupil", "starting_cash": "2500",
                                            "holdings": {"AAPL": 4}})
    assert made.status_code == 201, made.text
    assert [(u["name"], u["role"]) for u in made.json()] == [("Pupil 1", "trader"), ("Pupil 2", "trader"),
                                                             ("Pupil 3", "trader")]
    more = teacher.post("/api/users/bulk", {"count": 1, "prefix": "Pupil"}).json()
    assert [u["name"] for u in more] == ["Pupil 4"]
    bad = teacher.post("/api/users/bulk", {"csv": "name,starting_cash,AAPL\nZed,100,1\nYan,lots,2\n"})
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "csv" and bad.json()["error"]["message"].startswith("line 3:")
    assert "Zed" not in {u["name"] for u in sim.anonymous().get("/api/users").json()}
    good = teacher.post("/api/users/bulk", {"csv": "name,starting_cash,AAPL\nZed,100,1\nYan,,\n",
                                            "starting_cash": "777"})
    assert good.status_code == 201
    ids = {u["name"]: u["id"] for u in good.json()}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        roster = {r["user_id"]: r for r in teacher.get("/api/portfolios").json()}
        if ids["Yan"] in roster and ids["Zed"] in roster:
            break
        time.sleep(0.1)
    assert roster[ids["Yan"]]["cash"] == "777.00" and roster[ids["Yan"]]["positions"] == []
    zed = roster[ids["Zed"]]
    assert (zed["cash"], zed["positions"][0]["qty"], zed["role"], zed["trades"]) == ("100.00", 1, "trader", 0)
    assert zed["starting_equity"] == "290.00" and zed["return_pct"] == "0.00"  # 100 + 1 AAPL at 190.00
    pupil = sim.login(made.json()[0]["id"])
    assert pupil.post("/api/users/bulk", {"count": 1}).status_code == 403
    assert pupil.get("/api/portfolios").status_code == 403
    assert sim.anonymous().post("/api/users/bulk", {"count": 1}).status_code == 401


def test_delisting_cancels_resting_orders_and_refuses_new_ones_until_listed_again(sim):
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    trader = box.trader("1000.00")
    bid = trader.order(sym, "buy", 5, "9.00")
    trader.wait_order(bid["id"], "new")
    teacher = sim.instructor()
    assert trader.delete(f"/api/stocks/{sym}").status_code == 403
    gone = teacher.delete(f"/api/stocks/{sym}")
    assert gone.status_code == 200 and gone.json()["listed"] is False
    canceled = trader.wait_order(bid["id"], "canceled")
    assert canceled["filled_qty"] == 0
    assert sym not in {s["symbol"] for s in sim.anonymous().get("/api/stocks").json()}
    deadline = time.monotonic() + 20
    while True:
        refused = trader.post("/api/orders", {"symbol": sym, "side": "buy", "type": "limit", "qty": 1,
                                              "limit_price": "9.00"})
        if refused.status_code == 422 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert refused.json()["error"]["code"] == "unknown_symbol"
    assert teacher.delete(f"/api/stocks/{sym}").status_code == 409
    sim.wait_quiet()
    assert trader.portfolio()["reserved_cash"] == "0.00"
    assert teacher.post("/api/stocks", {"symbol": sym, "name": "Back", "reference_price": "11.00"}).status_code == 201
    box._wait_known("stock_ordering", "SELECT 1 FROM known_symbols WHERE symbol = %s", sym)
    again = trader.order(sym, "buy", 1, "9.00")
    assert trader.wait_order(again["id"], "new")
    assert sim.audit() == []


def test_exports_and_roster_for_instructors_only(sim):
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    buyer, seller = box.trader("1000.00"), box.trader("0.00", {sym: 10})
    bid = buyer.order(sym, "buy", 4, "10.00")
    buyer.wait_order(bid["id"], "new")
    ask = seller.order(sym, "sell", 4, "10.00")
    seller.wait_order(ask["id"], "filled")
    sim.wait_quiet()
    teacher = sim.instructor()
    for path in ("leaderboard.csv", "portfolios.csv", "trades.csv", "orders.csv"):
        assert buyer.get(f"/api/exports/{path}").status_code == 403
        assert sim.anonymous().get(f"/api/exports/{path}").status_code == 401
    trades = teacher.get("/api/exports/trades.csv")
    assert trades.status_code == 200 and trades.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(trades.text)))
    assert list(rows[0]) == ["trade_id", "seq", "symbol", "price", "qty", "buyer_id", "seller_id", "buy_order_id",
                             "sell_order_id", "executed_at", "commission_per_side"]
    [mine] = [r for r in rows if r["symbol"] == sym]
    assert (mine["price"], mine["qty"], mine["buyer_id"], mine["seller_id"], mine["buy_order_id"],
            mine["sell_order_id"], mine["commission_per_side"]) == (
        "10.00", "4", str(buyer.user_id), str(seller.user_id), str(bid["id"]), str(ask["id"]), "0.00")
    orders = list(csv.DictReader(io.StringIO(teacher.get("/api/exports/orders.csv").text)))
    [o] = [r for r in orders if r["id"] == str(ask["id"])]
    assert (o["user_id"], o["symbol"], o["side"], o["qty"], o["status"], o["filled_qty"], o["filled_avg_price"]) == (
        str(seller.user_id), sym, "sell", "4", "filled", "4", "10.0000")
    portfolios = list(csv.DictReader(io.StringIO(teacher.get("/api/exports/portfolios.csv").text)))
    [b] = [r for r in portfolios if r["user_id"] == str(buyer.user_id)]
    assert (b["cash"], b["symbol"], b["qty"], b["avg_cost"], b["trades"]) == ("960.00", sym, "4", "10.00", "1")
    board = list(csv.DictReader(io.StringIO(teacher.get("/api/exports/leaderboard.csv").text)))
    [s] = [r for r in board if r["user_id"] == str(seller.user_id)]
    assert (s["equity"], s["cash"], s["trades"], s["role"]) == ("100.00", "40.00", "1", "trader")
    assert teacher.get("/api/leaderboard?include_bots=maybe").status_code == 422


def test_reset_settings_and_leaderboard_are_pushed(sim):
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    buyer, seller = box.trader("1000.00"), box.trader("0.00", {sym: 10})
    watcher = Listener(sim.url, token_of(buyer))
    anon = Listener(sim.url)
    try:
        for name in ("leaderboard", "settings", "reset"):
            for listener in (watcher, anon):
                listener.sio.on(name, listener._recorder(name))
        bid = buyer.order(sym, "buy", 3, "10.00")
        buyer.wait_order(bid["id"], "new")
        seller.order(sym, "sell", 3, "10.00")
        row = watcher.wait_for("leaderboard", lambda rows: any(
            r["user_id"] == seller.user_id and r["cash"] == "30.00" for r in rows))
        assert {r["role"] for r in row} == {"trader"}
        put_settings(sim, {"commission_per_share": "0.02"})
        assert watcher.wait_for("settings")["commission_per_share"] == "0.02"
        assert anon.wait_for("settings")["commission_per_share"] == "0.02"
        put_settings(sim, {"commission_per_share": "0"})
        epoch = reset(sim)
        assert watcher.wait_for("reset") == {"epoch": epoch}
        assert anon.wait_for("reset") == {"epoch": epoch}
        wait_epoch(sim, epoch)
        assert anon.got["leaderboard"] == []  # only authenticated clients get the leaderboard
    finally:
        watcher.close()
        anon.close()


def test_a_service_that_is_down_during_the_reset_catches_up_in_order(sim):
    """user_portfolio's worker is down while orders are placed and the simulation is
    reset: when it comes back it works through the old epoch's events first (its
    queue is in order), then the reset, and ends at the same starting state."""
    box = Sandbox(sim)
    sym = box.symbol("10.00")
    buyer, seller = box.trader("1000.00"), box.trader("0.00", {sym: 10})
    bid = buyer.order(sym, "buy", 5, "10.00")
    buyer.wait_order(bid["id"], "new")
    sim.kill("user_portfolio-worker")
    try:
        seller.order(sym, "sell", 5, "10.00")  # waits in the portfolio's queue
        buyer.order(sym, "buy", 2, "9.00")
        epoch = reset(sim)
        deadline = time.monotonic() + 20
        with sim.db("stock_ordering") as conn:
            while conn.execute("SELECT count(*) AS n FROM orders").fetchone()["n"]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        sim.restart("user_portfolio-worker")
    wait_epoch(sim, epoch)
    for trader, cash in ((buyer, "1000.00"), (seller, "0.00")):
        p = trader.portfolio()
        assert (p["cash"], p["reserved_cash"]) == (cash, "0.00")
    assert [x["qty"] for x in seller.portfolio()["positions"]] == [10]
    assert sim.audit() == []
