"""Failover for real: `PUT .../failover` replaces the amphora of a running load balancer.

Afterwards exactly one amphora exists (a new id), the old amphora's namespaces
are gone, and traffic flows again through the same VIP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.e2e.stack import Stack, namespaces_with, wait_for

from statera.demo.backends import start_backends


@pytest.fixture
def failover_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = Stack(tmp_path_factory.mktemp("failover"))
    try:
        s.start()
        yield s
    finally:
        s.close()


def _amphorae(stack: Stack, lb_id: str) -> list[dict[str, Any]]:
    r = stack.api.get("/v2/octavia/amphorae", params={"loadbalancer_id": lb_id})
    assert r.status_code == 200, r.text
    return list(r.json()["amphorae"])


def _answers(url: str, expected: str) -> bool:
    try:
        r = httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and r.text.strip() == expected


def _create(stack: Stack) -> tuple[dict[str, Any], str, str]:
    """A load balancer with one demo backend, ACTIVE and answering: (lb, url, expected)."""
    (backend,) = start_backends(stack.settings, network="private", count=1, port=8080)
    lb = stack.post(
        "/v2/lbaas/loadbalancers",
        {
            "loadbalancer": {
                "name": "failover",
                "vip_subnet_id": "private-subnet",
                "listeners": [
                    {
                        "protocol": "HTTP",
                        "protocol_port": 80,
                        "default_pool": {
                            "name": "p",
                            "protocol": "HTTP",
                            "lb_algorithm": "ROUND_ROBIN",
                            "members": [{"address": backend.address, "protocol_port": 8080}],
                        },
                    }
                ],
            }
        },
    )["loadbalancer"]
    stack.wait_active(lb["id"])
    url = f"http://{lb['vip_address']}/"
    expected = f"backend {backend.name}"
    wait_for(lambda: _answers(url, expected), timeout_s=10, what="traffic before failover")
    return lb, url, expected


def _assert_replaced(
    stack: Stack, lb: dict[str, Any], old_id: str, url: str, expected: str
) -> None:
    (new,) = _amphorae(stack, lb["id"])
    assert new["id"] != old_id
    assert new["status"] == "ALLOCATED" and new["ha_ip"] == lb["vip_address"]
    assert stack.api.get(f"/v2/octavia/amphorae/{old_id}").status_code == 404
    amp_ns = sorted(ns for ns in namespaces_with(stack.prefix) if "-amp-" in ns)
    assert amp_ns == [f"{stack.prefix}-amp-{new['id']}", f"{stack.prefix}-amp-{new['id']}-haproxy"]
    # Same VIP, new amphora: the host learns the VIP's new MAC and traffic flows again.
    wait_for(lambda: _answers(url, expected), timeout_s=15, what="traffic after failover")
    for _ in range(5):
        assert _answers(url, expected)


@pytest.mark.parametrize("via", ["loadbalancer", "amphora"])
def test_failover_moves_the_vip_to_a_new_amphora(failover_stack: Stack, via: str) -> None:
    stack = failover_stack
    lb, url, expected = _create(stack)
    (old,) = _amphorae(stack, lb["id"])
    assert old["status"] == "ALLOCATED" and old["ha_ip"] == lb["vip_address"]

    if via == "loadbalancer":
        r = stack.api.put(f"/v2/lbaas/loadbalancers/{lb['id']}/failover")
    else:
        r = stack.api.put(f"/v2/octavia/amphorae/{old['id']}/failover")
    assert r.status_code == 202, r.text
    stack.wait_active(lb["id"], timeout_s=60)
    _assert_replaced(stack, lb, old["id"], url, expected)


def test_kill_9_in_the_middle_of_a_failover_then_restart_finishes_it(
    failover_stack: Stack,
) -> None:
    stack = failover_stack
    lb, url, expected = _create(stack)
    (old,) = _amphorae(stack, lb["id"])
    r = stack.api.put(f"/v2/lbaas/loadbalancers/{lb['id']}/failover")
    assert r.status_code == 202, r.text
    # Die once the replacement's namespaces are being made (the old one is already gone).
    wait_for(
        lambda: any("-amp-" in ns and old["id"] not in ns for ns in namespaces_with(stack.prefix)),
        timeout_s=20,
        interval_s=0.005,
        what="the replacement amphora's namespace",
    )
    stack.kill9()
    stack.start()
    stack.wait_active(lb["id"], timeout_s=60)
    _assert_replaced(stack, lb, old["id"], url, expected)
