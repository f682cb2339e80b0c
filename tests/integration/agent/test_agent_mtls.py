"""The agent and its client over real mutual TLS on 127.0.0.1, certificates from statera.pki.

No HAProxy processes here (e2e covers them); `haproxy -c` runs when installed.
"""

from __future__ import annotations

import dataclasses
import ssl
from pathlib import Path

import httpx
import pytest
from tests.integration.agent.agent_harness import (
    Pki,
    agent_config,
    agent_in_thread,
    free_port,
    short_dir,
)

from statera.agent.server import server_ssl_context
from statera.agent_client import (
    AgentAddress,
    AgentCertificateRejected,
    AgentClient,
    AgentRejected,
    AgentUnreachable,
)
from statera.agent_client.tls import client_ssl_context
from statera.pki.authority import CertificateAuthority, controller_client_cert

AMPHORA = "0b8d7c6e-5f4a-4b3c-9d2e-1f0a9b8c7d6e"


def test_the_controller_reaches_its_agent(client: AgentClient, agent: AgentAddress) -> None:
    assert client.get_api_version(agent) == "1.0"
    info = client.get_info(agent)
    assert info["amphora_id"] == AMPHORA
    assert info["api_version"] == "1.0"
    assert client.get_status(agent) == {
        "id": AMPHORA,
        "seq": 1,
        "ver": 2,
        "listeners": {},
        "pools": {},
    }


def test_errors_come_back_as_agent_rejected(client: AgentClient, agent: AgentAddress) -> None:
    with pytest.raises(AgentRejected) as info:
        client.upload_haproxy_config(agent, lb_id="lb-1", config="global\n    bogus\n")
    assert info.value.status == 400
    assert "bogus" in info.value.detail

    with pytest.raises(AgentRejected) as info:
        client.get_haproxy_config(agent, lb_id="lb-1")
    assert info.value.status == 404

    other = AgentAddress("other-amphora", agent.host, agent.port)
    with pytest.raises(AgentCertificateRejected):
        client.get_api_version(other)


def test_unknown_endpoints_answer_json(pki: Pki, agent: AgentAddress) -> None:
    context = client_ssl_context(
        ca_cert=pki.controller.ca_cert,
        client_cert=pki.controller.cert,
        client_key=pki.controller.key,
    )
    with httpx.Client(verify=context) as raw:
        extensions = {"sni_hostname": AMPHORA}
        missing = raw.get(f"{agent.base_url}/1.0/nothing", extensions=extensions)
        wrong_method = raw.post(f"{agent.base_url}/1.0/status", extensions=extensions)
        unsupported = raw.patch(f"{agent.base_url}/1.0/status", extensions=extensions)
    assert missing.status_code == 404
    assert set(missing.json()) == {"message", "details"}
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "GET"
    assert unsupported.status_code == 501
    assert set(unsupported.json()) == {"message", "details"}


def test_a_client_cert_from_another_ca_is_refused(
    tmp_path: Path, pki: Pki, agent: AgentAddress
) -> None:
    stranger = controller_client_cert(tmp_path / "other-ca")
    with (
        AgentClient(
            ca_cert=pki.controller.ca_cert,  # trusts the agent, but the agent does not trust it
            client_cert=stranger.cert,
            client_key=stranger.key,
            timeout=httpx.Timeout(5.0),
        ) as client,
        pytest.raises(AgentUnreachable),
    ):
        client.get_api_version(agent)


def test_a_client_without_cert_is_refused(pki: Pki, agent: AgentAddress) -> None:
    context = ssl.create_default_context(cafile=str(pki.controller.ca_cert))
    with httpx.Client(verify=context) as raw, pytest.raises(httpx.HTTPError):
        raw.get(f"{agent.base_url}/", extensions={"sni_hostname": AMPHORA})


def test_a_server_cert_for_another_amphora_is_refused(
    client: AgentClient, pki: Pki, base_dir: Path
) -> None:
    impostor = pki.server_cert("another-amphora")
    config = agent_config(pki, amphora_id=AMPHORA, base_dir=base_dir, server_cert=impostor)
    with agent_in_thread(config) as address, pytest.raises(AgentCertificateRejected) as info:
        client.get_api_version(address)
    assert isinstance(info.value.__cause__, httpx.ConnectError)


def test_a_server_cert_from_another_ca_is_refused(
    client: AgentClient, pki: Pki, base_dir: Path, tmp_path: Path
) -> None:
    other = CertificateAuthority.load_or_create(tmp_path / "other-ca")
    foreign = pki.server_cert(AMPHORA, authority=other)
    config = agent_config(pki, amphora_id=AMPHORA, base_dir=base_dir, server_cert=foreign)
    with agent_in_thread(config) as address, pytest.raises(AgentCertificateRejected):
        client.get_api_version(address)


def test_a_reused_address_is_checked_again(client: AgentClient, pki: Pki) -> None:
    """After a failover the same IP and port may belong to another amphora: connections are
    pooled per amphora, so a request for the old one makes a fresh, failing handshake."""
    port = free_port()
    with short_dir() as second_dir:
        second = agent_config(pki, amphora_id="amphora-b", base_dir=second_dir, port=port)
        with agent_in_thread(second) as address_b:
            assert client.get_info(address_b)["amphora_id"] == "amphora-b"  # pooled now
            address_a = dataclasses.replace(address_b, amphora_id="amphora-a")
            with pytest.raises(AgentCertificateRejected):
                client.get_info(address_a)
            assert client.get_info(address_b)["amphora_id"] == "amphora-b"


def test_the_server_speaks_tls_1_2_or_newer_and_requires_client_certs(pki: Pki) -> None:
    cert, key = pki.server_cert(AMPHORA)
    context = server_ssl_context(
        server_cert=str(cert), server_key=str(key), client_ca=str(pki.controller.ca_cert)
    )
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_another_amphoras_server_cert_cannot_act_as_the_controller(
    pki: Pki, agent: AgentAddress
) -> None:
    """Same CA, but a server cert lacks clientAuth: one amphora cannot drive another."""
    cert, key = pki.server_cert("some-other-amphora")
    with (
        AgentClient(
            ca_cert=pki.controller.ca_cert,
            client_cert=cert,
            client_key=key,
            timeout=httpx.Timeout(5.0),
        ) as client,
        pytest.raises(AgentUnreachable),
    ):
        client.get_api_version(agent)
