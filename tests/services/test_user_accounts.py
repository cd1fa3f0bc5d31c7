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
