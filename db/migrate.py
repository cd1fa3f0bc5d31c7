"""Create the databases (five services and house_bots) when missing and bring each to its latest migration.

    python -m db.migrate            # all services
    python -m db.migrate stock_data # one

Each service's history lives in db/migrations/<service>/; a new migration:
    alembic -c /dev/null ... (see docs/operations.md: `python -m db.migrate --new SERVICE "message"`)
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from psycopg import sql
from psycopg.rows import dict_row

from service_runtime.config import API_SERVICES, Settings, get_settings

HERE = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger("papertrade.db")


def sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(HERE / service))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def server_url(settings: Settings, service: str) -> tuple[str, str]:
    """(URL of the maintenance database on the same server, database name)."""
    url = settings.database_url(service)
    base, _, name = url.rpartition("/")
    name = name.split("?")[0]
    return f"{base}/postgres", name


def create_database(settings: Settings, service: str) -> bool:
    admin_url, name = server_url(settings, service)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        log.info("created database %s", name)
        return True


def drop_database(settings: Settings, service: str) -> None:
    admin_url, name = server_url(settings, service)
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrate(settings: Settings, service: str, database: str | None = None) -> None:
    """Bring `database` (by default the service's own; a matching shard's) to the
    service's latest migration."""
    command.upgrade(alembic_config(service, settings.database_url(database or service)), "head")


def setup_databases(settings: Settings, services: tuple[str, ...] = API_SERVICES) -> None:
    for service in services:
        for database in settings.databases(service):
            create_database(settings, database)
            migrate(settings, service, database)
    if "order_matching" in services:
        record_matching_shards(settings)


def record_matching_shards(settings: Settings) -> None:
    """Write the shard count into every matching shard's database; refuse to change it
    while books hold orders (their symbols would move to shards without their books)."""
    from order_matching import store  # the one service whose data depends on the shard map

    for database in settings.databases("order_matching"):
        with psycopg.connect(settings.database_url(database), row_factory=dict_row) as conn, conn.transaction():
            recorded = store.recorded_shards(conn)
            if recorded not in (None, settings.matching_shards) and store.has_orders(conn):
                raise SystemExit(
                    f"{database} was set up for {recorded} matching shards and holds orders; "
                    f"PAPERTRADE_MATCHING_SHARDS={settings.matching_shards} would move symbols away from "
                    "their books. Keep the shard count, or reset/destroy the namespace first."
                )
            store.record_shards(conn, settings.matching_shards)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("services", nargs="*", default=list(API_SERVICES))
    parser.add_argument("--new", metavar="MESSAGE", help="create a new empty revision for the one service given")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    if args.new:
        if len(args.services) != 1:
            raise SystemExit("--new needs exactly one service")
        service = args.services[0]
        command.revision(alembic_config(service, settings.database_url(service)), message=args.new)
        return
    setup_databases(settings, tuple(args.services))
    for service in args.services:
        print(f"{service}: migrated")


if __name__ == "__main__":
    main()
