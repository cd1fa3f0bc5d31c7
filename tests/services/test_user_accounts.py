"""user_accounts against a real database: users, sessions, and the events they emit."""

from __future__ import annotations

import json

from service_runtime.auth import verify_token
from user_accounts import store
from user_accounts.domain import NewUser
from user_accounts.passwords import hash_password

SERVICE = "user_accounts"


def outbox_types(conn) -> list[str]:
    return [r["type"] for r in conn.execute("SELECT type FROM outbox ORDER BY id").fetchall()]


def make_instructor(sdb) -> int:
    with sdb.conn.transaction():
        row = store.insert_user(sdb.conn, NewUser(name="Ms Teach", role="trader"), hash_password("s3cret"))
        sdb.conn.execute("UPDATE users SET role = 'instructor' WHERE id = %s", (row["id"],))
    return row["id"]


def test_instructor_creates_a_trader_and_user_created_is_in_the_outbox(service_db):
    instructor = make_instructor(service_db)
    client = service_db.client()
    resp = client.post(
        "/api/users",
        json={"name": "Alice", "starting_cash": "2500.50", "holdings": {"AAPL": 10}},
        headers=service_db.auth(instructor, "instructor"),
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["name"] == "Alice" and resp.json["role"] == "trader"
    assert outbox_types(service_db.conn) == ["user.created"]
    body = json.loads(service_db.conn.execute("SELECT body FROM outbox").fetchone()["body"])
    assert body["payload"] == {
        "user_id": resp.json["id"], "name": "Alice", "role": "trader",
        "starting_cash": "2500.50", "holdings": {"AAPL": 10},
    }
    assert client.get("/api/users").json[-1] == {"id": resp.json["id"], "name": "Alice", "role": "trader"}


def test_duplicate_name_is_409_and_writes_nothing(service_db):
    instructor = make_instructor(service_db)
    client = service_db.client()
    headers = service_db.auth(instructor, "instructor")
    assert client.post("/api/users", json={"name": "Bob"}, headers=headers).status_code == 201
    resp = client.post("/api/users", json={"name": "Bob"}, headers=headers)
    assert resp.status_code == 409 and resp.json["error"]["field"] == "name"
    assert outbox_types(service_db.conn) == ["user.created"]


def test_bad_user_bodies_are_422_and_leave_nothing(service_db):
    instructor = make_instructor(service_db)
    client = service_db.client()
    headers = service_db.auth(instructor, "instructor")
    for body, field in [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x", "role": "instructor"}, "role"),
        ({"name": "x", "starting_cash": "-1"}, "starting_cash"),
        ({"name": "x", "starting_cash": "1.001"}, "starting_cash"),
        ({"name": "x", "starting_cash": "NaN"}, "starting_cash"),
        ({"name": "x", "holdings": {"aapl": 1}}, "holdings"),
        ({"name": "x", "holdings": {"AAPL": 1.5}}, "holdings"),
        ({"name": "x", "extra": 1}, "extra"),
    ]:
        resp = client.post("/api/users", json=body, headers=headers)
        assert resp.status_code == 422, body
        assert resp.json["error"]["field"] == field, body
    assert client.post("/api/users", data="{bad", headers=headers, content_type="application/json").status_code == 400
    assert outbox_types(service_db.conn) == []
    assert len(client.get("/api/users").json) == 1


def test_only_instructors_create_users(service_db):
    client = service_db.client()
    assert client.post("/api/users", json={"name": "x"}).status_code == 401
    assert client.post("/api/users", json={"name": "x"}, headers=service_db.auth(7)).status_code == 403
    forged = {"Authorization": "Bearer " + service_db.token(1, "instructor")[:-3] + "abc"}
    assert client.post("/api/users", json={"name": "x"}, headers=forged).status_code == 401


def test_sessions_for_demo_traders_and_instructors(service_db):
    instructor = make_instructor(service_db)
    with service_db.conn.transaction():
        trader = store.insert_user(service_db.conn, NewUser(name="Carol"))
    client = service_db.client()
    resp = client.post("/api/sessions", json={"user_id": trader["id"]})
    assert resp.status_code == 201
    who = verify_token(service_db.settings.secret_key, resp.json["token"])
    assert (who.user_id, who.role) == (trader["id"], "trader")
    assert client.post("/api/sessions", json={"user_id": instructor}).status_code == 401
    assert client.post("/api/sessions", json={"user_id": instructor, "password": "nope"}).status_code == 401
    ok = client.post("/api/sessions", json={"user_id": instructor, "password": "s3cret"})
    assert ok.status_code == 201 and ok.json["user"]["role"] == "instructor"
    assert client.post("/api/sessions", json={"user_id": 99999}).status_code == 404
    assert client.post("/api/sessions", json={"user_id": "1"}).status_code == 422


# -- instructor simulations: bulk class creation, settings, reset -------------


def payloads(conn, type_: str) -> list[dict]:
    rows = conn.execute("SELECT body FROM outbox WHERE type = %s ORDER BY id", (type_,)).fetchall()
    return [json.loads(r["body"]) for r in rows]


def test_bulk_by_count_and_prefix_continues_the_numbering(service_db):
    teacher = service_db.auth(make_instructor(service_db), "instructor")
    client = service_db.client()
    first = client.post("/api/users/bulk", json={"count": 2, "prefix": "Student", "starting_cash": "5000",
                                                 "holdings": {"AAPL": 3}}, headers=teacher)
    assert first.status_code == 201
    assert [(u["name"], u["role"]) for u in first.json] == [("Student 1", "trader"), ("Student 2", "trader")]
    second = client.post("/api/users/bulk", json={"count": 2, "prefix": "Student"}, headers=teacher)
    assert [u["name"] for u in second.json] == ["Student 3", "Student 4"]
    created = [e["payload"] for e in payloads(service_db.conn, "user.created")]
    assert [(p["name"], p["starting_cash"], p["holdings"]) for p in created] == [
        ("Student 1", "5000.00", {"AAPL": 3}), ("Student 2", "5000.00", {"AAPL": 3}),
        ("Student 3", "100000.00", {}), ("Student 4", "100000.00", {})]


def test_bulk_by_csv_with_defaults_for_empty_cells(service_db):
    teacher = service_db.auth(make_instructor(service_db), "instructor")
    resp = service_db.client().post("/api/users/bulk", headers=teacher, json={
        "csv": "name,starting_cash,AAPL,MSFT\nAnn,50000,10,\nBo,,,2\n\n", "starting_cash": "1000",
        "holdings": {"AAPL": 1}})
    assert resp.status_code == 201, resp.json
    assert [u["name"] for u in resp.json] == ["Ann", "Bo"]
    created = [e["payload"] for e in payloads(service_db.conn, "user.created")]
    assert [(p["name"], p["starting_cash"], p["holdings"]) for p in created] == [
        ("Ann", "50000.00", {"AAPL": 10}), ("Bo", "1000.00", {"AAPL": 1, "MSFT": 2})]


def test_a_bad_csv_line_is_named_and_nothing_is_created(service_db):
    teacher = service_db.auth(make_instructor(service_db), "instructor")
    client = service_db.client()
    cases = {
        "name,starting_cash\nAnn,100\nBo,-5\n": "line 3: starting_cash must be between 0 and 1e12 in whole cents",
        "name,AAPL\nAnn,1\nBo,x\n": "line 3: AAPL must be a whole number of shares",
        "name,AAPL\nAnn,1,2\n": "line 2: 3 cells, the header has 2",
        "starting_cash\n100\n": "line 1: the header needs a name column",
        "name,bad col\nAnn,1\n": "line 1: column 'bad col' is neither name, starting_cash nor a symbol",
        "name\nAnn\nAnn\n": "line 3: the name 'Ann' appears twice",
        "name\n": "csv has no users after its header",
    }
    for text, message in cases.items():
        resp = client.post("/api/users/bulk", json={"csv": text}, headers=teacher)
        assert resp.status_code == 422, text
        assert resp.json["error"] == {"code": "invalid", "message": message, "field": "csv"}, text
    # a name already taken: 409, and the others in the batch are not created either
    client.post("/api/users", json={"name": "Taken"}, headers=teacher)
    resp = client.post("/api/users/bulk", json={"csv": "name\nFresh\nTaken\n"}, headers=teacher)
    assert resp.status_code == 409
    names = [r["name"] for r in store.list_users(service_db.conn)]
    assert "Fresh" not in names and "Ann" not in names
    assert outbox_types(service_db.conn) == ["user.created"]  # only Taken's


def test_bulk_refuses_bad_bodies_and_non_instructors(service_db):
    teacher = service_db.auth(make_instructor(service_db), "instructor")
    client = service_db.client()
    assert client.post("/api/users/bulk", json={"count": 1}).status_code == 401
    assert client.post("/api/users/bulk", json={"count": 1}, headers=service_db.auth(5)).status_code == 403
    for body, field in (({"count": 0}, "count"), ({"count": 501}, "count"), ({"count": True}, "count"),
                        ({"count": 2, "csv": "name\nA\n"}, "count"), ({}, "count"),
                        ({"count": 1, "prefix": ""}, "prefix"), ({"count": 1, "starting_cash": "-1"}, "starting_cash"),
                        ({"count": 1, "role": "instructor"}, "role"), ({"count": 1, "extra": 1}, "extra")):
        resp = client.post("/api/users/bulk", json=body, headers=teacher)
        assert (resp.status_code, resp.json["error"]["field"]) == (422, field), body
    assert outbox_types(service_db.conn) == []


def test_settings_are_off_by_default_partially_updated_and_announced(service_db):
    teacher = service_db.auth(make_instructor(service_db), "instructor")
    client = service_db.client()
    assert client.get("/api/settings").status_code == 401
    off = {"commission_per_share": "0.00", "max_position": None, "max_order_qty": None}
    assert client.get("/api/settings", headers=service_db.auth(7)).json == off
    resp = client.put("/api/settings", json={"commission_per_share": "0.01", "max_order_qty": 100}, headers=teacher)
    assert resp.status_code == 200
    assert resp.json == {"commission_per_share": "0.01", "max_position": None, "max_order_qty": 100}
    resp = client.put("/api/settings", json={"max_order_qty": None, "max_position": 50}, headers=teacher)
    assert resp.json == {"commission_per_share": "0.01", "max_position": 50, "max_order_qty": None}
    assert [e["payload"] for e in payloads(service_db.conn, "settings.changed")] == [
        {"commission_per_share": "0.01", "max_position": None, "max_order_qty": 100},
        {"commission_per_share": "0.01", "max_position": 50, "max_order_qty": None}]
    for body, field in (({"commission_per_share": "0.001"}, "commission_per_share"),
                        ({"commission_per_share": -1}, "commission_per_share"),
                        ({"max_position": 0}, "max_position"), ({"max_order_qty": "5"}, "max_order_qty"),
                        ({"fee": 1}, "fee")):
        bad = client.put("/api/settings", json=body, headers=teacher)
        assert (bad.status_code, bad.json["error"]["field"]) == (422, field), body
    assert client.put("/api/settings", json={"max_position": 1}, headers=service_db.auth(7)).status_code == 403
    assert len(payloads(service_db.conn, "settings.changed")) == 2


def test_reset_starts_a_new_epoch_and_announces_it_in_that_epoch(service_db):
    instructor = make_instructor(service_db)
    client = service_db.client()
    assert client.get("/api/simulation", headers=service_db.auth(7)).json == {
        "epoch": 1, "reset_at": None, "tokens_valid_from_epoch": 1}
    assert client.post("/api/simulation/reset", headers=service_db.auth(7)).status_code == 403
    assert client.post("/api/simulation/reset").status_code == 401
    resp = client.post("/api/simulation/reset", headers=service_db.auth(instructor, "instructor"))
    assert (resp.status_code, resp.json) == (202, {"epoch": 2, "tokens_valid_from_epoch": 1})
    again = client.post("/api/simulation/reset", headers=service_db.auth(instructor, "instructor"))
    assert again.json == {"epoch": 3, "tokens_valid_from_epoch": 1}
    state = client.get("/api/simulation", headers=service_db.auth(7)).json
    assert state["epoch"] == 3 and state["reset_at"] is not None
    resets = payloads(service_db.conn, "simulation.reset")
    assert [(e["epoch"], e["payload"]) for e in resets] == [
        (2, {"epoch": 2, "requested_by": instructor, "tokens_valid_from_epoch": 1}),
        (3, {"epoch": 3, "requested_by": instructor, "tokens_valid_from_epoch": 1})]


REVOKED = {"error": {"code": "unauthorized", "message": "token revoked by a reset; log in again"}}


def test_a_reset_may_revoke_traders_and_bots_tokens_and_keeps_the_instructors(service_db):
    instructor = make_instructor(service_db)
    with service_db.conn.transaction():
        trader = store.insert_user(service_db.conn, NewUser(name="Alice"))["id"]
    client = service_db.client()
    teacher = service_db.auth(instructor, "instructor")
    old_trader, old_bot = service_db.auth(trader), service_db.auth(99, "bot")
    for bad in ({"revoke_tokens": "yes"}, {"revoke_tokens": 1}, {"revoke": True}):
        refused = client.post("/api/simulation/reset", json=bad, headers=teacher)
        assert refused.status_code == 422, bad
    # without the flag (or with false) every token goes on working
    kept = client.post("/api/simulation/reset", json={"revoke_tokens": False}, headers=teacher)
    assert kept.json == {"epoch": 2, "tokens_valid_from_epoch": 1}
    assert client.get("/api/settings", headers=old_trader).status_code == 200

    resp = client.post("/api/simulation/reset", json={"revoke_tokens": True}, headers=teacher)
    assert (resp.status_code, resp.json) == (202, {"epoch": 3, "tokens_valid_from_epoch": 3})
    # refused at once by this process (the route dropped its cached floor)
    for old in (old_trader, old_bot):
        refused = client.get("/api/settings", headers=old)
        assert (refused.status_code, refused.json) == (401, REVOKED)
    assert client.get("/api/settings", headers=teacher).status_code == 200  # the instructor's is kept
    # public: readable without a token (the gateway and the house bots read the floor here)
    assert client.get("/api/simulation").json["tokens_valid_from_epoch"] == 3
    # a new login carries the new epoch and works
    session = client.post("/api/sessions", json={"user_id": trader})
    assert verify_token(service_db.settings.secret_key, session.json["token"]).epoch == 3
    fresh = {"Authorization": f"Bearer {session.json['token']}"}
    assert client.get("/api/settings", headers=fresh).status_code == 200
    # a later reset without the flag keeps the floor (it only goes up) and announces it
    later = client.post("/api/simulation/reset", headers=teacher)
    assert later.json == {"epoch": 4, "tokens_valid_from_epoch": 3}
    assert client.get("/api/settings", headers=fresh).status_code == 200
    assert client.get("/api/settings", headers=old_trader).status_code == 401
    resets = payloads(service_db.conn, "simulation.reset")
    assert [e["payload"]["tokens_valid_from_epoch"] for e in resets] == [1, 3, 3]
