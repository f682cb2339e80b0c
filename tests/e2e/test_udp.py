"""UDP listeners for real: the amphora balances datagrams with nftables, health-checked.

Two UDP echo backends (they answer `name?` with their name) sit behind a UDP
listener with a UDP-CONNECT health monitor. A client on the host sends
datagrams to the VIP: both members answer, from the VIP's address and port.
`allowed_cidrs` that leave the host out silence the VIP for it. Stopping one
member's server makes the monitor mark it ERROR in the API and every datagram
go to the other; the counters of the listener move.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from typing import Any

from tests.e2e.stack import Stack, wait_for

from statera.demo.backends import Backend, start_backends

PORT = 5353
ASKS_MAX = 200


def _ask(vip: str) -> tuple[str, tuple[str, int]] | None:
    """One datagram from a new source port; the answer and where it came from."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1)
        sock.sendto(b"name?", (vip, PORT))
        try:
            data, source = sock.recvfrom(200)
        except OSError:
            return None
    return data.decode(), source


def _members(stack: Stack, pool_id: str) -> dict[str, str]:
    r = stack.api.get(f"/v2/lbaas/pools/{pool_id}/members")
    assert r.status_code == 200, r.text
    return {m["address"]: m["operating_status"] for m in r.json()["members"]}


def _stop_server(backend: Backend) -> None:
    """Stop the backend's server: the processes inside its namespace (which the stack made)."""
    out = subprocess.run(["ip", "netns", "pids", backend.namespace], capture_output=True, text=True)
    for pid in (int(p) for p in out.stdout.split()):
        os.kill(pid, signal.SIGTERM)


def test_udp_listener_balances_and_checks(stack: Stack) -> None:
    backends = start_backends(
        stack.settings, network="private", count=2, port=PORT, kind="udp-echo"
    )
    body: dict[str, Any] = {
        "loadbalancer": {
            "name": "udp",
            "vip_subnet_id": "private-subnet",
            "listeners": [
                {
                    "protocol": "UDP",
                    "protocol_port": PORT,
                    "default_pool": {
                        "protocol": "UDP",
                        "lb_algorithm": "ROUND_ROBIN",
                        "healthmonitor": {
                            "type": "UDP-CONNECT",
                            "delay": 3,
                            "timeout": 2,
                            "max_retries": 2,
                            "max_retries_down": 2,
                        },
                        "members": [
                            {"address": b.address, "protocol_port": PORT} for b in backends
                        ],
                    },
                }
            ],
        }
    }
    lb = stack.post("/v2/lbaas/loadbalancers", body)["loadbalancer"]
    stack.wait_active(lb["id"])
    vip = lb["vip_address"]
    pool_id = lb["pools"][0]["id"]
    names = {f"backend {b.name}" for b in backends}

    seen: set[str] = set()
    asked = 0
    while seen != names and asked < ASKS_MAX:
        asked += 1
        answer = _ask(vip)
        if answer is not None:
            text, source = answer
            assert source == (vip, PORT)  # members answer through the amphora
            seen.add(text)
    assert seen == names, f"answers from {seen} after {asked} datagrams\n{stack.tail()}"
    wait_for(
        lambda: set(_members(stack, pool_id).values()) == {"ONLINE"},
        timeout_s=30,
        what="both members ONLINE",
    )

    # allowed_cidrs: a network without the host's address shuts the host out, and back.
    listener_url = f"/v2/lbaas/listeners/{lb['listeners'][0]['id']}"
    for cidrs, answered in ((["192.0.2.0/24"], False), ([], True)):
        r = stack.api.put(listener_url, json={"listener": {"allowed_cidrs": cidrs}})
        assert r.status_code == 200, r.text
        stack.wait_active(lb["id"])
        assert any(_ask(vip) is not None for _ in range(3)) is answered, cidrs

    down, up = backends
    _stop_server(down)
    wait_for(
        lambda: _members(stack, pool_id)[down.address] == "ERROR",
        timeout_s=30,
        what="the stopped member to be ERROR",
    )
    answers = [_ask(vip) for _ in range(10)]
    assert {a[0] for a in answers if a is not None} == {f"backend {up.name}"}
    assert sum(a is not None for a in answers) >= 9

    started = time.monotonic()
    stats = wait_for(
        lambda: (
            (s := stack.api.get(f"/v2/lbaas/loadbalancers/{lb['id']}/stats").json()["stats"])[
                "total_connections"
            ]
            > 0
            and s
        ),
        timeout_s=15,
        what="UDP flows in the load balancer's statistics",
    )
    assert stats["bytes_in"] > 0 and stats["bytes_out"] > 0, (stats, time.monotonic() - started)
