"""ACTIVE_STANDBY for real: two amphorae, keepalived moves the VIP when the MASTER fails.

A flavor with `loadbalancer_topology: ACTIVE_STANDBY` (Octavia's way) gives the
load balancer a MASTER and a BACKUP amphora, each with its own VRRP address
on the tenant bridge; the VIP lives on the MASTER. Killing the MASTER's
HAProxy (the processes this test finds inside the namespace its stack made)
moves the VIP to the BACKUP within seconds while a client keeps asking; a
failover of the dead amphora builds a new one in its role, and deleting the
load balancer leaves no namespace behind. The pair's HAProxies are peers: a
client's SOURCE_IP stickiness entry made on the MASTER is on the BACKUP too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from typing import Any

import httpx
from tests.e2e.stack import Stack, namespaces_with, wait_for

from statera.compute.names import AmphoraNames
from statera.demo.backends import start_backends

REQUESTS_MAX = 2000
"""Bound of the client loop while the VIP moves."""


def _amphorae(stack: Stack, lb_id: str) -> dict[str, dict[str, Any]]:
    """The load balancer's amphorae by role."""
    r = stack.api.get("/v2/octavia/amphorae", params={"loadbalancer_id": lb_id})
    assert r.status_code == 200, r.text
    return {a["role"]: a for a in r.json()["amphorae"]}


def _namespace(stack: Stack, amphora_id: str) -> str:
    return AmphoraNames(stack.prefix, amphora_id).tenant_namespace


def _holds(stack: Stack, amphora_id: str, address: str) -> bool:
    out = subprocess.run(
        ["ip", "-n", _namespace(stack, amphora_id), "-o", "addr", "show", "dev", "eth1"],
        capture_output=True,
        text=True,
    )
    return f" {address}/" in out.stdout


def _haproxy_pids(stack: Stack, amphora_id: str) -> list[int]:
    out = subprocess.run(
        ["ip", "netns", "pids", _namespace(stack, amphora_id)], capture_output=True, text=True
    )
    pids = []
    for pid in (int(p) for p in out.stdout.split()):
        try:
            with open(f"/proc/{pid}/comm") as comm:
                if comm.read().strip() == "haproxy":
                    pids.append(pid)
        except OSError:
            continue
    return pids


def _stats_command(stack: Stack, amphora_id: str, command: str) -> str:
    """One command on the amphora's HAProxy stats socket (a file under the stack's state)."""
    path = stack.state_dir / "amphorae" / amphora_id / "haproxy.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        sock.connect(str(path))
        sock.sendall(command.encode() + b"\n")
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out.decode()


def _get(url: str) -> str | None:
    try:
        r = httpx.get(url, timeout=1, headers={"Connection": "close"})
    except httpx.HTTPError:
        return None
    return r.text.strip() if r.status_code == 200 else None


def _longest_gap(stack: Stack, lb_id: str, url: str, expected: str) -> float:
    """Ask the VIP until the load balancer is ACTIVE again (bounded); the longest time
    between two answers."""
    started = last = time.monotonic()
    gap = 0.0
    for _ in range(REQUESTS_MAX * 5):
        now = time.monotonic()
        if _get(url) == expected:
            gap, last = max(gap, time.monotonic() - last), time.monotonic()
        if now - started > 90:
            raise AssertionError(f"load balancer not ACTIVE after 90 s\n{stack.tail()}")
        status = stack.api.get(f"/v2/lbaas/loadbalancers/{lb_id}").json()["loadbalancer"]
        if status["provisioning_status"] == "ACTIVE":
            break
        time.sleep(0.02)
    return gap


def test_the_vip_moves_to_the_backup(stack: Stack) -> None:
    profile = stack.post(
        "/v2/lbaas/flavorprofiles",
        {
            "flavorprofile": {
                "name": "ha",
                "provider_name": "amphora",
                "flavor_data": '{"loadbalancer_topology": "ACTIVE_STANDBY"}',
            }
        },
    )["flavorprofile"]
    flavor = stack.post(
        "/v2/lbaas/flavors", {"flavor": {"name": "ha", "flavor_profile_id": profile["id"]}}
    )["flavor"]
    (backend,) = start_backends(stack.settings, network="private", count=1, port=8080)
    lb = stack.post(
        "/v2/lbaas/loadbalancers",
        {
            "loadbalancer": {
                "name": "ha",
                "vip_subnet_id": "private-subnet",
                "flavor_id": flavor["id"],
                "listeners": [
                    {
                        "protocol": "HTTP",
                        "protocol_port": 80,
                        "default_pool": {
                            "protocol": "HTTP",
                            "lb_algorithm": "ROUND_ROBIN",
                            "session_persistence": {"type": "SOURCE_IP"},
                            "members": [{"address": backend.address, "protocol_port": 8080}],
                        },
                    }
                ],
            }
        },
    )["loadbalancer"]
    stack.wait_active(lb["id"], timeout_s=60)
    vip, url, expected = (
        lb["vip_address"],
        f"http://{lb['vip_address']}/",
        f"backend {backend.name}",
    )

    amps = _amphorae(stack, lb["id"])
    assert set(amps) == {"MASTER", "BACKUP"}
    master, backup = amps["MASTER"], amps["BACKUP"]
    assert master["vrrp_ip"] != backup["vrrp_ip"]
    assert master["ha_ip"] == backup["ha_ip"] == vip
    wait_for(lambda: _holds(stack, master["id"], vip), timeout_s=15, what="the VIP on the MASTER")
    assert not _holds(stack, backup["id"], vip)
    wait_for(lambda: _get(url) == expected, timeout_s=10, what="traffic through the MASTER")
    # The pair's HAProxies are peers: the MASTER's stickiness entry reaches the BACKUP.
    table = f"{lb['pools'][0]['id']}:{lb['listeners'][0]['id']}"
    wait_for(
        lambda: "key=" in _stats_command(stack, backup["id"], f"show table {table}"),
        timeout_s=10,
        what="the client's stick-table entry on the BACKUP",
    )

    # The MASTER's HAProxy dies: keepalived's check gives the VIP to the BACKUP.
    for pid in _haproxy_pids(stack, master["id"]):
        os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    failed = answered = 0
    while answered < 20 and failed + answered < REQUESTS_MAX and time.monotonic() - started < 30:
        if _get(url) == expected:
            answered += 1
        else:
            failed += 1
            time.sleep(0.05)
    moved_after = time.monotonic() - started
    assert answered >= 20, f"no traffic after the MASTER died ({failed} failed)\n{stack.tail()}"
    assert _holds(stack, backup["id"], vip) and not _holds(stack, master["id"], vip)
    print(f"VIP moved: traffic back after {moved_after:.1f}s, {failed} requests failed")

    # Fail over the dead amphora: a new MASTER-role amphora, and the pair is whole again.
    r = stack.api.put(f"/v2/octavia/amphorae/{master['id']}/failover")
    assert r.status_code == 202, r.text
    stack.wait_active(lb["id"], timeout_s=60)
    amps = _amphorae(stack, lb["id"])
    assert set(amps) == {"MASTER", "BACKUP"}
    assert amps["MASTER"]["id"] != master["id"] and amps["BACKUP"]["id"] == backup["id"]
    assert _get(url) == expected
    # nopreempt: the survivor keeps the VIP; the new amphora stands by.
    assert _holds(stack, backup["id"], vip)

    # A load balancer failover replaces both, one after the other, under traffic.
    before = {a["id"] for a in amps.values()}
    r = stack.api.put(f"/v2/lbaas/loadbalancers/{lb['id']}/failover")
    assert r.status_code == 202, r.text
    gap = _longest_gap(stack, lb["id"], url, expected)
    amps = _amphorae(stack, lb["id"])
    assert set(amps) == {"MASTER", "BACKUP"} and before.isdisjoint(a["id"] for a in amps.values())
    assert gap < 2.0, f"traffic stopped for {gap:.1f}s during the load balancer failover"
    print(f"load balancer failover: longest gap {gap:.2f}s")

    r = stack.api.delete(f"/v2/lbaas/loadbalancers/{lb['id']}", params={"cascade": "true"})
    assert r.status_code == 204, r.text
    wait_for(
        lambda: not [n for n in namespaces_with(stack.prefix) if "-amp-" in n],
        timeout_s=30,
        what="the amphorae's namespaces to go",
    )
