"""RestAmphora.apply_udp and AgentClient.upload_udp_config, over httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest

from statera.agent_client import AgentAddress, AgentClient, AgentRejected
from statera.controller.drivers import AmphoraEndpoint, RestAmphora
from statera.domain.errors import PermanentError, TemporaryError
from statera.protocol.agent_api import UdpConfig

AMP = AmphoraEndpoint(amphora_id="amp-1", host="192.0.2.10", port=9443)
LB = "lb-1"
CONFIG: UdpConfig = {
    "listeners": [
        {
            "id": "11111111-2222-4333-8444-555555555555",
            "vips": ["203.0.113.10"],
            "port": 53,
            "algorithm": "ROUND_ROBIN",
            "connection_limit": -1,
            "persistence_timeout": None,
            "persistence_granularity": None,
            "pool_id": "6790b428-cc88-5a49-a165-d043627938f3",
            "members": [],
            "monitor": None,
        }
    ]
}


class FakeAgent:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bytes, str]] = []
        self.reject = False
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.calls.append(
            (request.method, request.url.path, request.content, request.headers["content-type"])
        )
        if self.reject:
            return httpx.Response(
                400,
                json={
                    "message": "Invalid UDP configuration",
                    "details": "listeners[0].port: 0 is not an integer from 1 to 65535",
                },
            )
        return httpx.Response(200, json={"message": "OK", "details": "1 UDP listener(s) applied"})


@pytest.fixture
def agent() -> FakeAgent:
    return FakeAgent()


def test_client_puts_the_json_document(client: AgentClient, agent: FakeAgent) -> None:
    client.upload_udp_config(AgentAddress("amp-1", "192.0.2.10"), lb_id=LB, config=CONFIG)
    method, path, body, content_type = agent.calls[0]
    assert (method, path, content_type) == (
        "PUT",
        "/1.0/loadbalancer/amp-1/lb-1/udp",
        "application/json",
    )
    assert json.loads(body) == CONFIG


def test_client_refuses_ids_that_change_the_path(client: AgentClient, agent: FakeAgent) -> None:
    with pytest.raises(ValueError, match="not a valid id"):
        client.upload_udp_config(AgentAddress("amp-1", "192.0.2.10"), lb_id="../x", config=CONFIG)
    assert agent.calls == []


def test_client_rejection_carries_the_field(client: AgentClient, agent: FakeAgent) -> None:
    agent.reject = True
    with pytest.raises(AgentRejected, match=r"listeners\[0\]\.port"):
        client.upload_udp_config(AgentAddress("amp-1", "192.0.2.10"), lb_id=LB, config=CONFIG)


def test_driver_applies_udp(driver: RestAmphora, agent: FakeAgent) -> None:
    driver.apply_udp(AMP, lb_id=LB, config=CONFIG)
    assert [c[:2] for c in agent.calls] == [("PUT", "/1.0/loadbalancer/amp-1/lb-1/udp")]


def test_a_refused_udp_config_is_permanent(driver: RestAmphora, agent: FakeAgent) -> None:
    agent.reject = True
    with pytest.raises(PermanentError, match="rejected the UDP listeners"):
        driver.apply_udp(AMP, lb_id=LB, config=CONFIG)


def test_an_unreachable_agent_is_temporary(driver: RestAmphora, agent: FakeAgent) -> None:
    agent.down = True
    with pytest.raises(TemporaryError):
        driver.apply_udp(AMP, lb_id=LB, config=CONFIG)
