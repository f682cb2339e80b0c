"""RestAmphora.apply_vrrp and the agent client's VRRP calls, over httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from statera.agent_client import AgentAddress, AgentClient
from statera.controller.drivers import AmphoraEndpoint, NoopAmphora, RestAmphora
from statera.domain.errors import PermanentError, TemporaryError
from statera.settings import load_settings

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


@pytest.fixture
def client(agent: FakeAgent) -> Iterator[AgentClient]:
    with AgentClient(
        ca_cert=Path("unused"),
        client_cert=Path("unused"),
        client_key=Path("unused"),
        timeout=httpx.Timeout(1.0),
        transport=httpx.MockTransport(agent),
    ) as client:
        yield client


@pytest.fixture
def driver(client: AgentClient, tmp_path: Path) -> RestAmphora:
    return RestAmphora(load_settings(overrides=""), pki_dir=tmp_path, client=client)


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


def test_noop_driver_accepts_vrrp() -> None:
    assert NoopAmphora().apply_vrrp(AMP, config="x") is None


def test_client_vrrp_action(client: AgentClient, agent: FakeAgent) -> None:
    address = AgentAddress("amp-1", "192.0.2.10", 9443)
    assert client.vrrp_action(address, action="stop") == "keepalived started"
    assert agent.calls[-1][:2] == ("PUT", "/1.0/vrrp/stop")
    with pytest.raises(ValueError, match="not a keepalived action"):
        client.vrrp_action(address, action="../x")
