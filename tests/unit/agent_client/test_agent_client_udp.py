"""AgentClient.upload_udp_config: path, JSON body and the agent's 400 as AgentRejected."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from statera.agent_client import AgentAddress, AgentClient, AgentRejected, AgentUnreachable

ADDRESS = AgentAddress("amp-1", "192.0.2.10", 9443)


def make(handler: httpx.MockTransport) -> AgentClient:
    return AgentClient(
        ca_cert=Path("unused"),
        client_cert=Path("unused"),
        client_key=Path("unused"),
        timeout=httpx.Timeout(1.0),
        transport=handler,
    )


def test_upload_udp_config_sends_json_and_expects_200() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(200, json={"message": "OK"})

    with make(httpx.MockTransport(handler)) as client:
        client.upload_udp_config(ADDRESS, lb_id="lb-1", config={"listeners": []})
    assert seen[0].method == "PUT"
    assert seen[0].url.path == "/1.0/loadbalancer/amp-1/lb-1/udp"
    assert json.loads(seen[0].content) == {"listeners": []}


def test_upload_udp_config_errors() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"message": "nft refused the UDP ruleset", "details": "x"})

    with make(httpx.MockTransport(refuse)) as client, pytest.raises(AgentRejected) as caught:
        client.upload_udp_config(ADDRESS, lb_id="lb-1", config={"listeners": []})
    assert caught.value.status == 500

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with make(httpx.MockTransport(down)) as client, pytest.raises(AgentUnreachable):
        client.upload_udp_config(ADDRESS, lb_id="lb-1", config={"listeners": []})
