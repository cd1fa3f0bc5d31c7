"""Configuration: every setting comes from one environment variable with a local default.

One `Settings` object per process, read once. The names are documented in
docs/operations.md; tests/unit/test_docs.py keeps the two in step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SERVICES: tuple[str, ...] = (
    "user_accounts",
    "user_portfolio",
    "stock_data",
    "stock_ordering",
    "order_matching",
)

# The house bots process: an HTTP API and a database like a service, but not one
# of the five event services (it consumes and emits no events; it trades through
# the public REST API like any script).
HOUSE_BOTS = "house_bots"
# Everything the gateway routes to and that owns a database of its own.
API_SERVICES: tuple[str, ...] = (*SERVICES, HOUSE_BOTS)

# Port offsets from PAPERTRADE_PORT: the gateway owns the public port itself,
# each service's HTTP API listens on the next ones unless its URL is given.
SERVICE_PORT_OFFSET: dict[str, int] = {name: i + 1 for i, name in enumerate(API_SERVICES)}


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def _env_bool(name: str, default: bool) -> bool:
    return _env(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    namespace: str = "papertrade"
    pg_url: str = "postgresql://postgres@127.0.0.1:5432"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""
    token_ttl_seconds: int = 12 * 3600
    instructor_password: str | None = None
    quorum_queues: bool = True
    consumer_prefetch: int = 1000
    max_batch: int = 500
    db_pool_size: int = 8
    log_level: str = "INFO"
    # order entry per token (service_runtime/rate_limit.py): requests per second, 0 = off;
    # burst 0 = twice the rate; bots (house liquidity) are not limited unless asked
    rate_limit: float = 200.0
    rate_limit_burst: int = 0
    rate_limit_bots: bool = False
    # matching sharded by symbol (service_runtime/shards.py): how many shards exist (every
    # process must agree), and which one this process is (order_matching workers)
    matching_shards: int = 1
    matching_shard: int = 0
    # a worker's /metrics and /healthz (0: a free port, logged at start)
    metrics_port: int = 0
    # a service API's /healthz says "degraded" (still 200) when its oldest unsent
    # outbox event is older than this: the broker or the relaying worker is down
    outbox_stall_seconds: float = 5.0
    # how long processed event ids stay in the inboxes: longer than any redelivery
    # (docs/reliability.md, "The inbox's retention")
    inbox_retention_hours: float = 168.0
    inbox_prune_seconds: float = 60.0  # how often a worker deletes what is past the retention
    parked_expiry_hours: float = 24.0  # an event parked longer goes to the dead letters
    # fault points for the crash tests (service_runtime/faults.py); empty in production
    faults: str = ""
    # a service API's gunicorn: address, processes, threads per process
    api_bind: str = "127.0.0.1:8001"
    api_processes: int = 1
    api_threads: int = 32
    # an API that writes most of its service's events (the order door) relays them itself
    relay_in_api: bool = True
    # where `python -m stack` keeps its state (the generated secret, pids)
    state_dir: str = ""
    # where test stacks write logs and screenshots; keep their databases afterwards
    artifacts_dir: str = ""
    keep_test_dbs: bool = False
    # the house bots: where they reach the public API ("" = this host's origin), how often they decide
    gateway_url: str = ""
    bots_tick_seconds: str = "1"
    database_urls: dict[str, str] = field(default_factory=dict)
    service_urls: dict[str, str] = field(default_factory=dict)

    @property
    def exchange(self) -> str:
        """The one durable topic exchange for domain events."""
        return f"{self.namespace}.events"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dead"

    def queue(self, service: str) -> str:
        return f"{self.namespace}.{service}"

    def dead_letter_queue(self, service: str) -> str:
        return f"{self.namespace}.{service}.dead"

    def queues(self, service: str) -> list[str]:
        """The durable queues a consuming service reads: one, or one per matching shard."""
        if service == "order_matching" and self.matching_shards > 1:
            return [self.matching_queue(k) for k in range(self.matching_shards)]
        return [self.queue(service)]

    def matching_queue(self, shard: int) -> str:
        if self.matching_shards == 1:
            return self.queue("order_matching")
        return f"{self.namespace}.order_matching.s{shard}"

    def databases(self, service: str) -> list[str]:
        """The database targets of a service: its own, plus one per further matching shard."""
        if service == "order_matching":
            return [shard_database(k) for k in range(self.matching_shards)]
        return [service]

    def database_name(self, service: str) -> str:
        return f"{self.namespace}_{service}"

    def database_url(self, service: str) -> str:
        return self.database_urls.get(service) or f"{self.pg_url.rstrip('/')}/{self.database_name(service)}"

    def service_port(self, service: str) -> int:
        return self.port + SERVICE_PORT_OFFSET[service]

    def service_url(self, service: str) -> str:
        return self.service_urls.get(service) or f"http://{self.host}:{self.service_port(service)}"


def shard_database(shard: int) -> str:
    """A matching shard's database target: shard 0 keeps order_matching's own database
    (one shard is exactly the unsharded service), shard k > 0 has `order_matching_s<k>`."""
    return "order_matching" if shard == 0 else f"order_matching_s{shard}"


def settings_from_env() -> Settings:
    """Read the settings from PAPERTRADE_* environment variables."""
    database_urls = {}
    service_urls = {}
    shards = _env_int("PAPERTRADE_MATCHING_SHARDS", Settings.matching_shards)
    for k in range(1, shards):
        # PAPERTRADE_ORDER_MATCHING_S<k>_DB_URL: shard k's own database (server)
        if os.environ.get(f"PAPERTRADE_ORDER_MATCHING_S{k}_DB_URL"):
            database_urls[shard_database(k)] = os.environ[f"PAPERTRADE_ORDER_MATCHING_S{k}_DB_URL"]
    for service in API_SERVICES:
        key = service.upper()
        if os.environ.get(f"PAPERTRADE_{key}_DB_URL"):
            database_urls[service] = os.environ[f"PAPERTRADE_{key}_DB_URL"]
        if os.environ.get(f"PAPERTRADE_{key}_URL"):
            service_urls[service] = os.environ[f"PAPERTRADE_{key}_URL"]
    return Settings(
        namespace=_env("PAPERTRADE_NAMESPACE", Settings.namespace),
        pg_url=_env("PAPERTRADE_PG_URL", Settings.pg_url),
        amqp_url=_env("PAPERTRADE_AMQP_URL", Settings.amqp_url),
        host=_env("PAPERTRADE_HOST", Settings.host),
        port=_env_int("PAPERTRADE_PORT", Settings.port),
        secret_key=_env("PAPERTRADE_SECRET_KEY", ""),
        token_ttl_seconds=_env_int("PAPERTRADE_TOKEN_TTL_SECONDS", Settings.token_ttl_seconds),
        instructor_password=os.environ.get("PAPERTRADE_INSTRUCTOR_PASSWORD") or None,
        quorum_queues=_env_bool("PAPERTRADE_QUORUM_QUEUES", Settings.quorum_queues),
        consumer_prefetch=_env_int("PAPERTRADE_CONSUMER_PREFETCH", Settings.consumer_prefetch),
        max_batch=_env_int("PAPERTRADE_MAX_BATCH", Settings.max_batch),
        db_pool_size=_env_int("PAPERTRADE_DB_POOL_SIZE", Settings.db_pool_size),
        log_level=_env("PAPERTRADE_LOG_LEVEL", Settings.log_level),
        rate_limit=_env_float("PAPERTRADE_RATE_LIMIT", Settings.rate_limit),
        rate_limit_burst=_env_int("PAPERTRADE_RATE_LIMIT_BURST", Settings.rate_limit_burst),
        rate_limit_bots=_env_bool("PAPERTRADE_RATE_LIMIT_BOTS", Settings.rate_limit_bots),
        matching_shards=shards,
        matching_shard=_env_int("PAPERTRADE_MATCHING_SHARD", Settings.matching_shard),
        metrics_port=_env_int("PAPERTRADE_METRICS_PORT", Settings.metrics_port),
        outbox_stall_seconds=_env_float("PAPERTRADE_OUTBOX_STALL_SECONDS", Settings.outbox_stall_seconds),
        inbox_retention_hours=_env_float("PAPERTRADE_INBOX_RETENTION_HOURS", Settings.inbox_retention_hours),
        inbox_prune_seconds=_env_float("PAPERTRADE_INBOX_PRUNE_SECONDS", Settings.inbox_prune_seconds),
        parked_expiry_hours=_env_float("PAPERTRADE_PARKED_EXPIRY_HOURS", Settings.parked_expiry_hours),
        faults=_env("PAPERTRADE_FAULTS", ""),
        api_bind=_env("PAPERTRADE_BIND", Settings.api_bind),
        api_processes=_env_int("PAPERTRADE_API_PROCESSES", Settings.api_processes),
        api_threads=_env_int("PAPERTRADE_API_THREADS", Settings.api_threads),
        relay_in_api=_env_bool("PAPERTRADE_RELAY_IN_API", Settings.relay_in_api),
        state_dir=_env("PAPERTRADE_STATE_DIR", ""),
        artifacts_dir=_env("PAPERTRADE_ARTIFACTS", ""),
        keep_test_dbs=_env_bool("PAPERTRADE_KEEP_TEST_DBS", False),
        gateway_url=_env("PAPERTRADE_GATEWAY_URL", ""),
        bots_tick_seconds=_env("PAPERTRADE_BOTS_TICK_SECONDS", Settings.bots_tick_seconds),
        database_urls=database_urls,
        service_urls=service_urls,
    )


ROOT = Path(__file__).resolve().parent.parent


def state_dir(settings: Settings) -> Path:
    """Where `python -m stack` keeps its generated secret and logs."""
    return Path(settings.state_dir) if settings.state_dir else ROOT / ".papertrade"


def artifacts_dir(settings: Settings) -> Path:
    """Where test stacks write their logs and screenshots."""
    return Path(settings.artifacts_dir) if settings.artifacts_dir else ROOT / "tests" / "artifacts"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_env()
