"""The front end's own unit tests (Vitest) and type check, run from the one test command."""

from __future__ import annotations

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
