"""openstacksdk builds a full load balancer on a running Statera and waits for it (`sdk_scenario.py`)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.noop_server import NoopServer

HERE = Path(__file__).parent


def test_sdk_builds_and_deletes_a_load_balancer(clients_bin: Path, server: NoopServer) -> None:
    done = subprocess.run(
        [str(clients_bin / "python"), str(HERE / "sdk_scenario.py"), server.base],
        capture_output=True,
        text=True,
        timeout=240,
        env={"PATH": "/usr/bin:/bin", "HOME": str(server.root)},
    )
    assert done.returncode == 0, f"{done.stderr}\n--- statera log ---\n{server.tail()}"
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    lb = seen["lb"]
    assert lb["status"] == "ACTIVE"
    assert lb["description"] == "built by openstacksdk"
    assert seen["vip_subnet_id"] == seen["subnet_id"]
    assert seen["listener_port"] == 8080
    assert len(seen["pool_listeners"]) == 1
    assert seen["members"] == ["10.0.0.210", "10.0.0.211"]
    assert seen["monitor_pool"]
    assert seen["stats_total_connections"] == 0
    assert seen["found_by_name"] == lb["id"]
    assert seen["after_delete"] == []
