"""NetnsComputeDriver on the real host: namespaces, management veth, one agent, clean delete."""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from statera.compute.netns import NetnsComputeDriver
from statera.compute.plumbing import (
    ensure_namespace,
    iproute,
    link_index,
    namespace_exists,
    namespace_identity,
    namespace_path,
)
from statera.compute.processes import pids_in_namespaces, process_namespace
from statera.network.bridges import BridgeNetworkDriver
from statera.settings import Settings

pytestmark = pytest.mark.e2e

# Stands in for the agent: answers "agent" on port 9443 of the management namespace.
AGENT = """
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 9443))
s.listen()
while True:
    c, _ = s.accept()
    c.sendall(b"agent")
    c.close()
"""

STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(600)
"""


def fake_agent(config: Path) -> list[str]:
    return [sys.executable, "-c", AGENT, str(config)]


@pytest.fixture
def compute(host_settings: Settings) -> NetnsComputeDriver:
    BridgeNetworkDriver(host_settings).ensure_host_networks()
    return NetnsComputeDriver(host_settings, agent_command=fake_agent, stop_timeout_s=0.5)


def mgmt_ip(settings: Settings, offset: int = 10) -> str:
    return str(ipaddress.ip_network(settings.management.cidr)[offset])


def fetch(address: str, port: int, *, within_s: float = 5.0) -> str:
    deadline = time.monotonic() + within_s
    while True:
        try:
            with socket.create_connection((address, port), timeout=1) as conn:
                return conn.recv(100).decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def create(compute: NetnsComputeDriver, amphora_id: str, settings: Settings) -> str:
    return compute.create_amphora(
        amphora_id=amphora_id,
        mgmt_ip=mgmt_ip(settings),
        agent_config={"amphora_id": amphora_id, "heartbeat_key": "k"},
        files={"server.pem": b"cert", "ca/ca.pem": b"ca"},
    )


def test_create_twice_runs_one_agent_reachable_on_the_management_network(
    compute: NetnsComputeDriver, host_settings: Settings
) -> None:
    amphora_id = str(uuid.uuid4())
    names = compute.names(amphora_id)

    compute_id = create(compute, amphora_id, host_settings)
    assert create(compute, amphora_id, host_settings) == compute_id == names.mgmt_namespace

    ident = namespace_identity(names.mgmt_namespace)
    assert ident is not None
    agents = pids_in_namespaces({ident})
    assert agents == [compute.agent_pid(amphora_id)]
    assert fetch(mgmt_ip(host_settings), 9443) == "agent"

    directory = compute.amphora_dir(amphora_id)
    assert (directory / "server.pem").read_bytes() == b"cert"
    assert (directory / "ca" / "ca.pem").read_bytes() == b"ca"
    assert '"heartbeat_key": "k"' in (directory / "agent.json").read_text()
    for name in ("server.pem", "ca/ca.pem", "agent.json"):
        assert (directory / name).stat().st_mode & 0o777 == 0o600
    assert compute.amphora_exists(amphora_id)
    assert compute.list_amphorae() == [amphora_id]


def test_delete_leaves_no_namespace_veth_process_or_directory(
    compute: NetnsComputeDriver, host_settings: Settings
) -> None:
    amphora_id = str(uuid.uuid4())
    names = compute.names(amphora_id)
    create(compute, amphora_id, host_settings)
    red = host_settings.networks[0]
    hosts = ipaddress.ip_network(red.cidr)
    BridgeNetworkDriver(host_settings).plug_vip(
        amphora_id=amphora_id, network=red, vrrp_ip=str(hosts[10]), vip=str(hosts[20])
    )
    # Something in the tenant namespace that ignores SIGTERM (as a wedged HAProxy might).
    stubborn = subprocess.Popen(
        ["ip", "netns", "exec", names.tenant_namespace, sys.executable, "-c", STUBBORN],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert stubborn.stdout is not None and stubborn.stdout.readline() == "ready\n"
    identities = {namespace_identity(ns) for ns in names.namespaces}
    assert None not in identities
    running = pids_in_namespaces(identities)  # type: ignore[arg-type]
    agent = compute.agent_pid(amphora_id)
    assert agent is not None
    assert running == sorted([agent, stubborn.pid])

    compute.delete_amphora(amphora_id)
    stubborn.wait(timeout=5)
    stubborn.stdout.close()

    assert pids_in_namespaces(identities) == []  # type: ignore[arg-type]
    assert all(process_namespace(pid) is None for pid in running)
    assert stubborn.returncode == -signal.SIGKILL
    assert not any(os.path.lexists(namespace_path(ns)) for ns in names.namespaces)
    with iproute() as host:
        assert link_index(host, names.mgmt_veth) is None
        assert link_index(host, names.tenant_veth) is None
    assert not compute.amphora_dir(amphora_id).exists()
    assert not compute.amphora_exists(amphora_id)
    assert compute.list_amphorae() == []
    compute.delete_amphora(amphora_id)  # idempotent


def test_create_repairs_an_amphora_left_half_made(
    compute: NetnsComputeDriver, host_settings: Settings
) -> None:
    amphora_id = str(uuid.uuid4())
    names = compute.names(amphora_id)
    # A controller died right after the first step: only the management namespace exists,
    # and the tenant namespace's mount point was created but never mounted.
    ensure_namespace(names.mgmt_namespace)
    Path(namespace_path(names.tenant_namespace)).touch()
    assert compute.amphora_exists(amphora_id)
    assert compute.list_amphorae() == [amphora_id]
    assert not namespace_exists(names.tenant_namespace)

    create(compute, amphora_id, host_settings)

    assert namespace_exists(names.tenant_namespace)
    assert compute.agent_pid(amphora_id) is not None
    assert fetch(mgmt_ip(host_settings), 9443) == "agent"


def test_an_agent_without_pid_file_is_adopted_and_a_dead_one_restarted(
    compute: NetnsComputeDriver, host_settings: Settings
) -> None:
    amphora_id = str(uuid.uuid4())
    names = compute.names(amphora_id)
    create(compute, amphora_id, host_settings)
    first = compute.agent_pid(amphora_id)
    assert first is not None
    ident = namespace_identity(names.mgmt_namespace)
    assert ident is not None

    (compute.amphora_dir(amphora_id) / "agent.pid").unlink()  # died before writing it
    create(compute, amphora_id, host_settings)
    assert compute.agent_pid(amphora_id) == first
    assert pids_in_namespaces({ident}) == [first]

    os.kill(first, signal.SIGKILL)  # the agent this driver started crashes
    deadline = time.monotonic() + 5
    while process_namespace(first) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    create(compute, amphora_id, host_settings)
    second = compute.agent_pid(amphora_id)
    assert second is not None and second != first
    assert pids_in_namespaces({ident}) == [second]
    assert fetch(mgmt_ip(host_settings), 9443) == "agent"


def test_create_refuses_bad_arguments(compute: NetnsComputeDriver, host_settings: Settings) -> None:
    amphora_id = str(uuid.uuid4())
    gateway = host_settings.management.gateway
    for ip in (gateway, "192.0.2.50"):
        with pytest.raises(ValueError, match="management IP"):
            compute.create_amphora(amphora_id=amphora_id, mgmt_ip=ip, agent_config={}, files={})
    for name in ("../escape", "/etc/passwd", "agent.json", ".hidden"):
        with pytest.raises(ValueError, match="file name"):
            compute.create_amphora(
                amphora_id=amphora_id,
                mgmt_ip=mgmt_ip(host_settings),
                agent_config={},
                files={name: b"x"},
            )
    with pytest.raises(ValueError, match="not a UUID"):
        compute.create_amphora(
            amphora_id="amp-1", mgmt_ip=mgmt_ip(host_settings), agent_config={}, files={}
        )
    assert compute.list_amphorae() == []
