"""A real `statera up` process with the noop drivers, for tests that need a server on a socket.

The API, the controller and the database are real (SQLite in a private
directory, or a PostgreSQL database the caller hands in); the amphora,
compute and network drivers are Octavia's noop ones, so nothing is created on
the host and no root is needed. Each server has its own port, state directory
and name prefix; `close()` stops only the process it started.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from tests.e2e.stack import free_port, wait_for

NOOP_DRIVERS = """
[controller_worker]
amphora_driver = amphora_noop_driver
compute_driver = compute_noop_driver
network_driver = network_noop_driver
poll_interval = 0.1
"""


class NoopServer:
    def __init__(self, root: Path, *, database_url: str = "", extra_config: str = "") -> None:
        self.root = root
        self.state_dir = Path(tempfile.mkdtemp(prefix="st-noop-", dir="/tmp"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.config = root / "statera.conf"
        database = f"[database]\nconnection = {database_url}\n" if database_url else ""
        self.config.write_text(
            f"[DEFAULT]\nstate_dir = {self.state_dir}\nname_prefix = nz\n"
            f"[api_settings]\nbind_port = {self.port}\n"
            f"{database}{NOOP_DRIVERS}{extra_config}"
        )
        self.log = root / "statera.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NoopServer:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "statera", "up", "--config", str(self.config)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        wait_for(self._answers, timeout_s=30, what="the API to answer")
        return self

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"statera up exited {self.proc.returncode}:\n{self.tail()}")
        try:
            return httpx.get(self.base + "/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.state_dir, ignore_errors=True)
