"""Pool TLS through the whole stack: the amphora re-encrypts to a TLS member in a namespace.

The member is a Python HTTPS server (tests/e2e/tls_member.py) with a certificate of a throwaway CA,
started by this module inside a demo backend's namespace on the tenant bridge
(and stopped by its PID). It answers with the TLS version it negotiated, so a
client of the VIP sees that the amphora spoke TLS to it and honoured the
pool's `tls_versions`; with `tls_enabled` off the member refuses the plain
HTTP and the VIP answers an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.stack import Stack, wait_for
from tests.e2e.tls_member import TLS_PORT, TlsMember, running_tls_member
from tests.tls_material import cert_pem, make_ca

MEMBER_CA = make_ca("Member CA")


@pytest.fixture(scope="module")
def tls_member(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsMember]:
    directory = Path(tmp_path_factory.mktemp("member-cert"))
    with running_tls_member(stack, directory, MEMBER_CA) as member:
        yield member


def _answer(vip: str) -> httpx.Response:
    return httpx.get(f"http://{vip}/", timeout=3.0, headers={"Connection": "close"})


def _status(vip: str) -> int | None:
    """The VIP's status code; None while HAProxy is still retrying the member."""
    try:
        return httpx.get(
            f"http://{vip}/", timeout=10.0, headers={"Connection": "close"}
        ).status_code
    except httpx.TimeoutException:
        return None


def _secret(stack: Stack, pem: bytes) -> str:
    body = {"name": "ca", "payload": pem.decode(), "payload_content_type": "text/plain"}
    r = stack.api.post("/v1/secrets", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["secret_ref"])


def _update_pool(stack: Stack, lb_id: str, pool_id: str, values: dict[str, Any]) -> None:
    r = stack.api.put(f"/v2/lbaas/pools/{pool_id}", json={"pool": values})
    assert r.status_code == 200, r.text
    stack.wait_active(lb_id)


def test_the_amphora_re_encrypts_to_the_member(stack: Stack, tls_member: TlsMember) -> None:
    body = {
        "loadbalancer": {
            "name": "tls-pool",
            "vip_subnet_id": "private-subnet",
            "listeners": [
                {
                    "protocol": "HTTP",
                    "protocol_port": 80,
                    "default_pool": {
                        "name": "tls",
                        "protocol": "HTTP",
                        "lb_algorithm": "ROUND_ROBIN",
                        "tls_enabled": True,
                        "members": [{"address": tls_member.address, "protocol_port": TLS_PORT}],
                    },
                }
            ],
        }
    }
    lb = stack.post("/v2/lbaas/loadbalancers", body)["loadbalancer"]
    stack.wait_active(lb["id"])
    pool_id = lb["pools"][0]["id"]
    vip = lb["vip_address"]

    shown = stack.api.get(f"/v2/lbaas/pools/{pool_id}").json()["pool"]
    assert shown["tls_enabled"] is True
    assert shown["tls_versions"] == ["TLSv1.2", "TLSv1.3"]
    first = _answer(vip)
    assert first.status_code == 200, first.text
    assert first.text == "tls-member TLSv1.3"  # the newest version both sides allow

    _update_pool(stack, lb["id"], pool_id, {"tls_versions": ["TLSv1.2"]})
    capped = wait_for(
        lambda: (r := _answer(vip)).text == "tls-member TLSv1.2" and r,
        timeout_s=15,
        what="the amphora to speak TLSv1.2 to the member",
    )
    assert capped.status_code == 200

    # Verification by a CA from the key manager: the member's own CA passes, another fails.
    ca_ref = _secret(stack, cert_pem(MEMBER_CA[0]))
    _update_pool(stack, lb["id"], pool_id, {"ca_tls_container_ref": ca_ref})
    assert _answer(vip).text == "tls-member TLSv1.2"
    other_ref = _secret(stack, cert_pem(make_ca("Other CA")[0]))
    _update_pool(stack, lb["id"], pool_id, {"ca_tls_container_ref": other_ref})
    wait_for(
        lambda: _status(vip) == 503,
        timeout_s=30,
        what="a member whose certificate the pool's CA did not sign to be refused",
    )
    _update_pool(stack, lb["id"], pool_id, {"ca_tls_container_ref": None})

    _update_pool(stack, lb["id"], pool_id, {"tls_enabled": False})
    # Plain HTTP to a TLS server: the member drops it, the amphora answers an error.
    wait_for(
        lambda: _answer(vip).status_code in (502, 503),
        timeout_s=15,
        what="plain HTTP to the TLS member to fail",
    )
