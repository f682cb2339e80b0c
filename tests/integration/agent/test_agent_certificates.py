"""The agent's certificate endpoints over real mutual TLS on 127.0.0.1.

Files land 0600 in `<base_dir>/certs/` (0700), may come before the first
configuration of a new load balancer, are checked by `haproxy -c` with the
configuration that names them (when haproxy is installed), and go with
`DELETE /1.0/listeners/{lb_id}`. No HAProxy process is started here.
"""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.agent.agent_harness import (
    HAPROXY,
    Pki,
)
from tests.tls_material import make_ca, make_server_cert

from statera.agent_client import AgentAddress, AgentClient, AgentRejected
from statera.agent_client.tls import client_ssl_context
from statera.domain.enums import Algorithm, ListenerProtocol, PoolProtocol
from statera.domain.specs import (
    AmphoraRuntime,
    HaproxyDefaults,
    ListenerSpec,
    ListenerTlsSpec,
    LoadBalancerSpec,
    MemberSpec,
    PoolSpec,
)
from statera.rendering import render_haproxy

AMPHORA = "5c3a0f7e-2b1d-4e8f-9a6b-7c5d4e3f2a1b"
LB = "7e2f1c0b-9d8a-4b6c-8e5f-3a2b1c0d9e8f"
OTHER_LB = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"


@pytest.fixture
def raw(pki: Pki) -> Iterator[httpx.Client]:
    """A plain httpx client with the controller's certificate, for what AgentClient refuses."""
    context = client_ssl_context(
        ca_cert=pki.controller.ca_cert,
        client_cert=pki.controller.cert,
        client_key=pki.controller.key,
    )
    with httpx.Client(verify=context) as plain:
        yield plain


def site_pem() -> bytes:
    return b"".join(make_server_cert(make_ca("Agent test CA"), ["www.example.com"]))


def test_a_certificate_is_stored_privately_and_listed(
    client: AgentClient, agent: AgentAddress, base_dir: Path
) -> None:
    pem = site_pem()
    md5 = client.upload_certificate(agent, lb_id=LB, filename="site.pem", data=pem)
    assert md5 == hashlib.md5(pem).hexdigest()
    stored = base_dir / "certs" / "site.pem"
    assert stored.read_bytes() == pem
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE((base_dir / "certs").stat().st_mode) == 0o700
    assert client.list_certificates(agent, lb_id=LB) == {"site.pem": md5}
    assert not [p for p in (base_dir / "certs").iterdir() if p.name != "site.pem"]  # no temp left


def test_get_answers_the_md5_and_404_when_absent(
    client: AgentClient, agent: AgentAddress, raw: httpx.Client
) -> None:
    pem = site_pem()
    client.upload_certificate(agent, lb_id=LB, filename="site.pem", data=pem)
    url = f"{agent.base_url}/1.0/loadbalancer/{LB}/certificates"
    extensions = {"sni_hostname": AMPHORA}
    found = raw.get(f"{url}/site.pem", extensions=extensions)
    assert found.status_code == 200
    assert found.json() == {"md5sum": hashlib.md5(pem).hexdigest()}
    assert raw.get(f"{url}/other.pem", extensions=extensions).status_code == 404


def test_delete_is_idempotent(client: AgentClient, agent: AgentAddress) -> None:
    client.upload_certificate(agent, lb_id=LB, filename="site.pem", data=site_pem())
    client.delete_certificate(agent, lb_id=LB, filename="site.pem")
    client.delete_certificate(agent, lb_id=LB, filename="site.pem")
    assert client.list_certificates(agent, lb_id=LB) == {}


def test_a_fresh_amphora_lists_nothing_and_certificates_claim_it(
    client: AgentClient, agent: AgentAddress
) -> None:
    assert client.list_certificates(agent, lb_id=LB) == {}
    client.upload_certificate(agent, lb_id=LB, filename="site.pem", data=site_pem())
    with pytest.raises(AgentRejected) as conflict:
        client.upload_certificate(agent, lb_id=OTHER_LB, filename="x.pem", data=site_pem())
    assert conflict.value.status == 409
    with pytest.raises(AgentRejected) as missing:
        client.list_certificates(agent, lb_id=OTHER_LB)
    assert missing.value.status == 404


def test_bad_bodies_and_names_are_refused(
    client: AgentClient, agent: AgentAddress, raw: httpx.Client
) -> None:
    secret = b"not a pem but secret-material"
    with pytest.raises(AgentRejected) as info:
        client.upload_certificate(agent, lb_id=LB, filename="site.pem", data=secret)
    assert info.value.status == 400
    assert "site.pem" in info.value.detail
    assert "secret-material" not in info.value.detail
    extensions = {"sni_hostname": AMPHORA}
    base = f"{agent.base_url}/1.0/loadbalancer/{AMPHORA}/{LB}/certificates"
    for name, status in (("a..pem", 400), ("..%2fx.pem", 404), ("x.key", 404)):
        answer = raw.put(f"{base}/{name}", content=site_pem(), extensions=extensions)
        assert answer.status_code == status, name
    wrong_amphora = f"{agent.base_url}/1.0/loadbalancer/other-amp/{LB}/certificates/site.pem"
    assert raw.put(wrong_amphora, content=site_pem(), extensions=extensions).status_code == 400
    assert client.list_certificates(agent, lb_id=LB) == {}


def tls_config(base_dir: Path) -> str:
    pool = PoolSpec(
        id="0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
        protocol=PoolProtocol.HTTP,
        lb_algorithm=Algorithm.ROUND_ROBIN,
        members=(
            MemberSpec(
                id="9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", address="127.0.0.1", protocol_port=1
            ),
        ),
    )
    listener = ListenerSpec(
        id="2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
        protocol=ListenerProtocol.TERMINATED_HTTPS,
        protocol_port=1,
        default_pool_id=pool.id,
        tls=ListenerTlsSpec(certificates=("site.pem",), hsts_max_age=60),
    )
    spec = LoadBalancerSpec(
        id=LB,
        vip_address="127.0.0.1",
        listeners=(listener,),
        pools=(pool,),
        tls_files=(("site.pem", b""),),  # content is the agent's business here
    )
    runtime = AmphoraRuntime(amphora_id=AMPHORA, base_dir=str(base_dir))
    return render_haproxy(spec, runtime=runtime, defaults=HaproxyDefaults())


@pytest.mark.skipif(not Path(HAPROXY).exists(), reason="no haproxy")
def test_the_config_is_checked_with_the_uploaded_files(
    client: AgentClient, agent: AgentAddress, base_dir: Path
) -> None:
    config = tls_config(base_dir)
    with pytest.raises(AgentRejected) as missing:  # before the upload: haproxy -c fails
        client.upload_haproxy_config(agent, lb_id=LB, config=config)
    assert "site.pem" in missing.value.detail
    client.upload_certificate(agent, lb_id=LB, filename="site.pem", data=site_pem())
    assert client.upload_haproxy_config(agent, lb_id=LB, config=config)


def test_deleting_the_load_balancer_removes_its_certificates(
    client: AgentClient, agent: AgentAddress, base_dir: Path
) -> None:
    client.upload_certificate(agent, lb_id=LB, filename="site.pem", data=site_pem())
    client.delete_load_balancer(agent, lb_id=LB)
    assert not (base_dir / "certs").exists()
    # The amphora is free again: another load balancer may use it.
    client.upload_certificate(agent, lb_id=OTHER_LB, filename="x.pem", data=site_pem())
    assert list(client.list_certificates(agent, lb_id=OTHER_LB)) == ["x.pem"]
