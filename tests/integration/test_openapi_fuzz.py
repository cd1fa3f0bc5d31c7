"""schemathesis against the served OpenAPI document: for every operation, examples
generated from the document, sent as an instructor and as a trader, never get a
5xx, and every response (status and body) is one the document describes.

It runs on a stack of its own: the instructor's examples reset the simulation,
delist stocks, close and halt the market and start bots, which would disturb
the tests that share the `stack` fixture. Examples are bounded per operation
(PAPERTRADE_FUZZ_EXAMPLES, default 10) to keep the run near a minute and a half here."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from tests.harness import RunningStack, running_stack

pytestmark = pytest.mark.stack

EXAMPLES = int(os.environ.get("PAPERTRADE_FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture(scope="module")
def fuzz_stack() -> Iterator[RunningStack]:
    with running_stack("fuzz") as running:
        yield running


@pytest.fixture(scope="module")
def tokens(fuzz_stack: RunningStack) -> dict[str, str]:
    return {"instructor": fuzz_stack.instructor().session.headers["Authorization"],
            "trader": fuzz_stack.login(2).session.headers["Authorization"]}


def test_api_answers_as_documented(fuzz_stack: RunningStack, tokens: dict[str, str]) -> None:
    document = requests.get(fuzz_stack.url + "/api/openapi.json", timeout=30).json()
    validate(document)  # the served document itself is valid OpenAPI
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        # schemathesis' pytest plugin takes no fixtures from a module-scoped stack, so each
        # operation runs its own bounded hypothesis loop; every example goes as a trader,
        # then as an instructor, and all failures are gathered before the assertion
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def run(case: schemathesis.Case) -> None:
            for role in ("trader", "instructor"):
                try:
                    response = case.call_and_validate(base_url=fuzz_stack.url,
                                                      headers={"Authorization": tokens[role]}, checks=CHECKS)
                    statuses[response.status_code] += 1
                    if response.status_code == 401 and "revoked by a reset" in response.text:
                        # an instructor's example reset with revoke_tokens: the trader logs in again
                        tokens["trader"] = fuzz_stack.login(2).session.headers["Authorization"]
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 -- gathered, reported below
                    failures.append(f"{case.method} {case.path} as {role}: {exc}"[:1500])

        run()
    assert operations == sum(len(ops) for ops in document["paths"].values())
    print(f"schemathesis: {operations} operations, answers by status {dict(sorted(statuses.items()))}")
    # it really exercised the API: successes and refusals, for every operation at least once per role
    assert statuses[200] > 0 and statuses[422] > 0 and sum(statuses.values()) >= 2 * operations
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures[:30])
