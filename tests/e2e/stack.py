"""A whole Statera (`statera up` as a real process) on private bridges, for end-to-end tests.

Each run gets its own name prefix, state directory, API port and private
ranges (each guarded by a blackhole route that Statera itself adds), so runs
never collide and no packet can leave through the host's default route.
`Stack.close()` kills only the PIDs it started and removes every namespace,
veth and bridge with the run's prefix, whatever state the test left.
"""

from __future__ import annotations

import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from statera.settings import Settings, load_settings

PROJECT = "e2e-project"
HEADERS = {"X-Project-Id": PROJECT}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(
    check: Callable[[], Any], *, timeout_s: float, interval_s: float = 0.1, what: str = ""
) -> Any:
    """Poll `check` until it returns something truthy, or fail after the deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what or check}: {last!r}")


def namespaces_with(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    names = [line.split()[0] for line in out.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(f"{prefix}-")]


def links_with(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    names = [line.split(":")[1].strip().split("@")[0] for line in out.stdout.splitlines()]
    return [n for n in names if n.startswith(prefix)]


class Stack:
    def __init__(
        self, root: Path, *, noop_drivers: bool = False, extra_subnets: bool = False
    ) -> None:
        self.prefix = "e" + "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=3))
        octet = random.randint(16, 250)
        self.root = root
        # Short on purpose: HAProxy's socket paths under state_dir have a length limit.
        self.state_dir = Path(tempfile.mkdtemp(prefix=f"st-{self.prefix}-", dir="/tmp"))
        self.port = free_port()
        self.config = root / "statera.conf"
        self.config.write_text(
            f"[DEFAULT]\nstate_dir = {self.state_dir}\nname_prefix = {self.prefix}\n"
            f"[api_settings]\nbind_port = {self.port}\n"
            f"[controller_worker]\nlease_seconds = 20\npoll_interval = 0.2\nbuild_timeout = 60\n"
            f"[health_manager]\nstatus_poll_interval = 0.5\n"
            f"[management]\ncidr = 172.31.{octet}.0/24\ngateway = 172.31.{octet}.1\n"
            f"[network:private]\ncidr = 10.213.{octet}.0/24\n"
        )
        if extra_subnets:  # a second IPv4 subnet and an IPv6 one on the same network
            with self.config.open("a") as config:
                config.write(
                    f"[subnet:private-b]\nnetwork = private\ncidr = 10.214.{octet}.0/24\n"
                    f"[subnet:private-v6]\nnetwork = private\ncidr = fd00:213:{octet:x}::/64\n"
                )
        if noop_drivers:  # API and controller only: nothing on the host
            text = self.config.read_text().replace(
                "[controller_worker]\n",
                "[controller_worker]\namphora_driver = amphora_noop_driver\n"
                "compute_driver = compute_noop_driver\nnetwork_driver = network_noop_driver\n",
            )
            self.config.write_text(text)
        self.settings: Settings = load_settings(self.config)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "statera.log"
        self.base = f"http://127.0.0.1:{self.port}"
        self.api = httpx.Client(base_url=self.base, headers=HEADERS, timeout=10)

    # -- the statera process -------------------------------------------------------

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "statera", "up", "--config", str(self.config)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        wait_for(self._answers, timeout_s=30, what="the API to answer")

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"statera up exited {self.proc.returncode}:\n{self.tail()}")
        try:
            return httpx.get(self.base + "/", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def agent_logs(self, lines: int = 15) -> str:
        """The last lines of every amphora agent's log (for failure messages)."""
        out = []
        for log in sorted((self.state_dir / "amphorae").glob("*/agent.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.parent.name} ---\n" + "\n".join(text))
        return "\n".join(out)

    def close(self) -> None:
        """Stop Statera, then remove everything with this run's prefix from the host."""
        self.stop()
        self.api.close()
        from statera.compute.netns import NetnsComputeDriver
        from statera.demo.backends import stop_backends
        from statera.network.bridges import BridgeNetworkDriver

        compute = NetnsComputeDriver(self.settings)
        network = BridgeNetworkDriver(self.settings)
        for amp_id in compute.list_amphorae():
            network.unplug_vip(amp_id)
            compute.delete_amphora(amp_id)
        stop_backends(self.settings)
        network.teardown_host_networks()
        shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- API helpers -----------------------------------------------------------------

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.api.post(path, json=body)
        assert r.status_code == 201, (r.status_code, r.text)
        return dict(r.json())

    def wait_active(self, lb_id: str, *, timeout_s: float = 30) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            r = self.api.get(f"/v2/lbaas/loadbalancers/{lb_id}")
            assert r.status_code == 200, r.text
            lb = r.json()["loadbalancer"]
            if lb["provisioning_status"] == "ERROR":
                raise AssertionError(f"load balancer went to ERROR:\n{self.tail()}")
            return lb if lb["provisioning_status"] == "ACTIVE" else None

        try:
            return dict(wait_for(check, timeout_s=timeout_s, what=f"LB {lb_id} ACTIVE"))
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- statera log ---\n{self.tail()}") from None

    def amphora_pids(self) -> list[int]:
        """PIDs of processes inside this run's amphora namespaces (agent, HAProxy)."""
        pids = []
        for ns in namespaces_with(self.prefix):
            if "-amp-" not in ns:
                continue
            out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            pids += [int(p) for p in out.stdout.split()]
        return pids


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
