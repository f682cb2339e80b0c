"""Demo backends on the real host: namespaces on a tenant bridge answering HTTP."""

from __future__ import annotations

import http.client
import ipaddress

import pytest

from statera.compute.plumbing import iproute, link_index, list_namespaces
from statera.compute.processes import process_namespace
from statera.demo.backends import backend_namespace, backend_veth, start_backends, stop_backends
from statera.settings import Settings

pytestmark = pytest.mark.e2e


def get(address: str, port: int, path: str = "/") -> tuple[int, str]:
    conn = http.client.HTTPConnection(address, port, timeout=3)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_backends_answer_http_from_the_host_and_stop_cleanly(host_settings: Settings) -> None:
    red = host_settings.networks[0]
    backends = start_backends(host_settings, network="red", count=3)

    top = ipaddress.ip_address(red.allocation_pool_end)
    assert [b.address for b in backends] == [str(top), str(top - 1), str(top - 2)]
    assert [b.name for b in backends] == ["demo-1", "demo-2", "demo-3"]
    for backend in backends:
        assert get(backend.address, 80) == (200, f"backend {backend.name}\n")
        assert get(backend.address, 80, "/health") == (200, "ok\n")

    again = start_backends(host_settings, network=red.id, count=3)  # by id, idempotent
    assert [b.pid for b in again] == [b.pid for b in backends]

    moved = start_backends(host_settings, network="red", count=1, port=8080)  # restarted
    assert moved[0].pid != backends[0].pid
    assert get(moved[0].address, 8080) == (200, "backend demo-1\n")

    stop_backends(host_settings)
    stop_backends(host_settings)  # idempotent
    prefix = host_settings.default.name_prefix
    assert not any(ns.startswith(f"{prefix}-demo-") for ns in list_namespaces())
    with iproute() as host:
        for n in (1, 2, 3):
            assert link_index(host, backend_veth(prefix, n)) is None
    assert all(process_namespace(b.pid) is None for b in backends)
    assert not (host_settings.default.state_dir / "demo").exists()


def test_start_backends_refuses_unknown_networks_and_too_many(host_settings: Settings) -> None:
    with pytest.raises(ValueError, match="no network 'nope'"):
        start_backends(host_settings, network="nope", count=1)
    with pytest.raises(ValueError, match="count"):
        start_backends(host_settings, network="red", count=0)
    assert backend_namespace(host_settings.default.name_prefix, 1) not in list_namespaces()
