"""L7 policies carry real traffic: a path goes to another pool, a header is rejected,
a path is redirected; changing the policies through the API changes the traffic."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from tests.e2e.stack import Stack, wait_for

from statera.demo.backends import Backend, start_backends

BACKEND_PORT = 8080


def get(vip: str, path: str, **headers: str) -> httpx.Response:
    return httpx.get(
        f"http://{vip}:80{path}", timeout=2.0, headers={"Connection": "close", **headers}
    )


@pytest.fixture(scope="module")
def backends(stack: Stack) -> list[Backend]:
    return start_backends(stack.settings, network="private", count=2, port=BACKEND_PORT)


@pytest.fixture(scope="module")
def l7_lb(stack: Stack, backends: list[Backend]) -> dict[str, Any]:
    """One call: pool A (default, backend 1), pool api (backend 2), three policies."""

    def pool(name: str, backend: Backend) -> dict[str, Any]:
        return {
            "name": name,
            "protocol": "HTTP",
            "lb_algorithm": "ROUND_ROBIN",
            "members": [{"address": backend.address, "protocol_port": BACKEND_PORT}],
        }

    policies = [
        {
            "name": "api",
            "action": "REDIRECT_TO_POOL",
            "redirect_pool": {"name": "api"},
            "rules": [{"type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}],
        },
        {
            "name": "block",
            "action": "REJECT",
            "rules": [
                # A quoted header value with a space: escaped into one HAProxy word.
                {
                    "type": "HEADER",
                    "compare_type": "EQUAL_TO",
                    "key": "X-Block",
                    "value": '"yes please"',
                }
            ],
        },
        {
            "name": "moved",
            "action": "REDIRECT_TO_URL",
            "redirect_url": "https://example.com/new?from=old",
            "redirect_http_code": 301,
            "rules": [{"type": "PATH", "compare_type": "EQUAL_TO", "value": "/old"}],
        },
    ]
    body = {
        "loadbalancer": {
            "name": "l7",
            "vip_subnet_id": "private-subnet",
            "pools": [pool("api", backends[1])],
            "listeners": [
                {
                    "protocol": "HTTP",
                    "protocol_port": 80,
                    "default_pool": pool("web", backends[0]),
                    "l7policies": policies,
                }
            ],
        }
    }
    lb = stack.post("/v2/lbaas/loadbalancers", body)["loadbalancer"]
    stack.wait_active(lb["id"])
    return dict(lb)


def test_path_policy_sends_to_the_redirect_pool(
    l7_lb: dict[str, Any], backends: list[Backend]
) -> None:
    vip = l7_lb["vip_address"]
    for _ in range(3):
        assert get(vip, "/api/users").text.strip() == f"backend {backends[1].name}"
        assert get(vip, "/").text.strip() == f"backend {backends[0].name}"
        assert get(vip, "/other/api").text.strip() == f"backend {backends[0].name}"


def test_header_rule_rejects(l7_lb: dict[str, Any], backends: list[Backend]) -> None:
    vip = l7_lb["vip_address"]
    assert get(vip, "/", **{"X-Block": "yes please"}).status_code == 403
    # REJECT comes before REDIRECT_TO_POOL whatever the positions (Octavia's order).
    assert get(vip, "/api/x", **{"X-Block": "yes please"}).status_code == 403
    allowed = get(vip, "/", **{"X-Block": "yes"})
    assert allowed.status_code == 200
    assert allowed.text.strip() == f"backend {backends[0].name}"


def test_redirect_to_url(l7_lb: dict[str, Any]) -> None:
    r = get(l7_lb["vip_address"], "/old")
    assert r.status_code == 301
    assert r.headers["location"] == "https://example.com/new?from=old"
    assert get(l7_lb["vip_address"], "/older").status_code == 200


def test_statuses_are_online(stack: Stack, l7_lb: dict[str, Any]) -> None:
    policies = stack.api.get("/v2/lbaas/l7policies").json()["l7policies"]
    mine = [p for p in policies if p["listener_id"] == l7_lb["listeners"][0]["id"]]
    assert {(p["provisioning_status"], p["operating_status"]) for p in mine} == {
        ("ACTIVE", "ONLINE")
    }


def test_api_changes_change_the_traffic(
    stack: Stack, l7_lb: dict[str, Any], backends: list[Backend]
) -> None:
    vip = l7_lb["vip_address"]
    policies = {
        p["name"]: p
        for p in stack.api.get("/v2/lbaas/l7policies").json()["l7policies"]
        if p["listener_id"] == l7_lb["listeners"][0]["id"]
    }
    # A second rule on the api policy (rules are ANDed): only X-Version 2... goes there now.
    rule = {"type": "HEADER", "compare_type": "STARTS_WITH", "key": "X-Version", "value": "2"}
    stack.post(f"/v2/lbaas/l7policies/{policies['api']['id']}/rules", {"rule": rule})
    stack.wait_active(l7_lb["id"])
    assert get(vip, "/api/x").text.strip() == f"backend {backends[0].name}"
    assert get(vip, "/api/x", **{"X-Version": "2.1"}).text.strip() == f"backend {backends[1].name}"
    # Deleting the REJECT policy lets the header through.
    r = stack.api.delete(f"/v2/lbaas/l7policies/{policies['block']['id']}")
    assert r.status_code == 204, r.text
    stack.wait_active(l7_lb["id"])
    assert get(vip, "/", **{"X-Block": "yes please"}).status_code == 200
    # The policy row is purged once the data plane no longer has it.
    wait_for(
        lambda: stack.api.get(f"/v2/lbaas/l7policies/{policies['block']['id']}").status_code == 404,
        timeout_s=10,
    )
