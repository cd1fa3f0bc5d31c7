"""The instructor's dashboard in a real browser (Debian's Chromium driven by
Playwright): log in with the password (a wrong one shows the server's error),
create traders in bulk, halt and reopen the market while a trader's screen in
another browser context follows live, set a commission and watch the
leaderboard change after a trade between two of the new traders, drill into a
trader, export a CSV, reset (the roster is back at its start) and, when the
house bots are there, start and stop them. Screenshots of each step are kept in
tests/artifacts/screenshots/ (dash-*.png).

The test resets the simulation, so it runs on an exchange of its own rather than
the shared one."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.test_browser import Screen, browser  # noqa: F401 - the browser fixture is used by name
from tests.harness import INSTRUCTOR_PASSWORD, RunningStack, Sandbox, running_stack

pytestmark = pytest.mark.stack

WAIT = 20000  # ms: a push through RabbitMQ and the gateway, with room for a loaded machine
UNAUTHORIZED = "status of 401"  # Chromium's console line for the refused password (expected once)
CONFLICT = "status of 409"  # ... and for the CSV naming a taken user (expected once)


@pytest.fixture(scope="module")
def own_stack() -> Iterator[RunningStack]:
    with running_stack("dashboard") as running:
        yield running


def instructor_screen(browser, stack: RunningStack, name: str = "instructor") -> Screen:  # noqa: ANN001, F811
    screen = Screen(browser, stack.url, name)
    screen.tid("account-switcher").select_option(str(stack.users["Instructor"]))
    screen.tid("instructor-password").fill(INSTRUCTOR_PASSWORD)
    screen.tid("instructor-login").click()
    expect(screen.tid("dashboard")).to_be_visible(timeout=WAIT)
    return screen


def users_named(stack: RunningStack, prefix: str) -> dict[str, int]:
    users = stack.anonymous().get("/api/users").json()
    return {u["name"]: u["id"] for u in users if u["name"].startswith(prefix + " ")}


def test_a_wrong_instructor_password_shows_the_servers_error(own_stack, browser):  # noqa: F811
    screen = Screen(browser, own_stack.url, "instructor")
    try:
        expect(screen.tid("market-status")).to_be_visible(timeout=WAIT)
        screen.tid("account-switcher").select_option(str(own_stack.users["Instructor"]))
        screen.tid("instructor-password").fill("not-the-password")
        screen.tid("instructor-login").click()
        expect(screen.tid("login-error")).to_have_text("login failed: wrong password", timeout=WAIT)
        # still not the instructor: no dashboard, the prompt stays for another try
        expect(screen.tid("dashboard")).to_have_count(0)
        expect(screen.tid("instructor-password")).to_be_visible()
        screen.shot("dash-00-wrong-password")
        screen.tid("instructor-password").fill(INSTRUCTOR_PASSWORD)
        screen.tid("instructor-login").click()
        expect(screen.tid("dashboard")).to_be_visible(timeout=WAIT)
        expect(screen.tid("login-error")).to_have_count(0)
        assert [e for e in screen.errors if UNAUTHORIZED not in e] == []
        assert len(screen.errors) == 1, screen.errors
    finally:
        screen.close()


def test_the_instructor_runs_a_class_session_from_the_dashboard(own_stack, browser):  # noqa: F811
    stack = own_stack
    box = Sandbox(stack)
    sym = box.symbol("50.00")
    prefix = "Class" + uuid.uuid4().hex[:5]
    dash = instructor_screen(browser, stack, "instructor")
    trader: Screen | None = None
    try:
        dash.shot("dash-01-logged-in")

        # ---- class setup: three traders with $5000 and 20 shares each
        dash.tid("setup-tab-traders").click()
        dash.tid("bulk-mode-count").click()
        dash.tid("bulk-count").fill("3")
        dash.tid("bulk-prefix").fill(prefix)
        dash.tid("bulk-cash").fill("5000")
        dash.tid("bulk-holdings").fill(f"{sym}=20")
        dash.tid("bulk-submit").click()
        expect(dash.tid("bulk-status")).to_contain_text("created 3 traders", timeout=WAIT)
        ids = users_named(stack, prefix)
        assert sorted(ids) == [f"{prefix} 1", f"{prefix} 2", f"{prefix} 3"], ids
        a, b, c = ids[f"{prefix} 1"], ids[f"{prefix} 2"], ids[f"{prefix} 3"]
        for uid in (a, b, c):
            expect(dash.tid(f"roster-cash-{uid}")).to_have_text("5000.00", timeout=WAIT)
            expect(dash.tid(f"roster-equity-{uid}")).to_have_text("6000.00", timeout=WAIT)
            expect(dash.tid(f"roster-positions-{uid}")).to_have_text(f"{sym} 20")
            expect(dash.tid(f"roster-trades-{uid}")).to_have_text("0")
        dash.shot("dash-02-traders-created")

        # ---- market control: a trader's screen in another context follows live
        trader = Screen(browser, stack.url, "trader")
        trader.login_as(a)
        expect(trader.tid("market-status")).to_have_text("open", timeout=WAIT)
        dash.tid("market-halt").click()
        expect(trader.tid("market-banner")).to_contain_text("Market halted", timeout=WAIT)
        expect(trader.tid("market-status")).to_have_text("halted")
        expect(dash.tid("dash-market-status")).to_have_text("halted", timeout=WAIT)
        trader.shot("dash-03-halted")
        dash.shot("dash-03-halted")
        dash.tid("session-minutes").fill("30")
        dash.tid("market-open").click()
        expect(trader.tid("market-banner")).to_have_count(0, timeout=WAIT)
        expect(trader.tid("market-status")).to_have_text("open")
        # the session's countdown shows on both screens: 30 minutes, counting down
        expect(trader.tid("market-countdown")).to_have_text(re.compile(r"closes in (30:00|29:[0-5]\d)"), timeout=WAIT)
        expect(dash.tid("dash-countdown")).to_have_text(re.compile(r"closes in (30:00|29:[0-5]\d)"), timeout=WAIT)
        trader.shot("dash-04-reopened")
        dash.shot("dash-04-reopened")

        # ---- settings: a commission of 0.05 per share, charged to both sides
        dash.tid("setup-tab-settings").click()
        dash.tid("settings-commission").fill("0.05")
        dash.tid("settings-save").click()
        expect(dash.tid("settings-status")).to_have_text("saved", timeout=WAIT)
        expect(dash.tid("settings-current")).to_contain_text("commission 0.05/share", timeout=WAIT)

        # ---- a trade between two of them moves the leaderboard
        expect(dash.tid(f"leader-equity-{c}")).to_have_text("6000.00", timeout=WAIT)
        trader.place(sym, "buy", 10, "60.00")
        seller = stack.login(b)
        seller.order(sym, "sell", 10, "60.00")
        # last price 60: C (no trade) 5000 + 20 x 60 = 6200.00; A and B the same less 10 x 0.05
        expect(dash.tid(f"leader-equity-{c}")).to_have_text("6200.00", timeout=WAIT)
        expect(dash.tid(f"leader-equity-{a}")).to_have_text("6199.50", timeout=WAIT)
        expect(dash.tid(f"leader-equity-{b}")).to_have_text("6199.50", timeout=WAIT)
        rank_c = int(dash.tid(f"leader-rank-{c}").inner_text())
        assert int(dash.tid(f"leader-rank-{a}").inner_text()) == rank_c + 1
        assert int(dash.tid(f"leader-rank-{b}").inner_text()) == rank_c + 1
        expect(dash.tid(f"roster-cash-{a}")).to_have_text("4399.50", timeout=WAIT)
        expect(dash.tid(f"roster-positions-{a}")).to_have_text(f"{sym} 30")
        expect(dash.tid(f"roster-trades-{a}")).to_have_text("1", timeout=WAIT)
        expect(dash.tid(f"roster-trades-{b}")).to_have_text("1", timeout=WAIT)
        expect(trader.tid("portfolio-cash")).to_contain_text("4399.50", timeout=WAIT)
        dash.shot("dash-05-after-trade")
        # the traders see the leaderboard too (a drop-down in the header)
        trader.tid("leaderboard-toggle").click()
        board = trader.tid("trader-leaderboard")
        expect(board.get_by_test_id(f"leader-equity-{a}")).to_have_text("6199.50", timeout=WAIT)
        expect(board.get_by_test_id(f"leader-equity-{c}")).to_have_text("6200.00")
        expect(board.get_by_test_id("leaderboard-show-bots")).to_have_count(0)
        trader.shot("dash-05-leaderboard")
        trader.tid("leaderboard-toggle").click()
        expect(board).to_have_count(0)

        # ---- drill into A: the filled order, the fill and the position
        dash.tid(f"roster-row-{a}").click()
        expect(dash.tid("detail-name")).to_have_text(f"{prefix} 1")
        expect(dash.tid(f"detail-qty-{sym}")).to_have_text("30", timeout=WAIT)
        order_status = dash.tid("detail-orders").locator("[data-testid^='detail-order-status-']")
        expect(order_status).to_have_text(["filled"], timeout=WAIT)
        expect(dash.tid("detail-fills").get_by_test_id("detail-fill").filter(has_text="trade")).to_have_count(1, timeout=WAIT)
        dash.shot("dash-06-drill-down")

        # ---- a CSV export, fetched with the token and handed over as a download
        with dash.page.expect_download() as download:
            dash.tid("export-trades").click()
        text = download.value.path().read_text()
        header, *rows = text.strip().splitlines()
        assert header.split(",")[:5] == ["trade_id", "seq", "symbol", "price", "qty"], header
        assert any(f",{sym},60.00,10," in r for r in rows), rows

        # ---- reset, confirmed: everyone is back at the start
        dash.tid("reset-button").click()
        dash.shot("dash-07-reset-confirm")
        dash.tid("reset-confirm").click()
        for uid in (a, b, c):
            expect(dash.tid(f"roster-cash-{uid}")).to_have_text("5000.00", timeout=WAIT)
            expect(dash.tid(f"roster-equity-{uid}")).to_have_text("6000.00", timeout=WAIT)
            expect(dash.tid(f"roster-trades-{uid}")).to_have_text("0", timeout=WAIT)
            expect(dash.tid(f"roster-positions-{uid}")).to_have_text(f"{sym} 20")
        expect(dash.tid("detail-orders").locator("[data-testid^='detail-order-status-']")).to_have_count(0, timeout=WAIT)
        expect(trader.tid("portfolio-cash")).to_contain_text("5000.00", timeout=WAIT)
        expect(trader.tid("market-status")).to_have_text("open")
        dash.shot("dash-08-after-reset")
        trader.shot("dash-08-after-reset")

        assert dash.errors == [] and trader.errors == []
    finally:
        dash.close()
        if trader is not None:
            trader.close()


def test_the_instructor_starts_and_stops_the_house_bots(own_stack, browser):  # noqa: F811
    stack = own_stack
    dash = instructor_screen(browser, stack, "bots")
    try:
        expect(dash.tid("bots-status")).to_have_text("stopped", timeout=WAIT)
        dash.tid("bots-cfg-market_makers").fill("1")
        dash.tid("bots-cfg-noise_traders").fill("2")
        dash.tid("bots-cfg-momentum_traders").fill("0")
        dash.tid("bots-cfg-value_traders").fill("0")
        dash.tid("bots-start").click()
        expect(dash.tid("bots-status")).to_have_text("running", timeout=WAIT)
        rows = dash.tid("bots-panel").locator("[data-testid^='bot-row-']")
        expect(rows).to_have_count(3, timeout=WAIT)
        # they trade: some orders sent within a few seconds
        sent = dash.tid("bots-panel").locator("[data-testid^='bot-sent-']")
        expect(sent.filter(has_text=re.compile(r"^[1-9]\d*$")).first).to_be_visible(timeout=30000)
        dash.tid("leaderboard-show-bots").check()
        expect(dash.tid("leaderboard").get_by_text("bot", exact=True).first).to_be_visible(timeout=WAIT)
        dash.shot("dash-09-bots-running")
        dash.tid("bots-stop").click()
        expect(dash.tid("bots-status")).to_have_text("stopped", timeout=WAIT)
        dash.shot("dash-10-bots-stopped")
        assert dash.errors == []
    finally:
        dash.close()


def test_csv_roster_stocks_and_scenarios_from_the_dashboard(own_stack, browser):  # noqa: F811
    stack = own_stack
    box = Sandbox(stack)
    sym = box.symbol("20.00")
    tag = uuid.uuid4().hex[:5]
    dash = instructor_screen(browser, stack, "setup")
    trader: Screen | None = None
    try:
        # ---- traders from CSV: the preview names the bad line and nothing is sent
        dash.tid("setup-tab-traders").click()
        dash.tid("bulk-mode-csv").click()
        dash.tid("bulk-cash").fill("2500")
        dash.tid("bulk-csv-text").fill(f"name,starting_cash,{sym}\nAnn{tag},1000,5\n,300,\nBo{tag},,\n")
        expect(dash.tid("bulk-preview-errors")).to_have_text("line 3: the name is empty")
        dash.tid("bulk-submit").click()
        expect(dash.tid("bulk-error")).to_have_text("line 3: the name is empty")
        assert not any(u["name"].endswith(tag) for u in stack.anonymous().get("/api/users").json())
        dash.shot("dash-12-csv-preview-error")
        # the server's refusal shows too: a name that is taken refuses the whole file
        dash.tid("bulk-csv-text").fill(f"name,starting_cash,{sym}\nAnn{tag},1000,5\nAlice,,\n")
        dash.tid("bulk-submit").click()
        expect(dash.tid("bulk-error")).to_contain_text("Alice", timeout=WAIT)
        assert not any(u["name"].endswith(tag) for u in stack.anonymous().get("/api/users").json())
        dash.tid("bulk-csv-text").fill(f"name,starting_cash,{sym}\nAnn{tag},1000,5\nBo{tag},,\n")
        dash.tid("bulk-submit").click()
        expect(dash.tid("bulk-status")).to_contain_text("created 2 traders", timeout=WAIT)
        ids = {u["name"]: u["id"] for u in stack.anonymous().get("/api/users").json()}
        ann, bo = ids[f"Ann{tag}"], ids[f"Bo{tag}"]
        expect(dash.tid(f"roster-cash-{ann}")).to_have_text("1000.00", timeout=WAIT)
        expect(dash.tid(f"roster-positions-{ann}")).to_have_text(f"{sym} 5")
        expect(dash.tid(f"roster-cash-{bo}")).to_have_text("2500.00", timeout=WAIT)
        expect(dash.tid(f"roster-positions-{bo}")).to_have_text("—")
        dash.shot("dash-13-csv-created")

        # ---- delist a stock: it leaves a trader's screen live; relist it
        trader = Screen(browser, stack.url, "setup-trader")
        trader.login_as(ann)
        expect(trader.tid(f"watch-{sym}")).to_be_visible(timeout=WAIT)
        dash.tid("setup-tab-stocks").click()
        dash.tid(f"delist-{sym}").click()
        dash.tid(f"delist-confirm-{sym}").click()
        expect(dash.tid("stocks-status")).to_have_text(f"delisted {sym}", timeout=WAIT)
        expect(dash.tid(f"stock-row-{sym}")).to_have_count(0, timeout=WAIT)
        expect(trader.tid(f"watch-{sym}")).to_have_count(0, timeout=WAIT)
        dash.shot("dash-14-delisted")
        dash.tid(f"relist-{sym}").click()
        expect(dash.tid(f"stock-row-{sym}")).to_contain_text("20.00", timeout=WAIT)
        expect(trader.tid(f"watch-{sym}")).to_be_visible(timeout=WAIT)

        # ---- a new stock with its reference price; a bad one shows why
        new_sym = "N" + tag.upper()
        dash.tid("new-stock-symbol").fill(new_sym)
        dash.tid("new-stock-name").fill("New Listing")
        dash.tid("new-stock-price").fill("0")
        dash.tid("list-stock").click()
        expect(dash.tid("stocks-error")).to_contain_text("reference price")
        dash.tid("new-stock-price").fill("12.50")
        dash.tid("list-stock").click()
        expect(dash.tid(f"stock-row-{new_sym}")).to_contain_text("12.50", timeout=WAIT)
        expect(trader.tid(f"watch-{new_sym}")).to_be_visible(timeout=WAIT)

        # ---- save the current setup as a scenario, then load a shipped one (after a confirm)
        dash.tid("setup-tab-scenarios").click()
        expect(dash.tid("scenario-calm")).to_be_visible(timeout=WAIT)
        dash.tid("scenario-save-name").fill(f"class-{tag}")
        dash.tid("scenario-save-description").fill("saved by the browser test")
        dash.tid("scenario-save").click()
        expect(dash.tid("scenario-status")).to_have_text(f"saved scenario class-{tag}", timeout=WAIT)
        expect(dash.tid(f"scenario-class-{tag}")).to_contain_text("saved by the browser test", timeout=WAIT)
        saved = stack.instructor().get(f"/api/scenarios/class-{tag}").json()
        assert {s["symbol"] for s in saved["stocks"]} >= {sym, new_sym}, saved
        dash.tid("scenario-start-bots").uncheck()
        dash.tid("scenario-load-calm").click()
        dash.shot("dash-15-scenario-confirm")
        dash.tid("scenario-confirm-calm").click()
        expect(dash.tid("scenario-status")).to_contain_text("loaded calm", timeout=60000)
        # calm's twenty students, each with $100,000 and 20 AAPL, 50 KO
        students = {u["name"]: u["id"] for u in stack.anonymous().get("/api/users").json()
                    if re.fullmatch(r"Student \d+", u["name"])}
        assert len(students) >= 20, students
        first = students["Student 1"]
        expect(dash.tid(f"roster-cash-{first}")).to_have_text("100000.00", timeout=WAIT)
        expect(dash.tid(f"roster-positions-{first}")).to_have_text("AAPL 20 · KO 50", timeout=WAIT)
        dash.shot("dash-16-scenario-loaded")
        # the one refused request was the CSV with a taken name
        assert [e for e in dash.errors if CONFLICT not in e] == [] and trader.errors == []
        assert len(dash.errors) == 1, dash.errors
    finally:
        dash.close()
        if trader is not None:
            trader.close()


def test_the_dashboard_fits_a_narrow_window_in_the_light_theme(own_stack, browser):  # noqa: F811
    dash = instructor_screen(browser, own_stack, "dash-narrow")
    try:
        # a reload keeps the instructor logged in (the tab's session; the password is not stored)
        dash.page.reload()
        expect(dash.tid("dashboard")).to_be_visible(timeout=WAIT)
        expect(dash.tid("instructor-password")).to_have_count(0)
        stored = dash.page.evaluate("JSON.stringify({...sessionStorage}) + JSON.stringify({...localStorage})")
        assert INSTRUCTOR_PASSWORD not in stored
        dash.page.set_viewport_size({"width": 420, "height": 900})
        dash.tid("theme-toggle").click()
        expect(dash.tid("roster")).to_be_visible()
        expect(dash.tid("market-halt")).to_be_visible()
        dash.shot("dash-11-narrow-light")
        width = dash.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 440, f"page scrolls sideways at 420 px: {width}"
        assert dash.errors == []
    finally:
        dash.close()


def test_a_reset_that_signs_everyone_out_leaves_the_traders_screen_working(own_stack, browser):  # noqa: F811
    """The reset's "also sign everyone out": a script's token of before it is refused, the
    demo trader's screen logs in again by itself and trades on, the instructor keeps the
    dashboard (its token is never revoked)."""
    import time

    from tests.e2e.test_browser import open_order_ids

    stack = own_stack
    box = Sandbox(stack)
    sym = box.symbol("20.00")
    script = box.trader("1000.00")
    dash = instructor_screen(browser, stack, "instructor-revoke")
    trader = Screen(browser, stack.url, "trader-revoke")
    try:
        trader.login_as(script.user_id)
        expect(trader.tid("portfolio-cash")).to_contain_text("1000.00", timeout=WAIT)
        dash.tid("reset-button").click()
        dash.tid("reset-revoke").check()
        dash.shot("dash-09-reset-revoke-confirm")
        dash.tid("reset-confirm").click()
        expect(dash.tid("control-status")).to_contain_text("signed out", timeout=WAIT)
        # the order door refuses the tokens of before the reset (an order sent now with one could not land)
        deadline = time.monotonic() + 20
        while script.get("/api/orders").status_code != 401:
            assert time.monotonic() < deadline, "stock_ordering never refused the old token"
            time.sleep(0.1)
        # the trader's screen carries on: it logged in again, its order goes through and shows
        trader.place(sym, "buy", 1, "19.00")
        [order_id] = open_order_ids(trader)
        expect(trader.tid(f"order-status-{order_id}")).to_have_text(re.compile("new"), timeout=WAIT)
        expect(trader.tid("portfolio-reserved")).to_contain_text("19.00", timeout=WAIT)
        expect(trader.tid("connection-banner")).to_have_count(0, timeout=WAIT)
        # the instructor's dashboard still works with its token from before the reset; the push reaches the trader
        dash.tid("market-halt").click()
        expect(dash.tid("dash-market-status")).to_have_text("halted", timeout=WAIT)
        expect(trader.tid("market-status")).to_have_text("halted", timeout=WAIT)
        dash.tid("market-open").click()
        expect(trader.tid("market-status")).to_have_text("open", timeout=WAIT)
        trader.shot("dash-10-after-revoking-reset")
        dash.shot("dash-10-after-revoking-reset")
        assert dash.errors == []
        # the browser logs the refused requests (401) before the screen logs in again; nothing else
        assert [e for e in trader.errors if UNAUTHORIZED not in e] == [], trader.errors
    finally:
        dash.close()
        trader.close()
