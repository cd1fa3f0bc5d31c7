"""docker-compose.yml, checked as far as possible without a Docker engine: every
process of the stack is there with the command `stack/processes.py` gives it,
ports agree with the defaults, no secret has a default, images are pinned."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from service_runtime.config import API_SERVICES, Settings
from stack.processes import all_processes

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SECRETS = ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "PAPERTRADE_SECRET_KEY", "PAPERTRADE_INSTRUCTOR_PASSWORD")


def test_every_process_of_the_stack_is_a_compose_service_with_the_same_command():
    services = COMPOSE["services"]
    for spec in all_processes(Settings(), python="python"):
        assert spec.name in services, spec.name
        command = services[spec.name]["command"]
        expected = spec.argv[2:] if spec.argv[1:3] == ["-m", "gunicorn"] else spec.argv
        assert command == expected, spec.name


def test_ports_agree_with_the_defaults():
    services = COMPOSE["services"]
    defaults = Settings()
    for service in API_SERVICES:
        bind = services[f"{service}-api"]["environment"]["PAPERTRADE_BIND"]
        assert bind == f"0.0.0.0:{defaults.service_port(service)}"
        url = services["gateway"]["environment"][f"PAPERTRADE_{service.upper()}_URL"]
        assert url == f"http://{service}-api:{defaults.service_port(service)}"
    assert services["gateway"]["ports"] == [f"{defaults.port}:{defaults.port}"]
    assert services["house_bots-api"]["environment"]["PAPERTRADE_GATEWAY_URL"] == f"http://gateway:{defaults.port}"


def test_no_secret_has_a_default_and_images_are_pinned():
    text = (ROOT / "docker-compose.yml").read_text()
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", text)
        assert uses, name
        assert all(u.startswith(":?") for u in uses), f"{name} must be required, not defaulted"
    for name in ("postgres", "rabbitmq"):
        image = COMPOSE["services"][name]["image"]
        assert re.search(r":\d+\.\d+", image), image
    assert "management" in COMPOSE["services"]["rabbitmq"]["image"]


def test_every_environment_variable_set_is_documented():
    operations = (ROOT / "docs/operations.md").read_text()
    names = set(re.findall(r"\b(PAPERTRADE_[A-Z_]+)\s*:", (ROOT / "docker-compose.yml").read_text()))
    assert names
    assert sorted(n for n in names if n not in operations) == []


def test_apis_and_the_gateway_have_health_checks_and_start_in_order():
    services = COMPOSE["services"]
    for name, svc in services.items():
        if name.endswith("-api") or name == "gateway":
            assert "/healthz" in " ".join(svc["healthcheck"]["test"]), name
    assert services["setup"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["user_portfolio-worker"]["depends_on"]["setup"]["condition"] == "service_completed_successfully"
