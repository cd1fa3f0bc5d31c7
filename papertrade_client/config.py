"""Where the command line tool keeps its login: a small JSON file.

`~/.config/papertrade/config.json` (or `$XDG_CONFIG_HOME/papertrade/`), or the
file named by PAPERTRADE_CLI_CONFIG. It holds the server URL, the token and who
it belongs to; it is written readable by its owner only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


def config_path() -> Path:
    explicit = os.environ.get("PAPERTRADE_CLI_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "papertrade" / "config.json"


@dataclass
class CliConfig:
    url: str | None = None
    token: str | None = None
    user: dict[str, Any] | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> CliConfig:
        path = path or config_path()
        try:
            data = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return cls()
        return cls(url=data.get("url"), token=data.get("token"), user=data.get("user"))

    def save(self, path: Path | None = None) -> Path:
        path = path or config_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self), f, indent=2)
        tmp.replace(path)
        return path
