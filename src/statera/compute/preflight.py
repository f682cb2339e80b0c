"""Can this host run the drivers the settings ask for? One clear line per problem.

`check_host(settings)` lists what stops Statera from working (the CLI prints each
line and exits non-zero); `host_warnings(settings)` lists what only limits it
(the CLI prints them and goes on). Host-only checks run only for the drivers that
need them: the noop drivers need nothing.

Every observation of the host goes through a `HostProbe`, so tests hand in a fake one.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Callable
from dataclasses import dataclass

from statera.compute.plumbing import HostPlumbingError, ensure_namespace, iproute, remove_namespace
from statera.settings import Settings

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
_RTN_UNICAST = 1


def _effective_capabilities() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _try_namespace(name: str) -> str | None:
    try:
        ensure_namespace(name)
        remove_namespace(name)
    except HostPlumbingError as exc:
        return exc.message
    return None


def _host_routes() -> list[tuple[ipaddress.IPv4Network, str]]:
    """(prefix, device name) of the host's unicast IPv4 routes in the main table."""
    found = []
    with iproute() as host:
        names = {msg["index"]: msg.get("IFLA_IFNAME") for msg in host.link("dump")}
        for msg in host.route("dump", family=socket.AF_INET, table=254):
            if msg["type"] != _RTN_UNICAST:
                continue
            dst = msg.get("RTA_DST") or "0.0.0.0"
            device = names.get(msg.get("RTA_OIF"), "?")
            found.append((ipaddress.IPv4Network(f"{dst}/{msg['dst_len']}"), str(device)))
    return found


@dataclass(frozen=True)
class HostProbe:
    """How the checks look at the host; every field can be replaced in tests."""

    effective_uid: Callable[[], int] = os.geteuid
    capabilities: Callable[[], int] = _effective_capabilities
    """Bit mask of the process's effective capabilities."""
    which: Callable[[str], str | None] = shutil.which
    is_executable: Callable[[str], bool] = _is_executable
    try_namespace: Callable[[str], str | None] = _try_namespace
    """Create and remove a namespace of that name; the error text, or None on success."""
    host_routes: Callable[[], list[tuple[ipaddress.IPv4Network, str]]] = _host_routes
    """(prefix, device) of the host's unicast routes."""


def check_host(settings: Settings, *, probe: HostProbe | None = None) -> list[str]:
    """Problems that stop the configured drivers from working on this host, one line each."""
    probe = probe or HostProbe()
    netns = settings.controller.compute_driver == "compute_netns_driver"
    bridges = settings.controller.network_driver == "network_bridge_driver"
    if not (netns or bridges):
        return []
    problems = []
    uid = probe.effective_uid()
    caps = probe.capabilities()
    if uid != 0:
        problems.append(
            f"not running as root (uid {uid}): the netns and bridge drivers create namespaces, "
            "bridges and veths (or set compute_driver = compute_noop_driver and "
            "network_driver = network_noop_driver in [controller_worker])"
        )
    for bit, name, why in (
        (CAP_NET_ADMIN, "CAP_NET_ADMIN", "to create bridges, veths, addresses and routes"),
        (CAP_SYS_ADMIN, "CAP_SYS_ADMIN", "to mount network namespaces under /run/netns"),
    ):
        if not caps & (1 << bit):
            problems.append(f"missing capability {name}, needed {why}")
    for command, package in (("ip", "iproute2"), ("sysctl", "procps")):
        if probe.which(command) is None:
            problems.append(f"`{command}` not found in PATH: install {package}")
    if netns:
        haproxy = settings.haproxy_amphora.haproxy_cmd
        found = probe.is_executable(haproxy) if "/" in haproxy else probe.which(haproxy)
        if not found:
            problems.append(
                f"haproxy not found at {haproxy} ([haproxy_amphora] haproxy_cmd): "
                "install it (apt-get install haproxy) or point haproxy_cmd at it"
            )
        if probe.which("keepalived") is None:
            problems.append(
                "keepalived not found in PATH: amphorae need it for ACTIVE_STANDBY "
                "(apt-get install keepalived)"
            )
    if not problems:
        name = f"{settings.default.name_prefix}-preflight-{os.getpid()}"
        error = probe.try_namespace(name)
        if error is not None:
            problems.append(f"cannot create a network namespace: {error}")
        if bridges:
            problems.extend(_overlaps(settings, probe.host_routes()))
    return problems


def _overlaps(settings: Settings, routes: list[tuple[ipaddress.IPv4Network, str]]) -> list[str]:
    """A configured subnet that overlaps a route of the host's own would hijack that traffic."""
    ours = [("[management]", settings.management_bridge, settings.management.cidr)]
    ours += [(f"[network:{n.name}]", n.bridge, n.cidr) for n in settings.networks]
    problems = []
    for section, bridge, cidr in ours:
        net = ipaddress.ip_network(cidr)
        for route, device in routes:
            if route.prefixlen > 0 and device != bridge and net.overlaps(route):
                problems.append(
                    f"{section} cidr {cidr} overlaps the host's route {route} dev {device}: "
                    "choose another cidr"
                )
    return problems
