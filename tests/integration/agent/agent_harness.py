"""Helpers for agent tests over real mTLS: certificates from statera.pki and agents on loopback.

Used by tests/integration/agent and tests/e2e/agent. Everything a helper starts
(server threads, agent processes, HAProxy masters named in pid files it
created) is stopped by the same helper's context manager, even on failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from statera.agent.haproxy import process_running
from statera.agent.routes import Agent
from statera.agent.server import AgentServer, server_ssl_context
from statera.agent_client import AgentAddress, AgentClient
from statera.pki.authority import CertificateAuthority, ControllerCertPaths, controller_client_cert
from statera.protocol.agent_api import AgentConfig

HAPROXY = "/usr/sbin/haproxy"


@dataclass(frozen=True)
class Pki:
    directory: Path
    authority: CertificateAuthority
    controller: ControllerCertPaths

    def server_cert(
        self, amphora_id: str, *, authority: CertificateAuthority | None = None
    ) -> tuple[Path, Path]:
        issued = (authority or self.authority).issue(amphora_id, validity_s=3600, server=True)
        stem = f"server-{amphora_id}-{os.urandom(3).hex()}"
        cert, key = self.directory / f"{stem}.pem", self.directory / f"{stem}.key"
        cert.write_bytes(issued.cert_pem)
        key.write_bytes(issued.key_pem)
        return cert, key

    def client(self, *, timeout_s: float = 10.0) -> AgentClient:
        return AgentClient(
            ca_cert=self.controller.ca_cert,
            client_cert=self.controller.cert,
            client_key=self.controller.key,
            timeout=httpx.Timeout(timeout_s),
        )


def make_pki(directory: Path) -> Pki:
    return Pki(
        directory, CertificateAuthority.load_or_create(directory), controller_client_cert(directory)
    )


@contextmanager
def short_dir(prefix: str = "st-agent-") -> Iterator[Path]:
    """A directory with a short path (UNIX socket paths are limited to 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def agent_config(
    pki: Pki,
    *,
    amphora_id: str,
    base_dir: Path,
    port: int = 0,
    namespace: str = "",
    server_cert: tuple[Path, Path] | None = None,
) -> AgentConfig:
    cert, key = server_cert or pki.server_cert(amphora_id)
    return {
        "amphora_id": amphora_id,
        "bind_host": "127.0.0.1",
        "bind_port": port,
        "base_dir": str(base_dir),
        "haproxy_namespace": namespace,
        "haproxy_cmd": HAPROXY,
        "server_cert": str(cert),
        "server_key": str(key),
        "client_ca": str(pki.controller.ca_cert),
    }


@contextmanager
def agent_in_thread(config: AgentConfig) -> Iterator[AgentAddress]:
    """Serve `config` in this process; yields the address (the real port if 0 was asked)."""
    agent = Agent(config)
    agent.prepare()
    context = server_ssl_context(
        server_cert=config["server_cert"],
        server_key=config["server_key"],
        client_ca=config["client_ca"],
    )
    server = AgentServer(
        (config["bind_host"], config["bind_port"]), agent=agent, ssl_context=context
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield AgentAddress(config["amphora_id"], config["bind_host"], server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AgentProcess:
    """`python -m statera.agent` as a child process; stderr goes to a file."""

    def __init__(self, config: AgentConfig, directory: Path) -> None:
        self.config_path = directory / f"agent-{os.urandom(3).hex()}.json"
        self.config_path.write_text(json.dumps(config))
        self.log_path = self.config_path.with_suffix(".log")
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "statera.agent", "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def terminate(self, *, timeout_s: float = 10.0) -> int:
        """SIGTERM, then SIGKILL after `timeout_s`; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                return self.process.wait(timeout=timeout_s)
        return self.process.returncode

    def close(self) -> None:
        self.terminate()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def kill_haproxy_from_pid_file(
    pid_file: Path, config_file: Path, *, timeout_s: float = 10.0
) -> None:
    """Stop the HAProxy master a test started, identified by its pid file and config path."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return
    if str(config_file).encode() not in argv:
        return  # not ours (pid reused): leave it alone
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while process_running(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if process_running(pid):
        os.kill(pid, signal.SIGKILL)


def pss_kib(pid: int) -> int:
    """Proportional set size of `pid` in KiB (sum of Pss in smaps_rollup)."""
    lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    return sum(int(line.split()[1]) for line in lines if line.startswith("Pss:"))


def sh(*argv: str) -> str:
    """Run a host command (ip, nft ...) with a deadline; its stdout, or RuntimeError."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def poll(predicate: Callable[[], bool], *, deadline_s: float, what: str) -> float:
    """Poll `predicate` until true; return the seconds it took."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > deadline_s:
            raise AssertionError(f"timed out after {deadline_s:g}s waiting for {what}")
        time.sleep(0.02)
    return time.monotonic() - started
