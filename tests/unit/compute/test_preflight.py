"""check_host with a fake HostProbe: one clear line per problem."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from statera.compute.preflight import (
    CAP_NET_ADMIN,
    CAP_SYS_ADMIN,
    HostProbe,
    check_host,
)
from statera.settings import Settings, load_settings

ALL_CAPS = (1 << CAP_NET_ADMIN) | (1 << CAP_SYS_ADMIN)
TOOLS = {"ip": "/usr/sbin/ip", "sysctl": "/usr/sbin/sysctl", "keepalived": "/usr/sbin/keepalived"}


def healthy() -> HostProbe:
    return HostProbe(
        effective_uid=lambda: 0,
        capabilities=lambda: ALL_CAPS,
        which=TOOLS.get,
        is_executable=lambda path: path == "/usr/sbin/haproxy",
        try_namespace=lambda name: None,
        host_routes=lambda: [
            (ipaddress.IPv4Network("0.0.0.0/0"), "eth0"),
            (ipaddress.IPv4Network("192.0.2.0/24"), "eth0"),
        ],
    )


@pytest.fixture
def settings() -> Settings:
    return load_settings()


def test_a_healthy_host_has_no_problems(settings: Settings) -> None:
    assert check_host(settings, probe=healthy()) == []


def test_not_root(settings: Settings) -> None:
    probe = dataclasses.replace(healthy(), effective_uid=lambda: 1000, capabilities=lambda: 0)
    problems = check_host(settings, probe=probe)
    assert len(problems) == 3
    assert problems[0].startswith("not running as root (uid 1000)")
    assert "CAP_NET_ADMIN" in problems[1] and "CAP_SYS_ADMIN" in problems[2]


def test_missing_tools(settings: Settings) -> None:
    probe = dataclasses.replace(healthy(), which=lambda cmd: None, is_executable=lambda p: False)
    assert check_host(settings, probe=probe) == [
        "`ip` not found in PATH: install iproute2",
        "`sysctl` not found in PATH: install procps",
        "haproxy not found at /usr/sbin/haproxy ([haproxy_amphora] haproxy_cmd): "
        "install it (apt-get install haproxy) or point haproxy_cmd at it",
        "keepalived not found in PATH: amphorae need it for ACTIVE_STANDBY "
        "(apt-get install keepalived)",
    ]


def test_haproxy_cmd_may_be_a_bare_name_found_in_path() -> None:
    settings = load_settings(overrides="[haproxy_amphora]\nhaproxy_cmd = haproxy\n")
    probe = dataclasses.replace(healthy(), which={**TOOLS, "haproxy": "/opt/haproxy"}.get)
    assert check_host(settings, probe=probe) == []


def test_namespace_creation_failure(settings: Settings) -> None:
    tried: list[str] = []

    def refuse(name: str) -> str:
        tried.append(name)
        return "Operation not permitted"

    probe = dataclasses.replace(healthy(), try_namespace=refuse)
    assert check_host(settings, probe=probe) == [
        "cannot create a network namespace: Operation not permitted"
    ]
    assert tried and tried[0].startswith(f"{settings.default.name_prefix}-preflight-")


def test_a_subnet_overlapping_a_host_route_is_a_problem(settings: Settings) -> None:
    probe = dataclasses.replace(
        healthy(),
        host_routes=lambda: [
            (ipaddress.IPv4Network("10.0.0.0/8"), "ens3"),
            (ipaddress.IPv4Network("10.0.0.0/24"), "st-private"),  # our own bridge: fine
        ],
    )
    assert check_host(settings, probe=probe) == [
        "[network:private] cidr 10.0.0.0/24 overlaps the host's route 10.0.0.0/8 dev ens3: "
        "choose another cidr"
    ]


def test_noop_drivers_need_nothing_from_the_host() -> None:
    settings = load_settings(
        overrides="[controller_worker]\ncompute_driver = compute_noop_driver\n"
        "network_driver = network_noop_driver\n"
    )
    broken = HostProbe(
        effective_uid=lambda: 1000,
        capabilities=lambda: 0,
        which=lambda cmd: None,
        is_executable=lambda path: False,
        try_namespace=lambda name: "nope",
        host_routes=lambda: [],
    )
    assert check_host(settings, probe=broken) == []
