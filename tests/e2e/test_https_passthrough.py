"""HTTPS passthrough, a TLS-HELLO monitor and a PROMETHEUS listener through the whole stack.

The member is a Python HTTPS server with a certificate of a throwaway CA,
started by this module inside a demo backend's namespace on the tenant bridge
(and stopped by its PID). An HTTPS listener passes the TLS stream through
untouched, so a client of the VIP verifies the member's own certificate
against that CA and learns the TLS version it negotiated with the member. The
pool's TLS-HELLO monitor completes a TLS handshake: the member is ONLINE in
the API while it serves TLS and ERROR once it stops. A PROMETHEUS listener on
the same load balancer answers `GET /metrics` with HAProxy's exporter.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.e2e.stack import Stack, wait_for
from tests.e2e.tls_member import TLS_PORT, TlsMember, client_context, running_tls_member
from tests.tls_material import make_ca

METRICS_PORT = 9100
MEMBER_CA = make_ca("Passthrough member CA")


@pytest.fixture(scope="module")
def tls_member(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsMember]:
    directory = Path(tmp_path_factory.mktemp("passthrough-cert"))
    with running_tls_member(stack, directory, MEMBER_CA) as member:
        yield member


def _through_vip(vip: str) -> tuple[bytes, str, bytes]:
    """(the peer's certificate, the TLS version, the HTTP answer) of one TLS request to the VIP."""
    with (
        socket.create_connection((vip, 443), timeout=5) as raw,
        client_context(MEMBER_CA).wrap_socket(raw, server_hostname="member.test") as tls,
    ):
        peer = tls.getpeercert(binary_form=True)
        version = tls.version()
        tls.sendall(b"GET / HTTP/1.1\r\nHost: member.test\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := tls.recv(4096):
            answer += chunk
    assert peer is not None and version is not None
    return peer, version, answer


def _member_status(stack: Stack, pool_id: str, member_id: str) -> str:
    r = stack.api.get(f"/v2/lbaas/pools/{pool_id}/members/{member_id}")
    assert r.status_code == 200, r.text
    return str(r.json()["member"]["operating_status"])


def _handshake_fails(vip: str) -> bool:
    try:
        _through_vip(vip)
    except (OSError, AssertionError):
        return True
    return False


@pytest.fixture(scope="module")
def passthrough_lb(stack: Stack, tls_member: TlsMember) -> dict[str, Any]:
    body = {
        "loadbalancer": {
            "name": "passthrough",
            "vip_subnet_id": "private-subnet",
            "listeners": [
                {
                    "name": "tls",
                    "protocol": "HTTPS",
                    "protocol_port": 443,
                    "default_pool": {
                        "name": "tls",
                        "protocol": "HTTPS",
                        "lb_algorithm": "ROUND_ROBIN",
                        "members": [{"address": tls_member.address, "protocol_port": TLS_PORT}],
                        "healthmonitor": {
                            "type": "TLS-HELLO",
                            "delay": 1,
                            "timeout": 1,
                            "max_retries": 1,
                            "max_retries_down": 2,
                        },
                    },
                },
                {"name": "metrics", "protocol": "PROMETHEUS", "protocol_port": METRICS_PORT},
            ],
        }
    }
    lb = stack.post("/v2/lbaas/loadbalancers", body)["loadbalancer"]
    stack.wait_active(lb["id"])
    return dict(lb)


def test_the_client_sees_the_members_certificate(
    passthrough_lb: dict[str, Any], tls_member: TlsMember
) -> None:
    peer, version, answer = _through_vip(passthrough_lb["vip_address"])
    assert peer == tls_member.certificate_der
    assert answer.startswith(b"HTTP/1.0 200")
    assert answer.endswith(f"tls-member {version}".encode())


def test_tls_hello_follows_the_member(
    stack: Stack, passthrough_lb: dict[str, Any], tls_member: TlsMember
) -> None:
    pool = passthrough_lb["pools"][0]
    member_id = pool["members"][0]["id"]
    wait_for(
        lambda: _member_status(stack, pool["id"], member_id) == "ONLINE",
        timeout_s=15,
        what="member ONLINE",
    )
    tls_member.stop()
    try:
        wait_for(
            lambda: _member_status(stack, pool["id"], member_id) == "ERROR",
            timeout_s=15,
            what="member ERROR once its TLS server stopped",
        )
        assert _handshake_fails(passthrough_lb["vip_address"])
    finally:
        tls_member.start()
    wait_for(
        lambda: _member_status(stack, pool["id"], member_id) == "ONLINE",
        timeout_s=15,
        what="member ONLINE again",
    )


def test_the_prometheus_listener_answers_metrics(
    stack: Stack, passthrough_lb: dict[str, Any]
) -> None:
    vip = passthrough_lb["vip_address"]
    listeners = {li["name"]: li for li in passthrough_lb["listeners"]}
    pool = passthrough_lb["pools"][0]
    r = httpx.get(f"http://{vip}:{METRICS_PORT}/metrics", timeout=5.0)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert "# TYPE haproxy_process_uptime_seconds gauge" in r.text
    tls_id = listeners["tls"]["id"]
    assert f'haproxy_frontend_current_sessions{{proxy="{tls_id}"}}' in r.text
    member_id = pool["members"][0]["id"]
    assert f'server="{member_id}"' in r.text
    assert httpx.get(f"http://{vip}:{METRICS_PORT}/", timeout=5.0).status_code == 404

    tree = stack.api.get(f"/v2/lbaas/loadbalancers/{passthrough_lb['id']}/status").json()
    shown = {li["name"]: li for li in tree["statuses"]["loadbalancer"]["listeners"]}
    assert shown["metrics"]["pools"] == []
    url = f"/v2/lbaas/listeners/{listeners['metrics']['id']}"
    wait_for(
        lambda: stack.api.get(url).json()["listener"]["operating_status"] == "ONLINE",
        timeout_s=10,
        what="the PROMETHEUS listener ONLINE",
    )
