"""The house bots' agent logic (house_bots/agents/): pure, deterministic given a seed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from house_bots.agents import (
    Budget,
    Cancel,
    FairValue,
    Market,
    MarketMaker,
    MomentumTrader,
    NoiseTrader,
    Observation,
    OpenOrder,
    Place,
    ValueTrader,
    derive_seed,
    fair_values,
    path,
)
from service_runtime.money import is_on_tick

D = Decimal


def obs(markets, cash="1000000.00", free=None, positions=None, open_orders=(), dt="1"):
    free = free if free is not None else {s: 1000 for s in markets}
    return Observation(markets, D(cash), free, positions if positions is not None else dict(free),
                       tuple(open_orders), D(dt))


def places(actions, side=None):
    return [a for a in actions if isinstance(a, Place) and (side is None or a.side == side)]


# ------------------------------------------------------------------ fair value


def test_fair_value_path_is_reproducible_with_a_seed_and_on_the_tick():
    a = path(FairValue(D("190.00"), D("0.5"), D("0"), D("1"), seed=42), 300)
    b = path(FairValue(D("190.00"), D("0.5"), D("0"), D("1"), seed=42), 300)
    c = path(FairValue(D("190.00"), D("0.5"), D("0"), D("1"), seed=43), 300)
    assert a == b
    assert a != c
    assert all(is_on_tick(p) and p > 0 for p in a)
    assert len(set(a)) > 20  # it moves
    # 0.5 %/min over 5 minutes with reversion: stays within a few percent of the reference
    assert all(D("170") < p < D("210") for p in a)


def test_fair_value_without_volatility_follows_the_drift_exactly():
    fv = FairValue(D("100.00"), volatility_pct=D("0"), drift_pct=D("1"), reversion_pct=D("0"), seed=1)
    assert fv.step(60) == D("101.00")  # +1 % over one minute
    assert fv.step(60) == D("102.01")


def test_mean_reversion_pulls_back_to_the_reference():
    fv = FairValue(D("100.00"), volatility_pct=D("0"), drift_pct=D("0"), reversion_pct=D("50"), seed=1,
                   value=D("120.00"))
    assert fv.step(60) == D("110.00")  # half the gap closed in one minute
    assert fv.step(60) == D("105.00")


def test_fair_value_never_goes_below_one_tick_and_refuses_a_bad_reference():
    fv = FairValue(D("0.02"), volatility_pct=D("0"), drift_pct=D("-5"), reversion_pct=D("0"), seed=1)
    for _ in range(200):
        assert fv.step(60) >= D("0.01")
    with pytest.raises(ValueError):
        FairValue(D("0"))


def test_per_symbol_seeds_are_stable_when_symbols_are_added():
    one = fair_values({"AAPL": D("190")}, 7, D("1"), D("0"), D("0"))
    two = fair_values({"AAPL": D("190"), "MSFT": D("420")}, 7, D("1"), D("0"), D("0"))
    assert path(one["AAPL"], 50) == path(two["AAPL"], 50)
    assert derive_seed(7, "fv", "AAPL") != derive_seed(7, "fv", "MSFT")


# ------------------------------------------------------------------ market maker


def test_market_maker_quotes_both_sides_around_fair_value_on_the_tick():
    mm = MarketMaker(1, D("0.5"), levels=3, base_size=20, spread_bps=D("10"), level_step_ticks=5,
                     target_inventory={"AAPL": 1000})
    market = Market(last_price=D("190.00"), fair_value=D("190.00"))
    actions = mm.decide(obs({"AAPL": market}, positions={"AAPL": 1000}))
    bids = sorted((a.limit_price for a in places(actions, "buy")), reverse=True)
    asks = sorted(a.limit_price for a in places(actions, "sell"))
    # half spread = 190 x 10 bps x (1.5 - 0.5) = 0.19; levels 5 ticks apart
    assert bids == [D("189.81"), D("189.76"), D("189.71")]
    assert asks == [D("190.19"), D("190.24"), D("190.29")]
    assert all(a.qty == 20 and a.type == "limit" for a in places(actions))
    assert not [a for a in actions if isinstance(a, Cancel)]


def test_market_maker_skews_its_quotes_against_inventory():
    mm = MarketMaker(1, D("0.5"), levels=1, target_inventory={"AAPL": 1000})
    market = {"AAPL": Market(D("190.00"), D("190.00"))}
    flat = mm.decide(obs(market, positions={"AAPL": 1000}))
    long = mm.decide(obs(market, positions={"AAPL": 1250}))   # long by half the limit (500)
    short = mm.decide(obs(market, positions={"AAPL": 750}))
    price = lambda acts, side: places(acts, side)[0].limit_price  # noqa: E731
    assert (price(flat, "buy"), price(flat, "sell")) == (D("189.81"), D("190.19"))
    # long: both sides lower by half of the half spread (0.09), to sell more and buy less
    assert (price(long, "buy"), price(long, "sell")) == (D("189.72"), D("190.10"))
    assert (price(short, "buy"), price(short, "sell")) == (D("189.90"), D("190.28"))
    # the skew is capped at one half spread: never a crossed quote
    very_long = mm.decide(obs(market, positions={"AAPL": 5000}))
    assert price(very_long, "buy") < price(very_long, "sell")


def test_market_maker_never_quotes_beyond_its_cash_or_shares():
    mm = MarketMaker(1, D("0.5"), levels=3, base_size=20, target_inventory={"AAPL": 30})
    market = {"AAPL": Market(D("100.00"), D("100.00"))}
    actions = mm.decide(obs(market, cash="4500.00", free={"AAPL": 30}, positions={"AAPL": 30}))
    bids, asks = places(actions, "buy"), places(actions, "sell")
    # 20 x 99.90 + 20 x 99.85 = 3995.00; the 505.00 left buys 5 at 99.80
    assert [(a.limit_price, a.qty) for a in bids] == [(D("99.90"), 20), (D("99.85"), 20), (D("99.80"), 5)]
    assert sum(a.limit_price * a.qty for a in bids) <= D("4500.00")
    assert sum(a.qty for a in asks) == 30  # 20 at the best level, the 10 left at the next
    assert [a.qty for a in asks] == [20, 10]
    broke = mm.decide(obs(market, cash="50.00", free={"AAPL": 0}, positions={"AAPL": 0}))
    assert places(broke) == []


def test_market_maker_keeps_good_quotes_and_cancels_stale_ones_once_a_newer_one_rests():
    mm = MarketMaker(1, D("0.5"), levels=1, target_inventory={"AAPL": 1000})
    market = {"AAPL": Market(D("190.00"), D("190.00"))}
    resting = [OpenOrder(1, "AAPL", "buy", D("189.80"), 20),   # within tolerance of 189.81: kept
               OpenOrder(2, "AAPL", "sell", D("191.50"), 20),  # far from 190.19: stale
               OpenOrder(3, "MSFT", "buy", D("400.00"), 5)]    # a symbol it no longer trades
    actions = mm.decide(obs(market, positions={"AAPL": 1000}, open_orders=resting))
    # the stale ask stays until its replacement rests in the book
    assert actions == [Place("AAPL", "sell", 20, D("190.19")), Cancel(3)]
    pending = OpenOrder(4, "AAPL", "sell", D("190.19"), 20, live=False)
    assert mm.decide(obs(market, positions={"AAPL": 1000}, open_orders=resting[:2] + [pending])) == []
    booked = OpenOrder(4, "AAPL", "sell", D("190.19"), 20)
    assert mm.decide(obs(market, positions={"AAPL": 1000}, open_orders=resting[:2] + [booked])) == [Cancel(2)]


def test_market_maker_moves_its_quotes_at_most_a_half_spread_per_decision():
    mm = MarketMaker(1, D("0.5"), levels=1, target_inventory={"AAPL": 1000})
    quotes = lambda fv: [a.limit_price for a in places(mm.decide(obs({"AAPL": Market(fv, fv)}, positions={"AAPL": 1000})))]  # noqa: E501, E731
    assert quotes(D("190.00")) == [D("189.81"), D("190.19")]
    # the fair value drops 1.00 at once: the centre follows by one half spread (0.19) per decision
    assert quotes(D("189.00")) == [D("189.62"), D("190.00")]
    assert quotes(D("189.00")) == [D("189.43"), D("189.81")]
    assert mm.centers["AAPL"] == D("189.62")


def test_market_maker_cancels_first_a_stale_quote_its_new_quote_would_cross():
    mm = MarketMaker(1, D("0.5"), levels=1, target_inventory={"AAPL": 1000})
    market = {"AAPL": Market(D("190.00"), D("190.00"))}
    stale_bid = OpenOrder(5, "AAPL", "buy", D("190.30"), 20)  # above the new ask 190.19
    actions = mm.decide(obs(market, positions={"AAPL": 1000}, open_orders=[stale_bid]))
    assert actions == [Cancel(5), Place("AAPL", "buy", 20, D("189.81")), Place("AAPL", "sell", 20, D("190.19"))]


# ------------------------------------------------------------------ budget


def test_budget_counts_market_buys_at_the_collar_and_spends_down():
    budget = Budget(obs({"X": Market(D("10.00"), D("10.00"))}, cash="105.00", free={"X": 3}))
    # a market buy reserves 10.50 per share: 10 shares would need 105.00
    assert budget.fit(Place("X", "buy", 20), D("10.00")) == Place("X", "buy", 10)
    assert budget.fit(Place("X", "buy", 1), D("10.00")) is None
    assert budget.fit(Place("X", "sell", 5, D("10.00")), D("10.00")) == Place("X", "sell", 3, D("10.00"))
    assert budget.fit(Place("X", "sell", 1, D("10.00")), D("10.00")) is None


# ------------------------------------------------------------------ value and momentum


def test_value_trader_buys_below_and_sells_above_fair_value():
    vt = ValueTrader(5, D("1"), edge_bps=D("20"), noise_bps=D("0"), rate_per_minute=1e9, size=10)
    cheap = Market(D("95.00"), D("100.00"), best_bid=D("94.90"), best_ask=D("95.00"))
    rich = Market(D("105.00"), D("100.00"), best_bid=D("105.00"), best_ask=D("105.10"))
    fair = Market(D("100.00"), D("100.00"), best_bid=D("99.95"), best_ask=D("100.05"))
    assert places(vt.decide(obs({"X": cheap}))) == [Place("X", "buy", 15, D("95.00"), "ioc")]
    assert places(vt.decide(obs({"X": rich}))) == [Place("X", "sell", 15, D("105.00"), "ioc")]
    assert places(vt.decide(obs({"X": fair}))) == []


def test_value_trader_without_shares_does_not_sell():
    vt = ValueTrader(5, D("1"), noise_bps=D("0"), rate_per_minute=1e9)
    rich = Market(D("105.00"), D("100.00"), best_bid=D("105.00"), best_ask=D("105.10"))
    assert places(vt.decide(obs({"X": rich}, free={"X": 0}))) == []


def test_momentum_trader_follows_the_trend():
    mt = MomentumTrader(3, D("1"), short=3, long=6, threshold_bps=D("10"), rate_per_minute=1e9, size=4)
    up = tuple(D(p) for p in ("100", "100", "100", "101", "102", "103"))
    down = tuple(reversed(up))
    flat = tuple(D("100") for _ in range(6))
    market = lambda h: Market(h[-1], D("100"), history=h)  # noqa: E731
    assert places(mt.decide(obs({"X": market(up)}))) == [Place("X", "buy", 6)]
    assert places(mt.decide(obs({"X": market(down)}))) == [Place("X", "sell", 6)]
    assert places(mt.decide(obs({"X": market(flat)}))) == []
    assert places(mt.decide(obs({"X": market(up[:4])}))) == []  # not enough history yet


def test_noise_trader_is_deterministic_small_and_affordable():
    def run(seed):
        nt = NoiseTrader(seed, D("0.5"), rate_per_minute=60, max_qty=10)
        market = {"AAPL": Market(D("190.00"), D("190.00")), "KO": Market(D("60.00"), D("60.00"))}
        out = []
        for _ in range(200):
            out += places(nt.decide(obs(market, cash="5000.00", free={"AAPL": 2, "KO": 2})))
        return out

    first, again = run(11), run(11)
    assert first == again and first != run(12)
    assert 100 < len(first) < 200  # about one a second at 60/min (with aggressiveness 0.5: 0.25+0.75)
    assert {p.side for p in first} == {"buy", "sell"} and {p.type for p in first} == {"market", "limit"}
    assert all(p.qty <= 10 for p in first)
    assert all(p.qty <= 2 for p in first if p.side == "sell")
    assert all((p.limit_price or D("199.50")) * p.qty <= D("5000") for p in first if p.side == "buy")
    assert all(is_on_tick(p.limit_price) for p in first if p.limit_price is not None)


def test_noise_trader_cancels_its_old_resting_orders():
    nt = NoiseTrader(1, D("0"), rate_per_minute=0, max_age=30)
    old, young = OpenOrder(8, "X", "buy", D("9.99"), 1, 31.0), OpenOrder(9, "X", "buy", D("9.99"), 1, 5.0)
    assert nt.decide(obs({"X": Market(D("10"), D("10"))}, open_orders=[old, young])) == [Cancel(8)]


def test_aggressiveness_scales_sizes_rates_and_spreads():
    calm, wild = MarketMaker(1, D("0"), target_inventory={"X": 100}), MarketMaker(1, D("1"), target_inventory={"X": 100})
    assert calm.size < wild.size and calm.half_spread(D("100")) > wild.half_spread(D("100"))
    assert NoiseTrader(1, D("0")).rate < NoiseTrader(1, D("1")).rate
    assert MomentumTrader(1, D("0")).threshold_bps > MomentumTrader(1, D("1")).threshold_bps
    assert ValueTrader(1, D("0")).size < ValueTrader(1, D("1")).size
    assert MarketMaker(1, D("7")).aggressiveness == D("1")  # clamped


def test_place_order_body_is_what_the_public_api_takes():
    assert Place("AAPL", "buy", 5, D("190.10")).order_body() == {
        "symbol": "AAPL", "side": "buy", "type": "limit", "qty": 5, "time_in_force": "day", "limit_price": "190.10"}
    assert Place("AAPL", "sell", 5).order_body() == {
        "symbol": "AAPL", "side": "sell", "type": "market", "qty": 5, "time_in_force": "day"}
