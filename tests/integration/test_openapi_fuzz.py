"""schemathesis against the served OpenAPI document: for every operation, examples
generated from the document, sent as an instructor and as a trader, never get a
5xx, and every response (status and body) is one the document describes.

It runs on a stack of its own: the instructor's examples reset the simulation,
delist stocks, close and halt the market and start bots, which would disturb
the tests that share the `stack` fixture. Examples are bounded per operation
(PAPERTRADE_FUZZ_EXAMPLES, default 6) to keep the run near two minutes here."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from tests.harness import RunningStack, running_stack

pytestmark = pytest.mark.stack

EXAMPLES = int(os.environ.get("PAPERTRADE_FUZZ_EXAMPLES", "6"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[RunningStack]:
    with running_stack("fuzz") as running:
        yield running


@pytest.fixture(scope="module")
def tokens(fuzz_stack: RunningStack) -> dict[str, str]:
    return {"instructor": fuzz_stack.instructor().session.headers["Authorization"],
            "trader": fuzz_stack.login(2).session.headers["Authorization"]}


@pytest.fixture(scope="module")
def api_schema(fuzz_stack: RunningStack):  # noqa: ANN201
    document = requests.get(fuzz_stack.url + "/api/openapi.json", timeout=30).json()
    validate(document)  # the served document itself is valid OpenAPI
    return schemathesis.openapi.from_dict(document)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.parametrize("role", ["trader", "instructor"])
@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_answers_as_documented(case, role, tokens, fuzz_stack):  # noqa: ANN001
    case.call_and_validate(base_url=fuzz_stack.url, headers={"Authorization": tokens[role]},
                           checks=CHECKS)
