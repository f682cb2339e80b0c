"""Host-network fixtures for e2e tests: a unique name prefix and subnets per test, full cleanup.

`host_settings` gives each test its own 4-character prefix (t + 3 random), state
directory, and a management and two tenant /24s that no host route overlaps; its
finalizer removes everything of that prefix (amphorae, demo backends, namespaces,
links, bridges, blackhole routes) whatever the test left, kills only processes inside
those namespaces. The conftests of tests/e2e/{compute,network,demo} import them.
"""

from __future__ import annotations

import ipaddress
import os
import random
import re
import socket
import string
from collections.abc import Iterator

import pytest

from statera.compute.netns import NetnsComputeDriver
from statera.compute.plumbing import delete_link, iproute, list_namespaces, remove_namespace
from statera.compute.processes import stop_namespace_processes
from statera.demo.backends import stop_backends
from statera.network.bridges import BridgeNetworkDriver
from statera.settings import Settings, load_settings

_rng = random.SystemRandom()


def _free_subnets(*patterns: str) -> list[ipaddress.IPv4Network]:
    """One /24 per pattern ("10.213.{}.0/24") that no host route overlaps yet."""
    with iproute() as host:
        used = [
            ipaddress.IPv4Network(f"{msg.get('RTA_DST') or '0.0.0.0'}/{msg['dst_len']}")
            for msg in host.route("dump", family=socket.AF_INET)
            if msg["dst_len"] > 0
        ]
    picked: list[ipaddress.IPv4Network] = []
    for pattern in patterns:
        for _ in range(100):
            net = ipaddress.IPv4Network(pattern.format(_rng.randrange(10, 250)))
            if net not in picked and not any(net.overlaps(u) for u in used):
                picked.append(net)
                break
        else:
            pytest.fail(f"no free subnet like {pattern}")
    return picked


def sweep(settings: Settings) -> None:
    """Remove everything of this prefix: amphorae, demo backends, test namespaces, links."""
    prefix = settings.default.name_prefix
    compute = NetnsComputeDriver(settings, stop_timeout_s=1.0)
    for amphora_id in compute.list_amphorae():
        compute.delete_amphora(amphora_id)
    stop_backends(settings)
    leftover = [ns for ns in list_namespaces() if ns.startswith(f"{prefix}-")]
    stop_namespace_processes(leftover, timeout_s=1.0)
    ours = re.compile(rf"{prefix}-.*|{prefix}[0-9a-f]{{8}}[mt]|{prefix}demo\d+")
    with iproute() as host:
        for msg in host.link("dump"):
            if ours.fullmatch(msg.get("IFLA_IFNAME")):
                delete_link(host, msg.get("IFLA_IFNAME"))
    for ns in leftover:
        remove_namespace(ns)
    BridgeNetworkDriver(settings).teardown_host_networks()


@pytest.fixture
def host_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings with a fresh prefix, a management and two tenant networks nobody else uses."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    prefix = "t" + "".join(_rng.choice(string.ascii_lowercase + string.digits) for _ in range(3))
    mgmt, red, blue = _free_subnets("172.31.{}.0/24", "10.213.{}.0/24", "10.213.{}.0/24")
    settings = load_settings(
        overrides=f"""
[DEFAULT]
name_prefix = {prefix}
state_dir = {tmp_path_factory.mktemp("state")}
[management]
cidr = {mgmt}
gateway = {mgmt[1]}
[network:red]
cidr = {red}
[network:blue]
cidr = {blue}
"""
    )
    try:
        yield settings
    finally:
        sweep(settings)


@pytest.fixture
def network_driver(host_settings: Settings) -> BridgeNetworkDriver:
    driver = BridgeNetworkDriver(host_settings)
    driver.ensure_host_networks()
    return driver
