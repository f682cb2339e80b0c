"""Additional VIPs through the whole stack: one load balancer answers on three addresses.

The deployment's network `private` has its IPv4 subnet, a second IPv4 subnet
and an IPv6 subnet (ULA, guarded by a blackhole route like the others). A load
balancer created on the first with additional VIPs on the other two serves the
same pool of demo backends from the host on all three addresses; the amphora's
`eth1` holds each address, and deleting the load balancer frees them all.
"""

from __future__ import annotations

import ipaddress
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from tests.e2e.stack import Stack, namespaces_with, wait_for

from statera.demo.backends import Backend, start_backends


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("stack"), extra_subnets=True)
    try:
        s.start()
        yield s
    finally:
        s.close()


@pytest.fixture(scope="module")
def backends(stack: Stack) -> list[Backend]:
    return start_backends(stack.settings, network="private", count=2, port=8080)


def _url(address: str) -> str:
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    return f"http://{host}/"


def _served_by(address: str, rounds: int) -> set[str]:
    seen = set()
    with httpx.Client(timeout=3.0, headers={"Connection": "close"}) as client:
        for _ in range(rounds):
            response = client.get(_url(address))
            assert response.status_code == 200, response.text
            seen.add(response.text.strip())
    return seen


def _answers(address: str) -> bool:
    try:
        return httpx.get(_url(address), timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def test_one_load_balancer_serves_every_vip(stack: Stack, backends: list[Backend]) -> None:
    body = {
        "loadbalancer": {
            "name": "dual-stack",
            "vip_subnet_id": "private-subnet",
            "additional_vips": [{"subnet_id": "private-v6"}, {"subnet_id": "private-b"}],
            "listeners": [
                {
                    "protocol": "HTTP",
                    "protocol_port": 80,
                    "default_pool": {
                        "name": "web",
                        "protocol": "HTTP",
                        "lb_algorithm": "ROUND_ROBIN",
                        "members": [
                            {"address": b.address, "protocol_port": 8080} for b in backends
                        ],
                    },
                }
            ],
        }
    }
    lb = stack.post("/v2/lbaas/loadbalancers", body)["loadbalancer"]
    v6, second = (v["ip_address"] for v in lb["additional_vips"])
    assert ipaddress.ip_address(v6).version == 6
    assert ipaddress.ip_address(second) in ipaddress.ip_network(
        stack.settings.subnet_named("private-b")[1].cidr  # type: ignore[index]
    )
    stack.wait_active(lb["id"], timeout_s=60)

    expected = {b.name for b in backends}
    for address in (lb["vip_address"], v6, second):
        wait_for(lambda a=address: _answers(a), timeout_s=15, what=f"{address} to answer")
        # Round robin over both backends on every address.
        assert _served_by(address, rounds=6) == {f"backend {n}" for n in expected}, address

    # The amphora holds every address on eth1 (and nothing else global).
    tenant_ns = next(n for n in namespaces_with(stack.prefix) if n.endswith("-haproxy"))
    shown = subprocess.run(
        ["ip", "netns", "exec", tenant_ns, "ip", "-o", "addr", "show", "dev", "eth1"],
        capture_output=True,
        text=True,
        check=True,
    )
    held = {
        line.split()[3].split("/")[0]
        for line in shown.stdout.splitlines()
        if " scope global" in line
    }
    assert {lb["vip_address"], v6, second} <= held

    assert stack.api.delete(f"/v2/lbaas/loadbalancers/{lb['id']}?cascade=true").status_code == 204
    wait_for(
        lambda: stack.api.get(f"/v2/lbaas/loadbalancers/{lb['id']}").status_code == 404,
        timeout_s=30,
        what="the load balancer to go",
    )
    for address in (lb["vip_address"], v6, second):
        assert not _answers(address), address
    ports = stack.api.get("/v2.0/ports").json()["ports"]
    taken = {ip["ip_address"] for p in ports for ip in p["fixed_ips"]}
    assert not taken & {lb["vip_address"], v6, second}


def test_blackhole_guards_every_subnet(stack: Stack) -> None:
    from statera.compute.plumbing import iproute
    from statera.network.bridges import BLACKHOLE_METRIC, blackhole_routes

    net = stack.settings.network_named("private")
    assert net is not None
    with iproute() as host:
        guards = blackhole_routes(host)
    for subnet in net.subnets:
        assert (ipaddress.ip_network(subnet.cidr), BLACKHOLE_METRIC) in guards, subnet.cidr
