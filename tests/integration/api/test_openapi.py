"""The OpenAPI document (`/v2/openapi.json`) and a bounded schemathesis run against it.

The run fuzzes every documented operation of a real `statera up` (noop
drivers, SQLite) and fails on any 5xx or any response that breaks the
document's schema. Its examples are bounded (`MAX_EXAMPLES` per operation and
phase); the seed is random, printed in the output on failure.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.api.helpers import ok
from tests.noop_server import NoopServer

MAX_EXAMPLES = 10
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_document_describes_the_v2_api(client: Any) -> None:
    doc = ok(client.get("/v2/openapi.json"))
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for path in (
        "/v2/lbaas/loadbalancers",
        "/v2/lbaas/loadbalancers/{lb_id}",
        "/v2/lbaas/listeners",
        "/v2/lbaas/pools/{pool_id}/members",
        "/v2/lbaas/healthmonitors/{hm_id}",
    ):
        assert path in paths, path
    assert not any(p.startswith("/v2.0") for p in paths)
    create = paths["/v2/lbaas/loadbalancers"]["post"]
    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["loadbalancer"]
    lb_schema = doc["components"]["schemas"]["LoadBalancerPOST"]
    assert {"vip_subnet_id", "vip_address", "listeners"} <= set(lb_schema["properties"])
    created = create["responses"]["201"]["content"]["application/json"]["schema"]
    assert created["required"] == ["loadbalancer"]
    assert create["responses"]["409"]["content"]["application/json"]["schema"]["required"] == [
        "faultcode",
        "faultstring",
        "debuginfo",
    ]
    listing = paths["/v2/lbaas/loadbalancers"]["get"]["responses"]["200"]
    assert listing["content"]["application/json"]["schema"]["required"] == ["loadbalancers"]
    assert "versions" in ok(client.get("/"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NoopServer]:
    s = NoopServer(tmp_path)
    try:
        yield s.start()
    finally:
        s.close()


@pytest.mark.timeout(900)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(server: NoopServer) -> None:
    done = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{server.base}/v2/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--header",
            "X-Project-Id: fuzz",
            "--generation-allow-x00",
            "false",
            "--continue-on-failure",
            "--request-timeout",
            "30",
        ],
        capture_output=True,
        text=True,
        timeout=800,
        cwd=server.root,
    )
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, f"{report}\n--- statera log ---\n{server.tail()}"
    assert "passed" in done.stdout
