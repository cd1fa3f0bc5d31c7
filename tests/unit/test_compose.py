"""docker-compose.yml, checked as far as possible without a Docker engine: it validates
against the Compose specification's JSON schema, every process of the stack is there
with the command `stack/processes.py` gives it and every command exists in the
project, every variable it sets is one the code (or the image) reads, ports agree with
the defaults and docs/operations.md, no secret has a default, images are pinned."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from service_runtime.config import API_SERVICES, SERVICES, Settings
from stack.processes import all_processes

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(TEXT)
SECRETS = ("POSTGRES_PASSWORD", "RABBITMQ_PASSWORD", "PAPERTRADE_SECRET_KEY", "PAPERTRADE_INSTRUCTOR_PASSWORD")
SHARDS = int(COMPOSE["x-papertrade-env"]["PAPERTRADE_MATCHING_SHARDS"])
# what the official images read (postgres, rabbitmq)
IMAGE_VARIABLES = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS"}


def _code() -> str:
    folders = ("service_runtime", "stack", "db", "socket_gateway", "papertrade_client", *API_SERVICES)
    return "\n".join(p.read_text() for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_the_file_is_valid_against_the_compose_specification():
    # the Compose specification's schema, as vendored by check-jsonschema (a test dependency)
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    jsonschema.validate(COMPOSE, schema)
    broken = {**COMPOSE, "services": {**COMPOSE["services"], "gateway": {**COMPOSE["services"]["gateway"],
                                                                         "healthcheck": {"test": 5}}}}
    try:
        jsonschema.validate(broken, schema)
    except jsonschema.ValidationError:
        pass
    else:  # pragma: no cover - the check above must be able to fail
        raise AssertionError("the schema accepted a health check that is a number")


def test_every_process_of_the_stack_is_a_compose_service_with_the_same_command():
    services = COMPOSE["services"]
    assert SHARDS == 2
    for spec in all_processes(Settings(matching_shards=SHARDS), python="python"):
        assert spec.name in services, spec.name
        command = services[spec.name]["command"]
        expected = spec.argv[2:] if spec.argv[1:3] == ["-m", "gunicorn"] else spec.argv
        assert command == expected, spec.name
        environment = services[spec.name]["environment"]
        for key, value in spec.env.items():
            if key != "PAPERTRADE_BIND":
                assert environment[key] == value, (spec.name, key)
    # each shard has a hot standby: two replicas of its worker
    for k in range(SHARDS):
        assert services[f"order_matching-s{k}-worker"]["deploy"]["replicas"] == 2
    assert services["gateway"]["deploy"]["replicas"] >= 2


def test_every_command_exists_in_the_project():
    for name, svc in COMPOSE["services"].items():
        command = svc.get("command")
        if command is None or name in ("postgres",):
            continue
        if command[:2] == ["python", "-m"]:
            assert importlib.util.find_spec(command[2]) is not None, (name, command)
            if command[2] == "service_runtime.worker":
                assert command[3] in SERVICES
        else:
            assert command[0] == "gunicorn", name
            config = command[command.index("-c") + 1].removeprefix("python:")
            assert importlib.util.find_spec(config) is not None, (name, config)
            module, _, call = command[-1].partition(":")
            func = call.split("(")[0]
            assert callable(getattr(importlib.import_module(module), func)), (name, command[-1])


def test_every_variable_set_is_read_by_the_code_or_the_image():
    code = _code()
    names = set()
    for svc in COMPOSE["services"].values():
        names |= set((svc.get("environment") or {}).keys())
    assert "PAPERTRADE_MATCHING_SHARD" in names and "PAPERTRADE_METRICS_PORT" in names
    # read under a name the code builds: PAPERTRADE_<SERVICE>_URL and _DB_URL
    built = {f"PAPERTRADE_{s.upper()}_{kind}" for s in API_SERVICES for kind in ("URL", "DB_URL")}
    assert 'f"PAPERTRADE_{key}_URL"' in code and 'f"PAPERTRADE_{key}_DB_URL"' in code
    unread = sorted(n for n in names
                    if n not in IMAGE_VARIABLES | built and not re.search(rf"\b{n}\b", code))
    assert unread == []
    assert "PAPERTRADE_NOT_A_SETTING" not in code  # the check can fail


def test_ports_agree_with_the_defaults_and_the_docs():
    services = COMPOSE["services"]
    defaults = Settings()
    operations = (ROOT / "docs/operations.md").read_text()
    for service in API_SERVICES:
        port = defaults.service_port(service)
        bind = services[f"{service}-api"]["environment"]["PAPERTRADE_BIND"]
        assert bind == f"0.0.0.0:{port}"
        url = services["gateway"]["environment"][f"PAPERTRADE_{service.upper()}_URL"]
        assert url == f"http://{service}-api:{port}"
        row = next(line for line in operations.splitlines() if line.startswith(f"| {service}-api |"))
        assert str(port) in row.split("|")[-2], row
    assert services["gateway"]["environment"]["PAPERTRADE_PORT"] == str(defaults.port)
    assert services["origin"]["ports"] == [f"{defaults.port}:{defaults.port}"]
    assert "ports" not in services["gateway"]  # reached through the origin only
    assert f"listen {defaults.port};" in (ROOT / "deploy/nginx.conf").read_text()
    bots = services["house_bots-api"]["environment"]
    assert "PAPERTRADE_GATEWAY_URL" not in bots  # the bots call the services directly
    for service in API_SERVICES:
        assert bots[f"PAPERTRADE_{service.upper()}_URL"] == services["gateway"]["environment"][
            f"PAPERTRADE_{service.upper()}_URL"]
    metrics_port = services["user_portfolio-worker"]["environment"]["PAPERTRADE_METRICS_PORT"]
    assert f"`{metrics_port}`" in operations or f"{metrics_port})" in operations
    assert "15672" in operations


def test_no_secret_has_a_default_and_images_are_pinned():
    for name in SECRETS:
        uses = re.findall(r"\$\{" + name + r"([^}]*)\}", TEXT)
        assert uses, name
        assert all(u.startswith(":?") for u in uses), f"{name} must be required, not defaulted"
    for name in ("postgres", "rabbitmq", "origin"):
        image = COMPOSE["services"][name]["image"]
        assert re.search(r":\d+\.\d+", image), image  # a minor version at least
    assert "management" in COMPOSE["services"]["rabbitmq"]["image"]


def test_every_environment_variable_set_is_documented():
    operations = (ROOT / "docs/operations.md").read_text()
    names = set(re.findall(r"\b(PAPERTRADE_[A-Z_]+)\s*:", TEXT))
    assert names
    assert sorted(n for n in names if n not in operations) == []


def test_health_checks_and_start_order():
    services = COMPOSE["services"]
    for name, svc in services.items():
        if name.endswith(("-api", "-worker")) or name in ("gateway", "origin"):
            assert "/healthz" in " ".join(svc["healthcheck"]["test"]), name
    assert services["setup"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["setup"]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    for name, svc in services.items():
        if name.endswith(("-api", "-worker")):
            assert svc["depends_on"]["setup"]["condition"] == "service_completed_successfully", name
    assert services["gateway"]["depends_on"]["stock_ordering-api"]["condition"] == "service_healthy"
    assert services["origin"]["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert set(COMPOSE["volumes"]) == {"pgdata", "rabbitdata"}
