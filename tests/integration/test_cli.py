"""The `papertrade` command line tool against a running exchange: every command,
`load` with bad lines, `--dry-run`, and `watch` printing live events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from papertrade_client.cli import cli
from tests.harness import INSTRUCTOR_PASSWORD

pytestmark = pytest.mark.stack


class Cmd:
    """Runs `papertrade ...` in-process with its own config file."""

    def __init__(self, stack, tmp_path: Path) -> None:  # noqa: ANN001
        self.env = {"PAPERTRADE_URL": stack.url, "PAPERTRADE_CLI_CONFIG": str(tmp_path / "cli.json"),
                    "PAPERTRADE_PASSWORD": ""}
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int | None = 0) -> str:
        """`code`: the exit status expected (None: any)."""
        result = self.runner.invoke(cli, list(args), env=self.env, catch_exceptions=False)
        assert code is None or result.exit_code == code, result.output
        return result.output

    def json(self, *args: str, code: int = 0):  # noqa: ANN201
        return json.loads(self("--json", *args, code=code))


def count_orders(stack, symbol: str) -> int:  # noqa: ANN001
    with stack.db("stock_ordering") as conn:
        return conn.execute("SELECT count(*) AS n FROM orders WHERE symbol = %s", (symbol,)).fetchone()["n"]


def test_login_then_every_trading_command(stack, sandbox, tmp_path):
    sym = sandbox.symbol("12.00")
    trader = sandbox.trader("1000.00", {sym: 10})
    run = Cmd(stack, tmp_path)

    assert "not logged in" in run("orders", code=1)
    out = run("login", str(trader.user_id))
    assert f"(user {trader.user_id}, trader)" in out
    saved = json.loads((tmp_path / "cli.json").read_text())
    assert saved["url"] == stack.url and saved["user"]["id"] == trader.user_id and saved["token"]
    assert oct((tmp_path / "cli.json").stat().st_mode & 0o777) == "0o600"

    users = run.json("users")
    assert {"id": trader.user_id, "name": trader.user["name"], "role": "trader"} in [
        {k: u[k] for k in ("id", "name", "role")} for u in users]
    stock = run.json("stocks", sym)
    assert (stock["symbol"], stock["last_price"], stock["volume"]) == (sym, "12.00", 0)
    assert sym in run("stocks") and sym in [s["symbol"] for s in run.json("stocks")]

    placed = run.json("place", sym, "buy", "5", "11.50", "--tif", "gtc", "--wait")
    assert (placed["status"], placed["qty"], placed["limit_price"], placed["time_in_force"]) == (
        "new", 5, "11.50", "gtc")
    table = run("orders", "--status", "open")
    assert str(placed["id"]) in table and "11.50" in table and "new" in table
    assert [o["id"] for o in run.json("orders", "--symbol", sym)] == [placed["id"]]
    one = run.json("order", str(placed["id"]))
    assert [h["status"] for h in one["history"]][-1] == "new"
    assert "11.50" in run("book", sym)
    book = run.json("book", sym)
    assert book["bids"] == [{"price": "11.50", "qty": 5, "orders": 1}]

    p = run.json("portfolio")
    assert (p["cash"], p["reserved_cash"], p["buying_power"]) == ("1000.00", "57.50", "942.50")
    assert "buying power 942.50" in run("portfolio")
    rows = run.json("leaderboard")
    assert any(r["user_id"] == trader.user_id and r["equity"] == "1120.00" for r in rows)
    assert trader.user["name"] in run("leaderboard")

    canceled = run.json("cancel", str(placed["id"]))
    assert [o["status"] for o in canceled] == ["pending_cancel"]
    trader.wait_order(placed["id"], "canceled")
    assert "order_final" in run("cancel", str(placed["id"]), code=1)
    second = run.json("place", sym, "sell", "2", "13.00")
    trader.wait_order(second["id"], "new")
    assert [o["id"] for o in run.json("cancel", "--all", "--symbol", sym)] == [second["id"]]
    trader.wait_order(second["id"], "canceled")
    assert "no open orders" in run("cancel", "--all")
    err = run("place", sym, "buy", "1", "11.005", code=1)
    assert "422 invalid" in err and "limit_price" in err
    assert run("cancel", code=2)  # no ids and no --all

    assert run.json("market")["status"] == "open"
    assert "403 forbidden" in run("market", "halt", code=1)
    run("logout")
    assert "not logged in" in run("portfolio", code=1)


def test_instructor_market_commands(stack, tmp_path):
    run = Cmd(stack, tmp_path)
    assert "401 unauthorized: wrong password" in run("login", "1", "--password", "nope", code=1)
    run("login", str(stack.users["Instructor"]), "--password", INSTRUCTOR_PASSWORD)
    try:
        assert "market halted (was open)" in run("market", "halt")
        assert run.json("market", "status")["status"] == "halted"
        closed = run.json("market", "close")
        assert (closed["status"], closed["previous"]) == ("closed", "halted")
    finally:
        assert "market open (was closed)" in run("market", "open")
    assert run.json("market")["status"] == "open"


def write_orders(path: Path, user_a: int, user_b: int, sym: str) -> None:
    path.write_text(
        "user_id,symbol,side,type,qty,limit_price,time_in_force\n"
        f"{user_a},{sym},buy,limit,2,10.00,gtc\n"          # 2
        f"{user_b},{sym},sell,limit,2,10.00,day\n"         # 3: crosses line 2
        f"{user_a},{sym},buy,limit,2,10.001,day\n"         # 4: off tick (file)
        f"{user_a},{sym},buy,limit,many,10.00,day\n"       # 5: qty (file)
        f"{user_b},NOTLISTD,sell,limit,1,10.00,day\n"      # 6: unknown symbol (server)
        f"{user_a},{sym},buy,limit,1,9.00,gtc\n"           # 7
        f"999999,{sym},buy,limit,1,9.00,day\n"             # 8: no such user (login)
        f"{user_b},{sym},sell,market,1,,ioc\n"             # 9: crosses line 7
        f"{user_a},{sym},buy,limit,1,9.50,\n"              # 10
    )


@pytest.mark.parametrize("batch_size", ["1", "3"])
def test_load_reports_bad_lines_by_number_and_sends_the_rest(stack, sandbox, tmp_path, batch_size):
    sym = sandbox.symbol("10.00")
    a = sandbox.trader("1000.00")
    b = sandbox.trader("0.00", {sym: 10})
    run = Cmd(stack, tmp_path)
    run("login", str(a.user_id))
    path = tmp_path / "orders.csv"
    write_orders(path, a.user_id, b.user_id, sym)

    summary = run.json("load", str(path), "--batch-size", batch_size, "--concurrency", "2")
    assert (summary["lines"], summary["sent"], summary["accepted"]) == (9, 6, 5)
    assert summary["rejected"] == {"file:invalid": 2, "login:not_found": 1, "unknown_symbol": 1}
    assert [(e["line"], e["code"], e["field"]) for e in summary["errors"]] == [
        (4, "file:invalid", "limit_price"), (5, "file:invalid", None), (6, "unknown_symbol", "symbol"),
        (8, "login:not_found", "user_id")]
    assert summary["requests"] == (6 if batch_size == "1" else 2)  # one batch per user
    assert summary["latency_ms"]["p99"] >= summary["latency_ms"]["p50"] > 0 and summary["orders_per_s"] > 0
    assert count_orders(stack, sym) == 5
    # each user's lines went in file order, each order by its own user
    mine = sorted(a.get(f"/api/orders?symbol={sym}").json(), key=lambda o: o["id"])
    assert [(o["qty"], o["limit_price"]) for o in mine] == [(2, "10.00"), (1, "9.00"), (1, "9.50")]
    theirs = b.get(f"/api/orders?symbol={sym}").json()
    assert sorted(o["type"] for o in theirs) == ["limit", "market"]
    assert a.wait_order(mine[0]["id"], "filled")["filled_avg_price"] == "10.0000"

    table = run("load", str(path), "--batch-size", batch_size)  # the same file again: new orders
    assert "accepted" in table and "unknown_symbol" in table and "line 4: file:invalid" in table
    assert "latency p95" in table and "orders/s" in table
    assert count_orders(stack, sym) == 10


def test_load_dry_run_sends_nothing_and_json_lines_work(stack, sandbox, tmp_path):
    sym = sandbox.symbol("10.00")
    a = sandbox.trader("1000.00")
    run = Cmd(stack, tmp_path)
    run("login", str(a.user_id))
    path = tmp_path / "orders.jsonl"
    path.write_text(
        json.dumps({"symbol": sym, "side": "buy", "type": "limit", "qty": 1, "limit_price": "9.00"}) + "\n"
        + "{broken\n"
        + json.dumps({"symbol": sym, "side": "buy", "qty": 1, "limit_price": 9.1}) + "\n"
    )
    before = count_orders(stack, sym)
    dry = run.json("load", str(path), "--dry-run", code=1)
    assert (dry["lines"], dry["valid"], dry["invalid"]) == (3, 2, 1)
    assert [(e["line"], e["code"]) for e in dry["errors"]] == [(2, "file:unreadable")]
    assert "3 orders, 2 valid, 1 invalid; nothing sent" in run("load", str(path), "--dry-run", code=1)
    assert count_orders(stack, sym) == before == 0

    summary = run.json("load", str(path))  # no user_id: the logged-in user places them
    assert (summary["accepted"], summary["rejected"]) == (2, {"file:unreadable": 1})
    prices = sorted(Decimal(o["limit_price"]) for o in a.get(f"/api/orders?symbol={sym}").json())
    assert prices == [Decimal("9.00"), Decimal("9.10")]


def test_load_as_instructor_places_for_each_user_without_logging_them_in(stack, sandbox, tmp_path):
    sym = sandbox.symbol("10.00")
    a = sandbox.trader("1000.00")
    b = sandbox.trader("1000.00")
    run = Cmd(stack, tmp_path)
    path = tmp_path / "orders.csv"
    path.write_text(f"user_id,symbol,side,qty,limit_price\n{a.user_id},{sym},buy,1,9.00\n"
                    f"{b.user_id},{sym},buy,2,8.00\n")
    run("login", str(a.user_id))
    assert "needs an instructor login" in run("load", str(path), "--as-instructor", code=1)
    run("login", str(stack.users["Instructor"]), "--password", INSTRUCTOR_PASSWORD)
    summary = run.json("load", str(path), "--as-instructor", "--batch-size", "10")
    assert summary["accepted"] == 2 and summary["requests"] == 2
    assert [o["qty"] for o in a.get(f"/api/orders?symbol={sym}").json()] == [1]
    assert [o["qty"] for o in b.get(f"/api/orders?symbol={sym}").json()] == [2]


def test_gen_orders_writes_a_file_that_loads(stack, sandbox, tmp_path):
    sym = sandbox.symbol("25.00")
    a = sandbox.trader("10000.00", {sym: 100})
    b = sandbox.trader("10000.00", {sym: 100})
    run = Cmd(stack, tmp_path)
    out = tmp_path / "gen.csv"
    assert "wrote 40 orders" in run("gen-orders", str(out), "-n", "40", "--users", f"{a.user_id},{b.user_id}",
                                    "--symbols", sym)
    assert len(out.read_text().splitlines()) == 41
    assert "not listed: NOPE" in run("gen-orders", str(out), "--symbols", "NOPE", code=1)
    run("login", str(a.user_id))
    summary = run.json("load", str(out), "--batch-size", "20")
    assert (summary["accepted"], summary["rejected"]) == (40, {})
    assert count_orders(stack, sym) == 40
    stack.wait_quiet()
    assert stack.audit() == []

    # --new-traders: fresh traders with the cash and shares a big load needs (instructor only)
    assert "403 forbidden" in run("gen-orders", str(out), "-n", "4", "--symbols", sym, "--new-traders", "2",
                                  code=1)
    run("login", str(stack.users["Instructor"]), "--password", INSTRUCTOR_PASSWORD)
    assert "wrote 4 orders" in run("gen-orders", str(out), "-n", "4", "--symbols", sym, "--new-traders", "2",
                                   "--cash", "5000.00", "--shares", "30")
    new_ids = {int(line.split(",")[0]) for line in out.read_text().splitlines()[1:]}
    users = {u["id"]: u for u in run.json("users")}
    assert len(new_ids) == 2 and all(users[i]["name"].startswith("load-") for i in new_ids)
    sandbox._wait_known("user_portfolio", "SELECT 1 FROM accounts WHERE user_id = %s", max(new_ids))
    p = stack.instructor().portfolio(max(new_ids))
    assert p["cash"] == "5000.00" and p["positions"][0]["qty"] == 30


def test_watch_prints_live_events_for_the_user_and_symbol(stack, sandbox, tmp_path):
    sym = sandbox.symbol("12.00")
    trader = sandbox.trader("1000.00")
    seller = sandbox.trader("0.00", {sym: 5})
    run = Cmd(stack, tmp_path)
    run("login", str(trader.user_id))
    env = {**os.environ, **run.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "papertrade_client.cli", "watch", "--symbol", sym, "--seconds", "30", "--count", "6"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert "watching" in proc.stderr.readline()
        time.sleep(0.3)  # the subscription is in place once the banner is printed; a margin for the gateway
        order = trader.order(sym, "buy", 3, "12.00")
        seller.order(sym, "sell", 3, "12.00")
        out, err = proc.communicate(timeout=40)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 6
    assert any(f"order {order['id']} {sym} buy 3 limit 12.00 ->" in line for line in lines), out
    assert any(f"trade {sym} 3 @ 12.00" in line for line in lines) or any(
        f"book {sym}" in line for line in lines), out
