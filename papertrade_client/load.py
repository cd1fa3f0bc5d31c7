"""`papertrade load`: read a file of orders, send it with N senders, measure.

File formats: CSV with a header row, or JSON lines (one object per line). The
fields are the order's (`symbol, side, type, qty, limit_price, time_in_force,
client_order_id`) plus `user_id`, whose user places the line's order (the tool
logs each user in; a line without one is placed by the logged-in user). A bad
line is reported by its line number and the others still go.

Each user's lines are sent in file order (one request of theirs in flight at a
time), different users in parallel; `batch_size` > 1 sends a user's lines
through POST /api/orders/batch. Every line carries a client_order_id (the
file's, or `<run>-<line>`), so the client's retries never place an order twice.
"""

from __future__ import annotations

import csv
import json
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .client import Client
from .errors import PapertradeError
from .orders import MAX_BATCH, OrderRequest


@dataclass(frozen=True)
class Line:
    number: int
    request: OrderRequest


@dataclass(frozen=True)
class LineError:
    number: int
    code: str
    message: str
    field: str | None = None


def read_orders(path: Path) -> tuple[list[Line], list[LineError]]:
    """Parse and check every line; (valid lines, errors by line number)."""
    text = path.read_text(encoding="utf-8-sig")
    if _is_jsonl(path, text):
        return _check(_jsonl_rows(text))
    return _check(_csv_rows(text))


def _is_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return True
    if suffix == ".csv":
        return False
    return text.lstrip().startswith("{")


def _csv_rows(text: str) -> Iterable[tuple[int, dict[str, Any] | None, str | None]]:
    reader = csv.reader(text.splitlines())
    header: list[str] | None = None
    for row in reader:
        number = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if header is None:
            header = [h.strip().lower() for h in row]
            continue
        if len(row) > len(header):
            yield number, None, f"{len(row)} cells but the header has {len(header)}"
            continue
        yield number, dict(zip(header, row, strict=False)), None


def _jsonl_rows(text: str) -> Iterable[tuple[int, dict[str, Any] | None, str | None]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw, parse_float=Decimal)
        except ValueError as exc:
            yield number, None, f"not JSON ({exc.args[0][:60]})"
            continue
        if not isinstance(value, dict):
            yield number, None, "each line must be a JSON object"
            continue
        yield number, value, None


def _check(rows: Iterable[tuple[int, dict[str, Any] | None, str | None]]) -> tuple[list[Line], list[LineError]]:
    good: list[Line] = []
    bad: list[LineError] = []
    for number, row, problem in rows:
        if row is None:
            bad.append(LineError(number, "unreadable", problem or "unreadable"))
            continue
        try:
            request = OrderRequest.from_fields(row)
        except ValueError as exc:
            bad.append(LineError(number, "invalid", str(exc)))
            continue
        problems = request.problems()
        if problems:
            name, message = problems[0]
            bad.append(LineError(number, "invalid", message, name))
        else:
            good.append(Line(number, request))
    return good, bad


# ---------------------------------------------------------------------- sending
@dataclass
class LoadResult:
    lines: int = 0
    accepted: int = 0  # 201: a new order
    repeated: int = 0  # 200: an order this client_order_id had already placed
    rejected: Counter[str] = field(default_factory=Counter)  # by error code, file errors included
    errors: list[LineError] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds per HTTP request
    elapsed: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def sent(self) -> int:
        """Orders that reached the server (bad file lines and failed logins did not)."""
        unsent = ("file:", "login:")
        return self.accepted + self.repeated + sum(v for k, v in self.rejected.items() if not k.startswith(unsent))

    @property
    def orders_per_s(self) -> float:
        return self.sent / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
        return ordered[k] * 1000

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines, "sent": self.sent, "accepted": self.accepted, "repeated": self.repeated,
            "rejected": dict(sorted(self.rejected.items())), "requests": self.requests, "retries": self.retries,
            "elapsed_s": round(self.elapsed, 3), "orders_per_s": round(self.orders_per_s, 1),
            "latency_ms": {f"p{p}": _round(self.percentile_ms(p)) for p in (50, 95, 99)},
            "errors": [{"line": e.number, "code": e.code, "message": e.message, "field": e.field}
                       for e in sorted(self.errors, key=lambda e: e.number)],
        }


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


class _Dispatcher:
    """Hands out chunks so that one user's chunks go one at a time, in file order,
    while different users' chunks go in parallel."""

    def __init__(self, chunks: list[tuple[Any, list[Line]]]) -> None:
        self._pending: dict[Any, deque[list[Line]]] = {}
        for key, chunk in chunks:
            self._pending.setdefault(key, deque()).append(chunk)
        self._order: deque[Any] = deque(self._pending)
        self._busy: set[Any] = set()
        self._cond = threading.Condition()

    def take(self) -> tuple[Any, list[Line]] | None:
        with self._cond:
            while True:
                if not self._pending:
                    return None
                for _ in range(len(self._order)):
                    key = self._order[0]
                    self._order.rotate(-1)
                    if key not in self._busy:
                        self._busy.add(key)
                        return key, self._pending[key].popleft()
                self._cond.wait()

    def done(self, key: Any) -> None:
        with self._cond:
            self._busy.discard(key)
            if not self._pending[key]:
                del self._pending[key]
                self._order.remove(key)
            self._cond.notify_all()


def send_orders(base_url: str, lines: list[Line], *, token: str | None, instructor: bool = False,
                concurrency: int = 4, batch_size: int = 100, result: LoadResult | None = None,
                progress: Callable[[int], None] | None = None, retries: int = 3) -> LoadResult:
    """Send the lines; `token` places lines without a user_id (and every line when
    `instructor`: the orders then carry their user_id instead of a per-user login)."""
    result = result or LoadResult()
    run = uuid.uuid4().hex[:12]
    batch_size = max(1, min(batch_size, MAX_BATCH))
    login = Client(base_url, retries=retries)
    tokens: dict[int | None, str | None] = {None: token}
    failed_login: dict[int, PapertradeError] = {}
    keyed: dict[int | None, list[Line]] = {}
    for line in lines:
        req = line.request
        if req.client_order_id is None:
            req.client_order_id = f"{run}-{line.number}"
        user = req.user_id
        if instructor:
            key = user  # still one user's orders in order
        else:
            if user is not None and user not in tokens and user not in failed_login:
                try:
                    tokens[user] = login.login(user).token
                except PapertradeError as exc:
                    failed_login[user] = exc
            req.user_id = None  # the user's own token says who
            key = user
        if user is not None and user in failed_login:
            _reject(result, [line], failed_login[user], prefix="login:")
            if progress:
                progress(1)
            continue
        keyed.setdefault(key, []).append(line)
    login.close()
    chunks = [(key, group[i:i + batch_size]) for key, group in keyed.items()
              for i in range(0, len(group), batch_size)]
    dispatcher = _Dispatcher(chunks)

    def sender() -> None:
        client = Client(base_url, retries=retries)
        try:
            while (item := dispatcher.take()) is not None:
                key, chunk = item
                try:
                    who = client.using(token if instructor else tokens.get(key))
                    _send_chunk(who, chunk, batch_size, result)
                    with result.lock:
                        result.retries += who.retried
                finally:
                    dispatcher.done(key)
                if progress:
                    progress(len(chunk))
        finally:
            client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=sender, name=f"sender-{i}", daemon=True) for i in range(max(1, concurrency))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.elapsed = time.perf_counter() - started
    return result


def _send_chunk(client: Client, chunk: list[Line], batch_size: int, result: LoadResult) -> None:
    if batch_size == 1:
        for line in chunk:
            t0 = time.perf_counter()
            try:
                order = client.place(line.request)
            except PapertradeError as exc:
                _record(result, time.perf_counter() - t0)
                _reject(result, [line], exc)
                continue
            _record(result, time.perf_counter() - t0)
            with result.lock:
                if order.created:
                    result.accepted += 1
                else:
                    result.repeated += 1
        return
    t0 = time.perf_counter()
    try:
        outcomes = client.place_orders([line.request for line in chunk])
    except PapertradeError as exc:
        _record(result, time.perf_counter() - t0)
        _reject(result, chunk, exc)
        return
    _record(result, time.perf_counter() - t0)
    with result.lock:
        for line, outcome in zip(chunk, outcomes, strict=True):
            if isinstance(outcome, PapertradeError):
                result.rejected[outcome.code] += 1
                result.errors.append(LineError(line.number, outcome.code, outcome.message, outcome.field))
            else:
                # a batch answers a repeated client_order_id with the earlier order too,
                # without a status of its own: both count as accepted
                result.accepted += 1


def _record(result: LoadResult, seconds: float) -> None:
    with result.lock:
        result.requests += 1
        result.latencies.append(seconds)


def _reject(result: LoadResult, lines: list[Line], exc: PapertradeError, prefix: str = "") -> None:
    with result.lock:
        for line in lines:
            result.rejected[prefix + exc.code] += 1
            result.errors.append(LineError(line.number, prefix + exc.code, exc.message, exc.field))
