"""Every process of the stack, declared once: the supervisor, the tests and the
docker-compose check all read this list."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from service_runtime.config import API_SERVICES, HOUSE_BOTS, SERVICES, Settings


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    health_url: str | None = None


def api_process(settings: Settings, service: str, python: str = sys.executable) -> ProcessSpec:
    port = settings.service_port(service)
    return ProcessSpec(
        name=f"{service}-api",
        argv=[
            python, "-m", "gunicorn", "-c", "python:service_runtime.gunicorn_conf",
            f'service_runtime.entrypoints:create_service_app("{service}")',
        ],
        env={"PAPERTRADE_BIND": f"{settings.host}:{port}"},
        health_url=f"http://{settings.host}:{port}/healthz",
    )


def worker_process(service: str, python: str = sys.executable) -> ProcessSpec:
    return ProcessSpec(name=f"{service}-worker", argv=[python, "-m", "service_runtime.worker", service])


def matching_workers(settings: Settings, python: str = sys.executable) -> list[ProcessSpec]:
    """order_matching's workers: one, or one per shard (`order_matching-s<k>-worker`)."""
    if settings.matching_shards == 1:
        return [worker_process("order_matching", python)]
    return [
        ProcessSpec(name=f"order_matching-s{k}-worker",
                    argv=[python, "-m", "service_runtime.worker", "order_matching"],
                    env={"PAPERTRADE_MATCHING_SHARD": str(k)})
        for k in range(settings.matching_shards)
    ]


def standby(spec: ProcessSpec) -> ProcessSpec:
    """A second copy of a worker: a hot standby (its queue has a single active consumer)."""
    return ProcessSpec(name=f"{spec.name}-standby", argv=spec.argv, env=spec.env, health_url=spec.health_url)


def extra_gateway(settings: Settings, port: int, index: int = 2, python: str = sys.executable) -> ProcessSpec:
    """Another gateway process on `port`, reaching the same service APIs (its own
    exclusive event queue, so it pushes to its own clients)."""
    env = {"PAPERTRADE_PORT": str(port)}
    for service in API_SERVICES:
        env[f"PAPERTRADE_{service.upper()}_URL"] = settings.service_url(service)
    return ProcessSpec(name=f"gateway{index}", argv=[python, "-m", "socket_gateway"], env=env,
                       health_url=f"http://{settings.host}:{port}/healthz")


def house_bots_process(settings: Settings, python: str = sys.executable) -> ProcessSpec:
    """The house bots' API and bot loop: one gunicorn process (its own config pins
    one worker, since the bot loop must run exactly once)."""
    port = settings.service_port(HOUSE_BOTS)
    return ProcessSpec(
        name=f"{HOUSE_BOTS}-api",
        argv=[python, "-m", "gunicorn", "-c", "python:house_bots.gunicorn_conf", "house_bots.app:create_bots_app()"],
        env={"PAPERTRADE_BIND": f"{settings.host}:{port}"},
        health_url=f"http://{settings.host}:{port}/healthz",
    )


def gateway_process(settings: Settings, python: str = sys.executable) -> ProcessSpec:
    return ProcessSpec(
        name="gateway",
        argv=[python, "-m", "socket_gateway"],
        health_url=f"http://{settings.host}:{settings.port}/healthz",
    )


def all_processes(settings: Settings, python: str = sys.executable) -> list[ProcessSpec]:
    specs = []
    for service in SERVICES:
        specs.append(api_process(settings, service, python))
        if service == "order_matching":
            specs.extend(matching_workers(settings, python))
        else:
            specs.append(worker_process(service, python))
    specs.append(house_bots_process(settings, python))
    specs.append(gateway_process(settings, python))
    return specs


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process these settings."""
    env = {
        "PAPERTRADE_NAMESPACE": settings.namespace,
        "PAPERTRADE_PG_URL": settings.pg_url,
        "PAPERTRADE_AMQP_URL": settings.amqp_url,
        "PAPERTRADE_HOST": settings.host,
        "PAPERTRADE_PORT": str(settings.port),
        "PAPERTRADE_SECRET_KEY": settings.secret_key,
        "PAPERTRADE_TOKEN_TTL_SECONDS": str(settings.token_ttl_seconds),
        "PAPERTRADE_QUORUM_QUEUES": "1" if settings.quorum_queues else "0",
        "PAPERTRADE_LOG_LEVEL": settings.log_level,
        "PAPERTRADE_MATCHING_SHARDS": str(settings.matching_shards),
    }
    for service, url in settings.database_urls.items():
        env[f"PAPERTRADE_{service.upper()}_DB_URL"] = url
    for service, url in settings.service_urls.items():
        env[f"PAPERTRADE_{service.upper()}_URL"] = url
    return env
