"""The docs describe the code that exists: the event catalog and the environment
variables are checked against their sources."""

from __future__ import annotations

import re
from pathlib import Path

from service_runtime.catalog import catalog_markdown
from service_runtime.config import API_SERVICES

ROOT = Path(__file__).resolve().parents[2]


def test_architecture_doc_has_the_current_event_catalog():
    text = (ROOT / "docs/architecture.md").read_text()
    block = text.split("<!-- catalog:start -->")[1].split("<!-- catalog:end -->")[0].strip()
    assert block == catalog_markdown().strip(), "regenerate with: python -m service_runtime.catalog"


def test_operations_doc_lists_every_environment_variable_the_code_reads():
    code = "\n".join(
        p.read_text() for folder in ("service_runtime", "stack", "db", "socket_gateway", "papertrade_client",
                                     *API_SERVICES)
        for p in (ROOT / folder).rglob("*.py")
    )
    used = set(re.findall(r"PAPERTRADE_[A-Z_]+[A-Z]", code))
    used = {u for u in used if not u.endswith("_")}
    documented = (ROOT / "docs/operations.md").read_text()
    missing = sorted(u for u in used if u not in documented)
    assert missing == []
    for service in API_SERVICES:
        assert f"PAPERTRADE_{service.upper()}_DB_URL" in documented
        assert f"PAPERTRADE_{service.upper()}_URL" in documented


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    assert "./run.sh" in readme and "./test.sh" in readme
    assert "./test.sh" in (ROOT / ".ci/run").read_text()
