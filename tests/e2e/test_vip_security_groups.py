"""Security groups on a VIP through the whole stack (`vip_sg_ids`, nftables in the amphora).

A load balancer with two listeners (ports 80 and 81) is guarded by a tenant's
security group that opens only port 80: the host reaches the VIP on 80 and
gets no answer on 81. A rule for 81 added through the Network view opens it
without any load balancer call, and clearing `vip_sg_ids` removes the filter.
"""

from __future__ import annotations

from typing import Any

import httpx
from tests.e2e.stack import Stack, wait_for

from statera.demo.backends import start_backends


def _answers(vip: str, port: int) -> bool:
    try:
        return httpx.get(f"http://{vip}:{port}/", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _listener(port: int, members: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "protocol": "HTTP",
        "protocol_port": port,
        "default_pool": {
            "name": f"pool-{port}",
            "protocol": "HTTP",
            "lb_algorithm": "ROUND_ROBIN",
            "members": members,
        },
    }


def _rule(stack: Stack, sg_id: str, port: int) -> None:
    body = {
        "security_group_rule": {
            "security_group_id": sg_id,
            "direction": "ingress",
            "ethertype": "IPv4",
            "protocol": "tcp",
            "port_range_min": port,
            "port_range_max": port,
        }
    }
    stack.post("/v2.0/security-group-rules", body)


def test_security_groups_filter_the_vip(stack: Stack) -> None:
    backend = start_backends(stack.settings, network="private", count=1, port=8080)[0]
    members = [{"address": backend.address, "protocol_port": 8080}]
    sg = stack.post("/v2.0/security-groups", {"security_group": {"name": "web"}})
    sg_id = sg["security_group"]["id"]
    _rule(stack, sg_id, 80)
    body = {
        "loadbalancer": {
            "name": "guarded",
            "vip_subnet_id": "private-subnet",
            "vip_sg_ids": [sg_id],
            "listeners": [_listener(80, members), _listener(81, members)],
        }
    }
    lb = stack.post("/v2/lbaas/loadbalancers", body)["loadbalancer"]
    stack.wait_active(lb["id"])
    vip = lb["vip_address"]

    wait_for(lambda: _answers(vip, 80), timeout_s=15, what="port 80 to answer")
    assert not _answers(vip, 81), "port 81 answered though no rule opens it"

    _rule(stack, sg_id, 81)  # no load balancer call: the controller re-applies the group
    wait_for(lambda: _answers(vip, 81), timeout_s=20, what="port 81 to open")
    assert _answers(vip, 80)

    # Clearing the groups removes the filter; closing 81 again first shows it is gone.
    rules = stack.api.get("/v2.0/security-group-rules", params={"port_range_min": 81}).json()
    (rule_81,) = [r for r in rules["security_group_rules"] if r["security_group_id"] == sg_id]
    assert stack.api.delete(f"/v2.0/security-group-rules/{rule_81['id']}").status_code == 204
    wait_for(lambda: not _answers(vip, 81), timeout_s=20, what="port 81 to close again")
    r = stack.api.put(
        f"/v2/lbaas/loadbalancers/{lb['id']}", json={"loadbalancer": {"vip_sg_ids": []}}
    )
    assert r.status_code == 200, r.text
    stack.wait_active(lb["id"])
    wait_for(lambda: _answers(vip, 81), timeout_s=20, what="port 81 open without groups")

    assert stack.api.delete(f"/v2/lbaas/loadbalancers/{lb['id']}?cascade=true").status_code == 204
    wait_for(
        lambda: stack.api.get(f"/v2/lbaas/loadbalancers/{lb['id']}").status_code == 404,
        timeout_s=30,
        what="the load balancer to go",
    )
    assert stack.api.delete(f"/v2.0/security-groups/{sg_id}").status_code == 204
