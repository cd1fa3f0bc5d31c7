"""A whole running exchange in its own namespace: real PostgreSQL, real RabbitMQ,
every process started from the same process list as `python -m stack up`, on
free ports. The tests and the benchmarks start theirs with `running_stack()`;
each is destroyed afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import requests

from service_runtime.config import Settings, artifacts_dir, settings_from_env
from service_runtime.db import connect

from .__main__ import setup
from .audit import check, wait_quiet
from .processes import ProcessSpec, all_processes, settings_env
from .supervisor import Supervisor
from .teardown import destroy

ARTIFACTS = artifacts_dir(settings_from_env())
INSTRUCTOR_PASSWORD = "instructor-test-password"


def free_port_block(size: int = 8) -> int:
    """A block of ports free now, below the kernel's ephemeral range (32768 and up on
    Linux by default), where an outgoing connection could take one before the
    process meant for it binds it."""
    for _ in range(200):
        base = 20000 + (uuid.uuid4().int % 1200) * 10  # 20000-31999
        ok = True
        for port in range(base, base + size):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port block")


class Api:
    """A logged-in (or anonymous) HTTP client of the single origin."""

    def __init__(self, base: str, token: str | None = None, user: dict[str, Any] | None = None) -> None:
        self.base = base
        self.user = user
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    @property
    def user_id(self) -> int:
        assert self.user is not None
        return self.user["id"]

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.session.post(self.base + path, json=json, timeout=30, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.session.delete(self.base + path, timeout=30, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> requests.Response:
        return self.session.patch(self.base + path, json=json, timeout=30, **kw)

    def order(self, symbol: str, side: str, qty: int, price: str | None = None, **extra: Any) -> dict[str, Any]:
        body = {"symbol": symbol, "side": side, "type": "limit" if price else "market", "qty": qty, **extra}
        if price:
            body["limit_price"] = price
        resp = self.post("/api/orders", body)
        assert resp.status_code in (200, 201), resp.text
        return resp.json()

    def wait_order(self, order_id: int, until: Callable[[dict[str, Any]], bool] | str, timeout: float = 20.0
                   ) -> dict[str, Any]:
        check = (lambda o: o["status"] == until) if isinstance(until, str) else until
        deadline = time.monotonic() + timeout
        order: dict[str, Any] = {}
        while time.monotonic() < deadline:
            order = self.get(f"/api/orders/{order_id}").json()
            if check(order):
                return order
            time.sleep(0.05)
        raise AssertionError(f"order {order_id} never reached the expected state; last seen {order}")

    def portfolio(self, user_id: int | None = None) -> dict[str, Any]:
        resp = self.get(f"/api/portfolios/{user_id or self.user_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()


class RunningStack:
    """`matching_shards`: order_matching sharded by symbol; `more_processes(settings)`:
    processes to run besides the standard list (standbys, a second gateway: see
    stack/processes.py)."""

    def __init__(self, name: str = "stack", extra_env: dict[str, str] | None = None, matching_shards: int = 1,
                 more_processes: Callable[[Settings], list[ProcessSpec]] | None = None) -> None:
        ns = f"ptt{uuid.uuid4().hex[:8]}"
        outside = settings_from_env()
        self.settings = Settings(
            namespace=ns,
            pg_url=outside.pg_url,
            amqp_url=outside.amqp_url,
            port=free_port_block(),
            secret_key=f"test-secret-{uuid.uuid4().hex}",
            instructor_password=INSTRUCTOR_PASSWORD,
            log_level="INFO",
            matching_shards=matching_shards,
            # so a benchmark can compare classic queues (PAPERTRADE_QUORUM_QUEUES=0)
            quorum_queues=outside.quorum_queues,
        )
        self.url = f"http://127.0.0.1:{self.settings.port}"
        self.log_dir = ARTIFACTS / "logs" / f"{name}-{ns}"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.env = {**settings_env(self.settings), **(extra_env or {})}
        specs = all_processes(self.settings) + (more_processes(self.settings) if more_processes else [])
        self.specs = {s.name: s for s in specs}
        self.supervisor = Supervisor(self.specs.values(), self.env, restart=False, out=None,
                                     log_dir=str(self.log_dir))
        self.users: dict[str, int] = {}

    # -------------------------------------------------------------- lifecycle
    def start(self) -> RunningStack:
        self.users, _ = setup(self.settings)
        self.supervisor.start_all()
        unhealthy = self.supervisor.wait_healthy(60)
        if unhealthy:
            raise RuntimeError(f"not healthy: {unhealthy}; logs in {self.log_dir}")
        self.wait_quiet()
        return self

    def stop(self) -> None:
        self.supervisor.stop_all()
        if not settings_from_env().keep_test_dbs:
            destroy(self.settings)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        child = self.supervisor.children[name]
        child.signal(sig)
        child.proc.wait(10)

    def pause(self, name: str) -> None:
        """Freeze a process (SIGSTOP): its queue fills while it holds its connections."""
        self.supervisor.children[name].signal(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self.supervisor.children[name].signal(signal.SIGCONT)

    def restart(self, name: str, env: dict[str, str] | None = None, wait: bool = True) -> None:
        child = self.supervisor.children[name]
        if child.alive:
            self.kill(name)
        child.env = {**self.env, **(env or {})}
        child.start()
        if wait and child.spec.health_url:
            assert not self.supervisor.wait_healthy(30)

    def alive(self, name: str) -> bool:
        return self.supervisor.children[name].alive

    def logs(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text() if path.exists() else ""

    # -------------------------------------------------------------- helpers
    def anonymous(self) -> Api:
        return Api(self.url)

    def login(self, name_or_id: str | int, password: str | None = None) -> Api:
        user_id = self.users[name_or_id] if isinstance(name_or_id, str) else name_or_id
        body: dict[str, Any] = {"user_id": user_id}
        if password is not None:
            body["password"] = password
        resp = requests.post(self.url + "/api/sessions", json=body, timeout=10)
        assert resp.status_code == 201, resp.text
        data = resp.json()
        return Api(self.url, data["token"], data["user"])

    def instructor(self) -> Api:
        return self.login("Instructor", INSTRUCTOR_PASSWORD)

    def db(self, service: str) -> psycopg.Connection:
        return connect(self.settings.database_url(service), autocommit=True)

    def wait_quiet(self, timeout: float = 60.0) -> None:
        quiet = wait_quiet(self.settings, timeout)
        assert quiet.quiet, f"never quiet: {quiet.in_flight}"

    def audit(self) -> list[str]:
        self.wait_quiet()
        return check(self.settings)

    def with_settings(self, **changes: Any) -> Settings:
        return dataclasses.replace(self.settings, **changes)


@contextlib.contextmanager
def running_stack(name: str, extra_env: dict[str, str] | None = None, matching_shards: int = 1,
                  more_processes: Callable[[Settings], list[ProcessSpec]] | None = None) -> Iterator[RunningStack]:
    """A started exchange, stopped and destroyed afterwards (also when starting failed)."""
    running = RunningStack(name, extra_env, matching_shards, more_processes)
    try:
        yield running.start()
    finally:
        running.stop()


