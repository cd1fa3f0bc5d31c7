"""`python -m stack up`: everything on this machine, under one supervisor.

Checks PostgreSQL and RabbitMQ, creates and migrates the five databases, seeds
the demo class, starts every process (five APIs, five workers, the gateway),
prints the address and the instructor's credentials, and stops everything on
Ctrl-C. `python -m stack setup` does the database part only.
`python -m stack dead-letters list|replay [--service S] [--id EVENT_ID] [--force]` shows or
replays the messages a worker set aside (stack/dead_letters.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import secrets
import signal
import sys

import psycopg

from db.migrate import setup_databases
from db.seed import INSTRUCTOR_NAME, seed_demo, set_instructor_password
from service_runtime import catalog
from service_runtime.config import Settings, get_settings, settings_from_env, state_dir
from service_runtime.topology import blocking_connection, declare_all

from .processes import all_processes, extra_gateway, settings_env, standby
from .supervisor import Supervisor
from .teardown import destroy

STATE_DIR = state_dir(settings_from_env())


def check_dependencies(settings: Settings) -> list[str]:
    problems = []
    try:
        with psycopg.connect(settings.pg_url.rstrip("/") + "/postgres", connect_timeout=3):
            pass
    except psycopg.Error as exc:
        problems.append(
            f"PostgreSQL is not reachable at {settings.pg_url} ({str(exc).strip().splitlines()[0]}).\n"
            "  Start it (Debian: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)\n"
            "  or point PAPERTRADE_PG_URL at a server, e.g. postgresql://user:pass@host:5432"
        )
    try:
        blocking_connection(settings, "check").close()
    except Exception as exc:  # noqa: BLE001 - pika raises many kinds; all mean "not reachable"
        problems.append(
            f"RabbitMQ is not reachable at {settings.amqp_url} ({type(exc).__name__}).\n"
            "  Start it (rabbitmq-server -detached) or set PAPERTRADE_AMQP_URL, e.g. amqp://user:pass@host:5672/%2F"
        )
    return problems


def secret_key(settings: Settings) -> str:
    """The token signing key: from the environment, else one generated once and kept in .papertrade/."""
    if settings.secret_key:
        return settings.secret_key
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    path = STATE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def setup(settings: Settings) -> tuple[dict[str, int], str]:
    setup_databases(settings)
    with blocking_connection(settings, "setup") as conn:
        declare_all(conn.channel(), settings, catalog.consumed_by_services())
    ids = seed_demo(settings)
    password = set_instructor_password(settings, settings.instructor_password)
    return ids, password


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "setup", "check", "destroy", "dead-letters"], nargs="?",
                        default="up")
    parser.add_argument("action", nargs="?", choices=["list", "replay"], default="list",
                        help="dead-letters only: list them (default) or replay them to their service's queue")
    parser.add_argument("--service", help="dead-letters only: one service's dead letters")
    parser.add_argument("--id", help="dead-letters replay only: the one event id to replay")
    parser.add_argument("--force", action="store_true",
                        help="dead-letters replay only: apply events older than the inbox's retention "
                             "(only for events you know were never applied)")
    parser.add_argument("--standbys", action="store_true", help="up: a hot standby for every worker")
    parser.add_argument("--gateways", type=int, default=1, help="up: gateway processes (the second on port+7, ...)")
    args = parser.parse_args(argv)
    settings = get_settings()
    problems = check_dependencies(settings)
    if problems:
        print("papertrade cannot start:\n" + "\n".join(problems), file=sys.stderr)
        raise SystemExit(2)
    if args.command == "check":
        print("PostgreSQL and RabbitMQ are reachable")
        return
    if args.command == "dead-letters":
        from . import dead_letters

        dead_letters.main(settings, args)
        return
    if args.command == "destroy":
        destroy(settings)
        print(f"namespace {settings.namespace!r}: databases, queues and exchanges removed")
        return
    settings = dataclasses.replace(settings, secret_key=secret_key(settings))
    ids, password = setup(settings)
    if args.command == "setup":
        print(f"databases migrated and demo class seeded; instructor password: {password}")
        return

    log_dir = STATE_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    specs = all_processes(settings)
    if args.standbys:
        specs += [standby(s) for s in specs if s.name.endswith("-worker")]
    specs += [extra_gateway(settings, settings.port + 5 + i, index=i) for i in range(2, args.gateways + 1)]
    supervisor = Supervisor(specs, settings_env(settings), log_dir=str(log_dir))

    def stop(signum: int, frame: object) -> None:
        print("\nstopping papertrade ...", flush=True)
        supervisor.stop_all()
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor.start_all()
    unhealthy = supervisor.wait_healthy(60)
    url = f"http://{'localhost' if settings.host in ('127.0.0.1', '0.0.0.0') else settings.host}:{settings.port}"
    banner = [
        "",
        "=" * 64,
        f"  papertrade is running at {url}",
        *(f"  another gateway at http://localhost:{settings.port + 5 + i}" for i in range(2, args.gateways + 1)),
        f"  instructor: user_id {ids[INSTRUCTOR_NAME]} ({INSTRUCTOR_NAME}), password {password}",
        "  demo traders: " + ", ".join(f"{n} ({i})" for n, i in ids.items() if n != INSTRUCTOR_NAME),
        f"  logs: {log_dir}    stop: Ctrl-C",
        "=" * 64,
    ]
    if unhealthy:
        banner.insert(2, "  not healthy yet: " + ", ".join(unhealthy))
    print("\n".join(banner), flush=True)
    supervisor.watch()


if __name__ == "__main__":
    main()
