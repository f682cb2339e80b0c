"""RestAmphora.apply_vrrp and the agent client's VRRP calls, over httpx.MockTransport."""

from __future__ import annotations

import httpx
import pytest

from statera.agent_client import AgentAddress, AgentClient
from statera.controller.drivers import AmphoraEndpoint, RestAmphora
from statera.domain.errors import PermanentError, TemporaryError

AMP = AmphoraEndpoint(amphora_id="amp-1", host="192.0.2.10", port=9443)


class FakeAgent:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bytes]] = []
        self.reject = False
        self.down = False

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        self.calls.append((request.method, request.url.path, request.content))
        if request.url.path == "/1.0/vrrp/upload":
            if self.reject:
                return httpx.Response(
                    400,
                    json={
                        "message": "Invalid keepalived configuration",
                        "details": "(Line 3) Unknown keyword 'bogus'",
                    },
                )
            return httpx.Response(200, json={"message": "OK"})
        if request.url.path.startswith("/1.0/vrrp/"):
            return httpx.Response(202, json={"message": "OK", "details": "keepalived started"})
        return httpx.Response(404, json={"message": "Not found", "details": ""})


@pytest.fixture
def agent() -> FakeAgent:
    return FakeAgent()


def test_apply_vrrp_uploads_then_starts(driver: RestAmphora, agent: FakeAgent) -> None:
    driver.apply_vrrp(AMP, config="vrrp_instance x {\n}\n")
    assert agent.calls == [
        ("PUT", "/1.0/vrrp/upload", b"vrrp_instance x {\n}\n"),
        ("PUT", "/1.0/vrrp/start", b""),
    ]


def test_a_refused_config_is_permanent_and_names_keepalived(
    driver: RestAmphora, agent: FakeAgent
) -> None:
    agent.reject = True
    with pytest.raises(PermanentError, match="keepalived") as caught:
        driver.apply_vrrp(AMP, config="bogus")
    assert "Unknown keyword 'bogus'" in str(caught.value)
    assert [c[1] for c in agent.calls] == ["/1.0/vrrp/upload"]


def test_an_unreachable_agent_is_temporary(driver: RestAmphora, agent: FakeAgent) -> None:
    agent.down = True
    with pytest.raises(TemporaryError):
        driver.apply_vrrp(AMP, config="x")


def test_client_vrrp_action(client: AgentClient, agent: FakeAgent) -> None:
    address = AgentAddress("amp-1", "192.0.2.10", 9443)
    assert client.vrrp_action(address, action="stop") == "keepalived started"
    assert agent.calls[-1][:2] == ("PUT", "/1.0/vrrp/stop")
    with pytest.raises(ValueError, match="not a keepalived action"):
        client.vrrp_action(address, action="../x")
