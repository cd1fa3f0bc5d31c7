"""The front end's own unit tests (Vitest) and type check, run from the one test command."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def test_frontend_unit_tests_pass():
    npm = shutil.which("npm")
    assert npm, "npm is needed to test the front end (Node 20)"
    assert (FRONTEND / "node_modules").is_dir(), "run ./test.sh (it installs the front end's packages)"
    result = subprocess.run([npm, "test", "--silent"], cwd=FRONTEND, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


def test_every_data_testid_is_documented_in_the_frontend_readme():
    """Browser tests rely on the data-testid hooks: each one the code sets is listed in frontend/README.md
    (a templated one, `roster-row-${id}`, by its fixed prefix)."""
    readme = (FRONTEND / "README.md").read_text()
    missing: list[str] = []
    for path in sorted((FRONTEND / "src").rglob("*.tsx")):
        text = path.read_text()
        hooks = re.findall(r'testid="([^"]+)"', text)  # data-testid= and a component's testid= prop
        hooks += [t.split("${")[0] for t in re.findall(r"testid=\{`([^`]+)`\}", text)]
        hooks += re.findall(r"testid = '([^']+)'", text)  # a component's default hook
        missing += [f"{path.name}: {h}" for h in hooks if f"`{h}" not in readme]
    assert missing == [], missing
