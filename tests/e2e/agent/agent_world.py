"""Helpers and fixtures for the agent's end-to-end tests: real agent process, HAProxy, traffic.

Everything runs on 127.0.0.1 or inside a network namespace created here with a
unique `stagt-<random>` name. Finalizers stop exactly what was started: the
agent by its Popen pid, HAProxy by the pid file of the test's own base dir
(after checking its command line names that base dir's config), the backend
by its server object or pid, and the namespace by its name.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from tests.integration.agent.agent_harness import (
    AgentProcess,
    Pki,
    agent_config,
    free_port,
    kill_haproxy_from_pid_file,
    make_pki,
    short_dir,
)

from statera.agent.files import LbPaths
from statera.agent_client import AgentAddress, AgentClient, Backoff, wait_until_reachable
from statera.protocol.agent_api import AgentConfig

AMPHORA = "5d0c4a37-1e2b-4f6a-8c9d-0e1f2a3b4c5d"
LB = "c0ffee00-1111-4222-8333-444455556666"
LISTENER = "11111111-2222-4333-8444-555555555555"
POOL = "22222222-3333-4444-8555-666666666666"
MEMBER = "33333333-4444-4555-8666-777777777777"
BACKEND = f"{POOL}:{LISTENER}"


def wait_for(
    probe: Callable[[], Any], *, timeout_s: float, what: str, every_s: float = 0.05
) -> Any:
    """Poll `probe` until it returns something truthy; fail the test at the deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every_s)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what} (last: {last!r})")


def http_get(port: int, *, host: str = "127.0.0.1", timeout_s: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def do_GET(self) -> None:
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # HAProxy's health checks close with a reset; that is not an error here


class Backend:
    """A small HTTP server on 127.0.0.1 answering 200 `ok` (a pool member)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._server: ThreadingHTTPServer | None = _QuietServer(("127.0.0.1", port), _Ok)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None


def render(base: Path, *, frontend_port: int, backend_port: int, comment: str = "") -> str:
    """The config the controller's renderer would send, reduced to what these tests need."""
    return f"""# {comment}
global
    maxconn 1000
    stats socket {base}/haproxy.sock mode 600 level admin
    server-state-file {base}/haproxy.state

defaults
    mode http
    option idle-close-on-response
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    load-server-state-from-file global

frontend {LISTENER}
    bind 127.0.0.1:{frontend_port}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    server {MEMBER} 127.0.0.1:{backend_port} weight 1 check inter 200ms fall 2 rise 1
"""


@dataclass
class Amphora:
    """One agent process with its PKI and base dir; `restart_agent` keeps HAProxy running."""

    pki: Pki
    base: Path
    config: AgentConfig
    scratch: Path
    client: AgentClient
    agents: list[AgentProcess] = field(default_factory=list)

    @property
    def paths(self) -> LbPaths:
        return LbPaths(self.base)

    @property
    def agent(self) -> AgentProcess:
        return self.agents[-1]

    @property
    def address(self) -> AgentAddress:
        return AgentAddress(AMPHORA, "127.0.0.1", self.config["bind_port"])

    def start_agent(self) -> None:
        self.agents.append(AgentProcess(self.config, self.scratch))
        wait_until_reachable(self.client, self.address, backoff=Backoff((0.05,), 15.0))

    def master_pid(self) -> int | None:
        try:
            pid = int(self.paths.pid_file.read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None
        return pid if os.path.exists(f"/proc/{pid}") else None

    def close(self) -> None:
        self.client.close()
        for agent in self.agents:
            agent.close()
        kill_haproxy_from_pid_file(self.paths.pid_file, self.paths.config)


@pytest.fixture
def amphora_factory(tmp_path: Path) -> Iterator[Callable[[str], Amphora]]:
    made: list[Amphora] = []
    dirs: list[Any] = []

    def make(namespace: str = "") -> Amphora:
        context = short_dir("st-e2e-")
        base = context.__enter__()
        dirs.append(context)
        pki = make_pki(tmp_path / f"pki-{len(made)}")
        config = agent_config(
            pki, amphora_id=AMPHORA, base_dir=base, port=free_port(), namespace=namespace
        )
        amphora = Amphora(pki, base, config, tmp_path, pki.client())
        made.append(amphora)
        amphora.start_agent()
        return amphora

    try:
        yield make
    finally:
        for amphora in made:
            amphora.close()
        for context in dirs:
            context.__exit__(None, None, None)


@pytest.fixture
def backend() -> Iterator[Backend]:
    server = Backend(free_port())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def namespace() -> Iterator[str]:
    """A fresh network namespace with only `lo` (up); deleted after the test."""
    name = f"stagt-{os.urandom(4).hex()}"
    subprocess.run(["ip", "netns", "add", name], check=True, timeout=10)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, timeout=10)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, timeout=10)


def netns_inode(name: str) -> int:
    return os.stat(f"/run/netns/{name}").st_ino


def process_netns_inode(pid: int) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino
