"""A small process supervisor: start every process, prefix each output line with
the process name, restart a process that dies, stop them all on Ctrl-C/SIGTERM."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable

from .processes import ProcessSpec


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the supervisor dies, however it
    dies (kill -9 included), so no process outlives it. Linux only."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


COLORS = [31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96]


class Supervised:
    def __init__(self, spec: ProcessSpec, env: dict[str, str], color: int, out: object = sys.stdout,
                 log_path: str | None = None) -> None:
        self.spec = spec
        self.env = env
        self.color = color
        self.out = out
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.started_at = 0.0

    def start(self) -> None:
        env = {**os.environ, **self.env, **self.spec.env, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            self.spec.argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        self.started_at = time.monotonic()
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True, name=f"log-{self.spec.name}").start()

    def _pump(self, proc: subprocess.Popen) -> None:
        prefix = f"\x1b[{self.color}m{self.spec.name:>22} |\x1b[0m " if getattr(self.out, "isatty", lambda: False)() \
            else f"{self.spec.name:>22} | "
        log_file = open(self.log_path, "a", buffering=1) if self.log_path else None  # noqa: SIM115
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if log_file:
                    log_file.write(line)
                if self.out is not None:
                    self.out.write(prefix + line)
        finally:
            if log_file:
                log_file.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)  # the whole group: gunicorn's workers too

    def stop(self, timeout: float = 10.0) -> None:
        if not self.alive:
            return
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(5)


class Supervisor:
    def __init__(self, specs: Iterable[ProcessSpec], env: dict[str, str], restart: bool = True,
                 out: object = sys.stdout, log_dir: str | None = None) -> None:
        self.children = {
            spec.name: Supervised(
                spec, env, COLORS[i % len(COLORS)], out,
                os.path.join(log_dir, f"{spec.name}.log") if log_dir else None,
            )
            for i, spec in enumerate(specs)
        }
        self.restart = restart
        self._stopping = threading.Event()

    def start_all(self) -> None:
        for child in self.children.values():
            child.start()

    def wait_healthy(self, timeout: float = 60.0) -> list[str]:
        """Wait until every process with a health URL answers 200; return those that did not."""
        deadline = time.monotonic() + timeout
        pending = {name for name, c in self.children.items() if c.spec.health_url}
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                try:
                    with urllib.request.urlopen(self.children[name].spec.health_url, timeout=2) as resp:
                        if resp.status == 200:
                            pending.discard(name)
                except OSError:
                    pass
            if pending:
                time.sleep(0.2)
        return sorted(pending)

    def watch(self) -> None:
        """Block until stopped; restart children that exit (with a short backoff)."""
        while not self._stopping.wait(0.5):
            if not self.restart:
                continue
            for child in self.children.values():
                if child.proc is not None and not child.alive:
                    code = child.proc.returncode
                    backoff = min(2 ** child.restarts, 10) if time.monotonic() - child.started_at < 30 else 0
                    print(f"supervisor: {child.spec.name} exited with {code}; restarting in {backoff}s", flush=True)
                    time.sleep(backoff)
                    child.restarts += 1
                    child.start()

    def stop_all(self) -> None:
        self._stopping.set()
        threads = [threading.Thread(target=c.stop) for c in self.children.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
