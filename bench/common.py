"""What the benchmarks share: percentiles, a lean order sender, tokens, and per-process
CPU and memory read from /proc."""

from __future__ import annotations

import http.client
import json
import os
import statistics
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from stack.local import Api, RunningStack

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {"n": len(values_ms), "p50_ms": round(pct(values_ms, 50), 1), "p95_ms": round(pct(values_ms, 95), 1),
            "p99_ms": round(pct(values_ms, 99), 1),
            "mean_ms": round(statistics.fmean(values_ms), 1) if values_ms else float("nan")}


def token_of(api: Api) -> str:
    return api.session.headers["Authorization"].split(" ", 1)[1]


class OrderSender:
    """A lean HTTP client for order loops: one kept-alive http.client connection per
    sending thread (requests costs ~3x the CPU per call, and a benchmark shares the
    two cores with the exchange it measures)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.local = threading.local()

    def post(self, token: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        data = json.dumps(body)
        try:
            conn.request("POST", path, body=data, headers={"Authorization": f"Bearer {token}",
                                                           "Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read())
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            raise

    def place(self, token: str, body: dict[str, Any], errors: list[str]) -> int | None:
        """POST /api/orders: the new order's id, or None with what went wrong added to
        `errors` (a benchmark counts failures rather than stopping at the first)."""
        try:
            status, answer = self.post(token, "/api/orders", body)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            return None
        if status != 201:
            errors.append(f"{status} {str(answer)[:200]}")
            return None
        return answer["id"]


@dataclass
class ProcSample:
    cpu_s: float
    rss_mb: float
    peak_mb: float


def _pids_by_name() -> dict[str, list[int]]:
    """Every process's pid under its command name (for PostgreSQL and RabbitMQ)."""
    out: dict[str, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                name = (entry / "comm").read_text().strip()
            except OSError:
                continue
            out.setdefault(name, []).append(int(entry.name))
    return out


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:  # field 5 of stat: the process group
                pids.append(int(entry.name))
    return pids


def _sample(pids: list[int]) -> ProcSample:
    cpu = rss = peak = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) / 1024)
    return ProcSample(cpu, rss, peak)


def process_groups(stack: RunningStack) -> dict[str, list[int]]:
    """The stack's processes (a gunicorn master with its workers counts as one), plus
    PostgreSQL and RabbitMQ (all their processes, whoever else uses them)."""
    groups = {name: _group_pids(child.proc.pid) for name, child in stack.supervisor.children.items()
              if child.alive}
    by_name = _pids_by_name()
    groups["postgresql"] = by_name.get("postgres", [])
    groups["rabbitmq"] = by_name.get("beam.smp", [])
    return groups


def sample_processes(groups: dict[str, list[int]]) -> dict[str, ProcSample]:
    return {name: _sample(pids) for name, pids in groups.items()}


def save_result(result: dict[str, Any], path: str) -> None:
    """Write a benchmark's figures as JSON (creating the folder) and say where."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")


def finish(result: dict[str, Any], path: str) -> None:
    """Save the figures; a run whose audit found anything lost or doubled failed (exit 1)."""
    save_result(result, path)
    if result["audit_violations"]:
        sys.exit(1)


def flow_counts(stack: RunningStack) -> dict[str, int]:
    """Durable publishes (outbox rows written), durable deliveries (inbox rows written)
    and transactions committed (read-only ones included), summed over the stack's
    databases, from PostgreSQL's statistics (read after the exchange went quiet)."""
    from service_runtime.config import SERVICES
    from service_runtime.db import connect

    settings = stack.settings
    names = {db: settings.database_name(db) for s in SERVICES for db in settings.databases(s)}
    out = {"publishes": 0, "deliveries": 0, "transactions": 0}
    with connect(f"{settings.pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
        out["transactions"] = int(conn.execute(
            "SELECT coalesce(sum(xact_commit), 0) AS n FROM pg_stat_database WHERE datname = ANY(%s)",
            (list(names.values()),)).fetchone()["n"])
    for db in names:
        with connect(settings.database_url(db), autocommit=True) as conn:
            rows = conn.execute("SELECT relname, n_tup_ins FROM pg_stat_user_tables"
                                " WHERE relname IN ('outbox', 'inbox')").fetchall()
        for r in rows:
            out["publishes" if r["relname"] == "outbox" else "deliveries"] += int(r["n_tup_ins"])
    return out


def statements_reset(stack: RunningStack) -> bool:
    """Zero pg_stat_statements before a phase; False when the extension is not loaded
    (it needs `shared_preload_libraries`, docs/performance.md says how)."""
    from service_runtime.db import connect

    with connect(f"{stack.settings.pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
        try:
            conn.execute("SELECT pg_stat_statements_reset()")
        except Exception:  # noqa: BLE001 - not installed or not preloaded: the figures just go without it
            return False
    return True


def statements(stack: RunningStack, orders: int, top: int = 12) -> list[dict[str, Any]]:
    """The stack's statements by total time since the reset, with what each costs per call
    in buffers touched (a cost that grows with a table's size shows there first) and
    per order."""
    from service_runtime.config import SERVICES
    from service_runtime.db import connect

    settings = stack.settings
    names = [settings.database_name(db) for s in SERVICES for db in settings.databases(s)]
    with connect(f"{settings.pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
        rows = conn.execute(
            "SELECT d.datname AS db, s.calls, s.total_exec_time, s.max_exec_time, s.rows, s.shared_blks_read AS reads,"
            " s.shared_blks_hit + s.shared_blks_read AS blocks, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 160) AS query"
            " FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            " WHERE d.datname = ANY(%s) ORDER BY s.total_exec_time DESC LIMIT %s", (names, top)).fetchall()
    return [{"db": r["db"].removeprefix(f"{settings.namespace}_"), "calls": int(r["calls"]),
             "calls_per_order": round(int(r["calls"]) / max(orders, 1), 2),
             "mean_ms": round(float(r["total_exec_time"]) / max(int(r["calls"]), 1), 4),
             "max_ms": round(float(r["max_exec_time"]), 2),
             "reads_per_call": round(int(r["reads"]) / max(int(r["calls"]), 1), 2),
             "blocks_per_call": round(int(r["blocks"]) / max(int(r["calls"]), 1), 1),
             "rows_per_call": round(int(r["rows"]) / max(int(r["calls"]), 1), 1), "query": r["query"]}
            for r in rows]
