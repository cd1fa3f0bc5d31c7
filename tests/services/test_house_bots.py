"""house_bots' API on its own database: config stored and validated, scenarios
listed, saved and validated, authorization, and what happens when the exchange
cannot be reached (the whole-stack behaviour is in tests/integration/test_house_bots.py)."""

from __future__ import annotations

import dataclasses

import pytest

SERVICE = "house_bots"
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: connection refused at once


@pytest.fixture
def bots(service_db):
    service_db.settings = dataclasses.replace(service_db.settings, gateway_url=UNREACHABLE)
    client = service_db.client()
    client.instr = service_db.auth(1, "instructor")
    return client


def runner_row(service_db):
    return service_db.conn.execute("SELECT config, running, started_at FROM runner").fetchone()


ENDPOINTS = [
    ("get", "/api/bots", None),
    ("put", "/api/bots/config", {"noise_traders": 1}),
    ("post", "/api/bots/start", None),
    ("post", "/api/bots/stop", None),
    ("get", "/api/scenarios", None),
    ("get", "/api/scenarios/calm", None),
    ("put", "/api/scenarios/mine", {"stocks": [{"symbol": "AB", "reference_price": "1.00"}]}),
    ("post", "/api/scenarios/calm/load", {"start_bots": False}),
]


@pytest.mark.parametrize("method, path, body", ENDPOINTS)
def test_instructors_only(bots, service_db, method, path, body):
    call = getattr(bots, method)
    anonymous = call(path, json=body)
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "unauthorized"
    for role in ("trader", "bot"):
        refused = call(path, json=body, headers=service_db.auth(7, role))
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert runner_row(service_db) is None
    assert service_db.conn.execute("SELECT count(*) AS n FROM scenarios").fetchone()["n"] == 0


def test_defaults_before_anything_is_configured(bots):
    body = bots.get("/api/bots", headers=bots.instr).get_json()
    assert body == {
        "running": False,
        "config": {"market_makers": 2, "noise_traders": 4, "momentum_traders": 1, "value_traders": 2,
                   "aggressiveness": "0.5", "symbols": None,
                   "fair_value": {"volatility_pct": "0.5", "drift_pct": "0", "reversion_pct": "1", "seed": None}},
        "bots": [],
        "started_at": None,
        "requests": 0,
    }


def test_config_is_stored_merged_and_read_back_by_a_new_process(bots, service_db):
    resp = bots.put("/api/bots/config", headers=bots.instr,
                    json={"market_makers": 3, "aggressiveness": "0.8", "symbols": ["AAPL", "KO"],
                          "fair_value": {"volatility_pct": "1.25", "seed": 99}})
    assert resp.status_code == 200
    expected = {"market_makers": 3, "noise_traders": 4, "momentum_traders": 1, "value_traders": 2,
                "aggressiveness": "0.8", "symbols": ["AAPL", "KO"],
                "fair_value": {"volatility_pct": "1.25", "drift_pct": "0", "reversion_pct": "1", "seed": 99}}
    assert resp.get_json() == expected
    row = runner_row(service_db)
    assert row["config"] == expected and row["running"] is False and row["started_at"] is None
    # a second partial update keeps the rest
    assert bots.put("/api/bots/config", headers=bots.instr, json={"symbols": None}).get_json()["symbols"] is None
    # what a restarted process reads: the database
    service_db._app.extensions["papertrade.db"].close()
    service_db._app = None
    fresh = service_db.client().get("/api/bots", headers=bots.instr).get_json()
    assert fresh["config"] == {**expected, "symbols": None}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"market_makers": -1}, "market_makers"),
        ({"noise_traders": 21}, "noise_traders"),
        ({"value_traders": True}, "value_traders"),
        ({"momentum_traders": "2"}, "momentum_traders"),
        ({"aggressiveness": "1.5"}, "aggressiveness"),
        ({"aggressiveness": "lots"}, "aggressiveness"),
        ({"symbols": ["aapl"]}, "symbols"),
        ({"symbols": []}, "symbols"),
        ({"fair_value": {"volatility_pct": "-1"}}, "fair_value.volatility_pct"),
        ({"fair_value": {"drift_pct": "9"}}, "fair_value.drift_pct"),
        ({"fair_value": {"seed": -3}}, "fair_value.seed"),
        ({"fair_value": {"sigma": "1"}}, "fair_value.sigma"),
        ({"fair_value": []}, "fair_value"),
        ({"speed": 3}, "speed"),
    ],
)
def test_bad_config_is_refused_naming_the_field_and_nothing_is_stored(bots, service_db, body, field):
    resp = bots.put("/api/bots/config", headers=bots.instr, json=body)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["field"] == field
    assert runner_row(service_db) is None
    resp = bots.post("/api/bots/start", headers=bots.instr, json=body)
    assert resp.status_code == 422 and runner_row(service_db) is None


def test_malformed_bodies(bots):
    resp = bots.put("/api/bots/config", headers=bots.instr, data="{nope", content_type="application/json")
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "malformed_json"
    resp = bots.put("/api/bots/config", headers=bots.instr, json=[1, 2])
    assert resp.status_code == 422


def test_start_when_the_exchange_cannot_be_reached_fails_and_stays_stopped(bots, service_db):
    resp = bots.post("/api/bots/start", headers=bots.instr, json={"noise_traders": 1})
    assert resp.status_code == 502
    assert resp.get_json()["error"]["code"] == "bots_unavailable"
    assert UNREACHABLE in resp.get_json()["error"]["message"]
    assert runner_row(service_db) is None
    assert bots.get("/api/bots", headers=bots.instr).get_json()["running"] is False


def test_stop_when_not_running_is_harmless(bots, service_db):
    resp = bots.post("/api/bots/stop", headers=bots.instr)
    assert resp.status_code == 200 and resp.get_json()["running"] is False
    assert runner_row(service_db)["running"] is False


def test_shipped_scenarios_are_listed_and_readable(bots):
    listed = bots.get("/api/scenarios", headers=bots.instr).get_json()
    assert [(s["name"], s["builtin"]) for s in listed] == [("calm", True), ("thin", True), ("volatile", True)]
    assert all(len(s["description"]) > 40 for s in listed)
    calm = bots.get("/api/scenarios/calm", headers=bots.instr).get_json()
    assert calm["builtin"] is True
    assert [s["symbol"] for s in calm["stocks"]] == ["AAPL", "MSFT", "KO", "JNJ"]
    assert calm["stocks"][2] == {"symbol": "KO", "name": "Coca-Cola Co.", "reference_price": "62.00"}
    assert calm["traders"] == {"count": 20, "prefix": "Student", "starting_cash": "100000.00",
                               "holdings": {"AAPL": 20, "KO": 50}}
    assert calm["bots"]["market_makers"] == 3 and calm["bots"]["symbols"] == ["AAPL", "MSFT", "KO", "JNJ"]
    thin = bots.get("/api/scenarios/thin", headers=bots.instr).get_json()
    volatile = bots.get("/api/scenarios/volatile", headers=bots.instr).get_json()
    assert thin["bots"]["market_makers"] == 1 and thin["session_minutes"] is None
    assert volatile["bots"]["fair_value"]["volatility_pct"] == "1.5"
    vols = [float(d["bots"]["fair_value"]["volatility_pct"]) for d in (calm, thin, volatile)]
    assert vols[0] < vols[1] < vols[2]


def test_saving_a_scenario(bots, service_db):
    doc = {"description": "two stocks", "stocks": [{"symbol": "AB", "name": "Ab Co", "reference_price": "10.5"},
                                                     {"symbol": "CD", "reference_price": 20}],
           "traders": {"count": 3, "prefix": "Team", "starting_cash": "5000"},
           "settings": {"max_order_qty": 100}, "bots": {"noise_traders": 2}, "session_minutes": 20}
    resp = bots.put("/api/scenarios/my-class", headers=bots.instr, json=doc)
    assert resp.status_code == 201
    saved = resp.get_json()
    assert saved["stocks"] == [{"symbol": "AB", "name": "Ab Co", "reference_price": "10.50"},
                               {"symbol": "CD", "name": "CD", "reference_price": "20.00"}]
    assert saved["traders"] == {"count": 3, "prefix": "Team", "starting_cash": "5000.00", "holdings": {}}
    assert saved["bots"]["noise_traders"] == 2 and saved["bots"]["symbols"] == ["AB", "CD"]
    assert saved["builtin"] is False and saved["name"] == "my-class"
    # what GET returns can be saved back as it is
    again = bots.get("/api/scenarios/my-class", headers=bots.instr).get_json()
    assert again == saved
    assert bots.put("/api/scenarios/my-class", headers=bots.instr, json=again).status_code == 200
    listed = bots.get("/api/scenarios", headers=bots.instr).get_json()
    assert {"name": "my-class", "description": "two stocks", "builtin": False} in listed
    row = service_db.conn.execute("SELECT saved_by FROM scenarios WHERE name = 'my-class'").fetchone()
    assert row["saved_by"] == 1


@pytest.mark.parametrize(
    "doc, field",
    [
        ({"stocks": []}, "stocks"),
        ({"stocks": [{"symbol": "ab", "reference_price": "1"}]}, "stocks"),
        ({"stocks": [{"symbol": "AB", "reference_price": "1.005"}]}, "stocks[0].reference_price"),
        ({"stocks": [{"symbol": "AB", "reference_price": "1"}, {"symbol": "AB", "reference_price": "2"}]}, "stocks"),
        ({"stocks": [{"symbol": "AB", "reference_price": "1"}], "traders": {"count": 501}}, "traders.count"),
        ({"stocks": [{"symbol": "AB", "reference_price": "1"}], "settings": {"fee": 1}}, "settings"),
        ({"stocks": [{"symbol": "AB", "reference_price": "1"}], "bots": {"market_makers": 99}}, "market_makers"),
        ({"stocks": [{"symbol": "AB", "reference_price": "1"}], "session_minutes": 0}, "session_minutes"),
        ({"stocks": [{"symbol": "AB", "reference_price": "1"}], "name": "other"}, "name"),
        ({"stocks": [{"symbol": "AB", "reference_price": "1"}], "extra": 1}, "extra"),
    ],
)
def test_bad_scenarios_are_refused_and_not_saved(bots, service_db, doc, field):
    resp = bots.put("/api/scenarios/mine", headers=bots.instr, json=doc)
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json()["error"]["field"] == field
    assert service_db.conn.execute("SELECT count(*) AS n FROM scenarios").fetchone()["n"] == 0


def test_scenario_names_and_shipped_ones_are_protected(bots):
    doc = {"stocks": [{"symbol": "AB", "reference_price": "1"}]}
    resp = bots.put("/api/scenarios/calm", headers=bots.instr, json=doc)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "builtin"
    assert bots.put("/api/scenarios/Bad%20Name", headers=bots.instr, json=doc).status_code == 404
    assert bots.get("/api/scenarios/nothing-here", headers=bots.instr).status_code == 404
    assert bots.post("/api/scenarios/nothing-here/load", headers=bots.instr, json={}).status_code == 404


def test_loading_when_the_exchange_cannot_be_reached_names_the_step(bots):
    resp = bots.post("/api/scenarios/calm/load", headers=bots.instr, json={"start_bots": False})
    assert resp.status_code == 502
    error = resp.get_json()["error"]
    assert error["code"] == "scenario_step_failed" and "'reset'" in error["message"]
    bad = bots.post("/api/scenarios/calm/load", headers=bots.instr, json={"start_bots": "yes"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "start_bots"


def test_health(bots):
    resp = bots.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok", "service": "house_bots",
                                                           "bots_running": False}
