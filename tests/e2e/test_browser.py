"""The trading screen in a real browser (Debian's Chromium driven by Playwright):
two traders in two browser contexts trade with each other and both screens
update live, without a reload. Screenshots of each step are kept in
tests/artifacts/screenshots/."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from stack.local import ARTIFACTS
from tests.harness import Sandbox

pytestmark = pytest.mark.stack

CHROMIUM = "/usr/bin/chromium"
SHOTS = ARTIFACTS / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Screen:
    """One person's browser window, with the console watched for errors."""

    def __init__(self, browser, url: str, name: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.page: Page = self.context.new_page()
        self.name = name
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)

    def shot(self, step: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(Path(SHOTS) / f"{step}-{self.name}.png"), full_page=True)

    def tid(self, test_id: str):
        return self.page.get_by_test_id(test_id)

    def login_as(self, user_id: int) -> None:
        self.tid("account-switcher").select_option(str(user_id))
        expect(self.tid("portfolio-cash")).to_be_visible()

    def place(self, symbol: str, side: str, qty: int, price: str | None, tif: str = "day") -> None:
        self.tid("ticket-symbol").select_option(symbol)
        self.tid(f"ticket-side-{side}").click()
        self.tid("ticket-type").select_option("limit" if price else "market")
        self.tid("ticket-qty").fill(str(qty))
        if price:
            self.tid("ticket-price").fill(price)
        self.tid("ticket-tif").select_option(tif)
        self.tid("ticket-submit").click()

    def close(self) -> None:
        self.context.close()


OPEN_ORDER_IDS = """() => Array.from(document.querySelectorAll('[data-testid="open-orders"] [data-testid]'))
    .map(e => e.dataset.testid).filter(t => /^order-\\d+$/.test(t)).map(t => Number(t.slice(6)))"""


def open_order_ids(screen: Screen, count: int = 1, timeout: float = 15.0) -> list[int]:
    """The ids of the open orders shown, once `count` of them are there."""
    deadline = time.monotonic() + timeout
    ids: list[int] = []
    while time.monotonic() < deadline:
        ids = screen.page.evaluate(OPEN_ORDER_IDS)
        if len(ids) == count:
            return ids
        time.sleep(0.1)
    raise AssertionError(f"expected {count} open orders on {screen.name}'s screen, saw {ids}")


def test_two_traders_trade_and_both_screens_update_live(stack, browser):
    box = Sandbox(stack)
    sym = box.symbol("50.00")
    alice = box.trader("10000.00")
    bob = box.trader("0.00", {sym: 100})
    a = Screen(browser, stack.url, "alice")
    b = Screen(browser, stack.url, "bob")
    try:
        a.login_as(alice.user_id)
        b.login_as(bob.user_id)
        expect(a.tid("portfolio-cash")).to_contain_text("10000.00")
        a.shot("01-logged-in")

        # A limit buy that rests: it shows as `new` in A's open orders.
        a.place(sym, "buy", 10, "50.00")
        [buy_id] = open_order_ids(a)
        expect(a.tid(f"order-status-{buy_id}")).to_have_text(re.compile("new"), timeout=15000)
        expect(a.tid("portfolio-reserved")).to_contain_text("500.00")
        a.shot("02-buy-resting")

        # B sells into it from another browser context.
        b.place(sym, "sell", 10, "50.00")
        # Without a reload, both screens show the fill, the cash and the position.
        expect(a.tid(f"history-status-{buy_id}")).to_have_text(re.compile("filled"), timeout=15000)
        expect(a.tid("portfolio-cash")).to_contain_text("9500.00")
        expect(a.tid(f"position-qty-{sym}")).to_have_text(re.compile(r"\b10\b"))
        expect(b.tid("portfolio-cash")).to_contain_text("500.00", timeout=15000)
        expect(b.tid(f"position-qty-{sym}")).to_have_text(re.compile(r"\b90\b"))
        a.shot("03-filled")
        b.shot("03-filled")

        # The chart, the book and the tape show the trade.
        a.tid(f"watch-{sym}").click()
        expect(a.tid("tape").locator("[data-testid='tape-row']").first).to_contain_text("50.00", timeout=15000)
        expect(a.tid("chart").locator("canvas").first).to_be_visible()
        expect(a.tid("book-seq")).to_be_visible()
        expect(a.tid(f"watch-last-{sym}")).to_contain_text("50.00")

        # Cancel a resting order.
        a.place(sym, "buy", 5, "40.00")
        [cancel_id] = open_order_ids(a)
        expect(a.tid(f"order-status-{cancel_id}")).to_have_text(re.compile("new"), timeout=15000)
        expect(a.tid("book-bids")).to_contain_text("40.00", timeout=15000)
        a.shot("04-resting-before-cancel")
        a.tid(f"cancel-{cancel_id}").click()
        expect(a.tid(f"history-status-{cancel_id}")).to_have_text(re.compile("canceled"), timeout=15000)
        a.shot("05-canceled")

        # An order rejected for insufficient cash shows the reason.
        a.place(sym, "buy", 1000, "50.00")
        rejected = a.tid("order-history").locator("[data-testid^='history-reason-']").filter(
            has_text=re.compile("insufficient_cash"))
        expect(rejected.first).to_be_visible(timeout=15000)
        a.shot("06-rejected")
        assert a.errors == [] and b.errors == []
    finally:
        a.close()
        b.close()


def test_a_stop_limit_from_the_ticket_shows_on_the_chart_is_modified_and_triggers(stack, browser):
    box = Sandbox(stack)
    sym = box.symbol("50.00")
    holder = box.trader("0.00", {sym: 10})
    buyer = box.trader("10000.00")
    seller = box.trader("0.00", {sym: 10})
    s = Screen(browser, stack.url, "stops")
    try:
        s.login_as(holder.user_id)
        s.tid(f"watch-{sym}").click()
        s.tid("ticket-symbol").select_option(sym)
        s.tid("ticket-side-sell").click()
        s.tid("ticket-type").select_option("stop_limit")
        s.tid("ticket-qty").fill("10")
        s.tid("ticket-stop-price").fill("49.00")
        s.tid("ticket-price").fill("48.50")
        s.tid("ticket-tif").select_option("gtc")
        expect(s.tid("ticket-explain")).to_contain_text("prints at or below 49.00")
        expect(s.tid("ticket-explain")).to_contain_text("a limit order to sell at 48.50 for 10")
        s.tid("ticket-submit").click()
        [stop_id] = open_order_ids(s)
        expect(s.tid(f"order-trigger-{stop_id}")).to_have_text(re.compile("waiting"), timeout=15000)
        expect(s.tid(f"chart-line-{stop_id}-stop")).to_contain_text("at 49.00")
        expect(s.tid(f"chart-line-{stop_id}-limit")).to_contain_text("at 48.50")
        s.shot("07-stop-waiting")
        # modify it in one step: the stop moves up to 49.20, the limit to 48.80
        s.tid(f"modify-{stop_id}").click()
        s.tid(f"modify-stop-{stop_id}").fill("49.20")
        s.tid(f"modify-limit-{stop_id}").fill("48.80")
        s.tid(f"modify-save-{stop_id}").click()
        expect(s.tid(f"history-status-{stop_id}")).to_have_text(re.compile("replaced"), timeout=15000)
        [new_id] = open_order_ids(s)
        assert new_id != stop_id
        expect(s.tid(f"order-trigger-{new_id}")).to_have_text(re.compile("waiting"), timeout=15000)
        expect(s.tid(f"chart-line-{new_id}-stop")).to_contain_text("at 49.20")
        expect(s.tid(f"chart-line-{stop_id}-stop")).to_have_count(0)
        s.shot("07b-stop-modified")
        # another trader's trade at 49.10 reaches the new stop: it triggers and sells at 48.80 or better
        bid = buyer.order(sym, "buy", 20, "49.10", time_in_force="gtc")
        buyer.wait_order(bid["id"], "new")
        seller.order(sym, "sell", 1, "49.10")
        expect(s.tid(f"history-status-{new_id}")).to_have_text(re.compile("filled"), timeout=15000)
        expect(s.tid(f"chart-fill-{new_id}")).to_contain_text("filled S 10 at 49.1000")
        expect(s.tid(f"chart-line-{new_id}-stop")).to_have_count(0)
        expect(s.tid("portfolio-cash")).to_contain_text("491.00", timeout=15000)
        s.shot("08-stop-triggered")
        assert s.errors == []
    finally:
        s.close()


def test_the_screen_works_on_a_narrow_window_and_in_the_light_theme(stack, browser):
    screen = Screen(browser, stack.url, "narrow")
    try:
        screen.page.set_viewport_size({"width": 420, "height": 900})
        screen.login_as(stack.users["Carol"])
        expect(screen.tid("ticket-submit")).to_be_visible()
        screen.tid("theme-toggle").click()
        screen.shot("07-narrow-light")
        width = screen.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 440, f"page scrolls sideways at 420 px: {width}"
        assert screen.errors == []
    finally:
        screen.close()


def test_the_api_docs_page_renders_every_operation_offline(stack, browser):
    """/api/docs is Swagger UI over /api/openapi.json, with nothing fetched from elsewhere."""
    page = browser.new_page()
    outside: list[str] = []
    errors: list[str] = []

    def only_local(route):  # noqa: ANN001
        if route.request.url.startswith(stack.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(stack.url + "/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("papertrade")
    spec = page.request.get(stack.url + "/api/openapi.json").json()
    count = sum(len(ops) for ops in spec["paths"].values())
    expect(page.locator(".opblock")).to_have_count(count, timeout=15_000)
    page.locator(".opblock-summary-path", has_text="/api/orders/batch").first.click()
    expect(page.locator(".opblock-body").first).to_contain_text("422")
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(SHOTS) / "api-docs.png"), full_page=False)
    assert outside == []
    assert errors == []
    page.close()
