"""The README's "Using the OpenStack CLI" walkthrough on real amphorae, then traffic through the VIP.

The real `openstack loadbalancer ...` CLI (from `.venv-clients`) builds a load
balancer on the `private` subnet by name, with a listener, a pool, two members
on demo backends and a health monitor, every step with `--wait`; requests to
the VIP then reach both backends.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import httpx
import pytest
from tests.clients.venv import ensure_clients_venv
from tests.e2e.stack import Stack

from statera.demo.backends import start_backends

BACKEND_PORT = 8080


@pytest.mark.timeout(900)
def test_readme_walkthrough_serves_traffic(stack: Stack, tmp_path: Path) -> None:
    bin_dir = ensure_clients_venv()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "OS_AUTH_TYPE": "none",
        "OS_ENDPOINT": stack.base,
        "OS_NETWORK_ENDPOINT_OVERRIDE": stack.base + "/",
    }

    def cli(*args: str) -> str:
        done = subprocess.run(
            [str(bin_dir / "openstack"), *args], env=env, capture_output=True, text=True,
            timeout=180,
        )  # fmt: skip
        assert done.returncode == 0, f"openstack {' '.join(args)}:\n{done.stderr}\n{stack.tail()}"
        return done.stdout

    backends = start_backends(stack.settings, network="private", count=2, port=BACKEND_PORT)
    lb = json.loads(cli("loadbalancer", "create", "--name", "lb1", "--vip-subnet-id",
                        "private-subnet", "--wait", "-f", "json"))  # fmt: skip
    cli("loadbalancer", "listener", "create", "--name", "listener1", "--protocol", "HTTP",
        "--protocol-port", "80", "--wait", "lb1")  # fmt: skip
    cli("loadbalancer", "pool", "create", "--name", "pool1", "--lb-algorithm", "ROUND_ROBIN",
        "--listener", "listener1", "--protocol", "HTTP", "--wait")  # fmt: skip
    for b in backends:
        cli("loadbalancer", "member", "create", "--subnet-id", "private-subnet", "--address",
            b.address, "--protocol-port", str(BACKEND_PORT), "--wait", "pool1")  # fmt: skip
    cli("loadbalancer", "healthmonitor", "create", "--delay", "5", "--max-retries", "4",
        "--timeout", "10", "--type", "HTTP", "--url-path", "/health", "--wait", "pool1")  # fmt: skip
    status = json.loads(cli("loadbalancer", "status", "show", "lb1"))["loadbalancer"]
    assert len(status["listeners"][0]["pools"][0]["members"]) == 2

    vip = lb["vip_address"]
    seen = Counter(httpx.get(f"http://{vip}/", timeout=5).text.strip() for _ in range(10))
    assert set(seen) == {f"backend {b.name}" for b in backends}, seen
    cli("loadbalancer", "delete", "--cascade", "--wait", "lb1")
