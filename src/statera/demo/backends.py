"""Demo backends for newcomers: members to put behind a first load balancer.

`start_backends(settings, network="private", count=3)` gives each backend `n` its
own namespace on the tenant network's bridge, runs `statera.demo.backend_server`
in it, and returns once every backend accepts connections:

    <prefix>-demo-<n>   namespace; `eth0` with an address from the TOP of the
                        network's allocation pool (n=1 gets the last address, n=2
                        the one below, ...; the controller allocates VIPs from the
                        bottom), default route via the gateway
    <prefix>demo<n>     host end of its veth, a port of the network's bridge

`GET /` on a backend answers `backend demo-<n>`. PIDs and logs live under
`<state_dir>/demo/`. Both functions are idempotent: a running backend with the
same command line is kept, one with another (a new port or kind) is restarted.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from statera.compute.names import check_ifname, check_prefix
from statera.compute.plumbing import (
    HostPlumbingError,
    delete_link,
    ensure_namespace,
    ensure_veth,
    iproute,
    list_namespaces,
    remove_namespace,
    set_default_route,
    set_ipv4_addresses,
    set_up,
)
from statera.compute.processes import (
    cmdline,
    pid_in_namespace,
    read_pid_file,
    spawn_detached,
    stop_namespace_processes,
    wait_until_in_namespace,
    write_pid_file,
)
from statera.network.bridges import BridgeNetworkDriver
from statera.settings import NetworkSettings, Settings

BackendKind = Literal["http", "echo", "udp-echo"]

_READY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Backend:
    name: str
    namespace: str
    address: str
    pid: int


def backend_namespace(prefix: str, n: int) -> str:
    return f"{check_prefix(prefix)}-demo-{n}"


def backend_veth(prefix: str, n: int) -> str:
    return check_ifname(f"{check_prefix(prefix)}demo{n}")


def start_backends(
    settings: Settings,
    *,
    network: str,
    count: int,
    port: int = 80,
    kind: BackendKind = "http",
    python: str = sys.executable,
) -> list[Backend]:
    """Start (or keep) backends 1..count on `network` (name, id or subnet); leave the others."""
    net = settings.network_named(network)
    if net is None:
        known = ", ".join(n.name for n in settings.networks)
        raise ValueError(f"no network {network!r} in the settings (known: {known})")
    if not 1 <= count <= 100:
        raise ValueError(f"count {count}: start 1 to 100 backends")
    addresses = _top_addresses(net, count)
    BridgeNetworkDriver(settings).ensure_host_networks()
    prefix = settings.default.name_prefix
    directory = settings.default.state_dir / "demo"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    backends = []
    for n, address in enumerate(addresses, start=1):
        namespace = backend_namespace(prefix, n)
        ensure_namespace(namespace)
        with iproute() as host, iproute(namespace) as inside:
            index = ensure_veth(
                host,
                inside,
                host_ifname=backend_veth(prefix, n),
                namespace=namespace,
                peer_ifname="eth0",
                bridge=net.bridge,
            )
            set_up(inside, "lo")
            set_ipv4_addresses(inside, index, [address])
            inside.link("set", index=index, state="up")
            set_default_route(inside, net.gateway)
        name = f"demo-{n}"
        argv = [python, "-m", "statera.demo.backend_server", "--mode", kind]
        argv += ["--name", name, "--port", str(port)]
        pid = _ensure_server(namespace, argv, directory=directory, n=n, python=python)
        backends.append(Backend(name=name, namespace=namespace, address=str(address.ip), pid=pid))
    if kind != "udp-echo":
        for backend in backends:
            _wait_accepting(backend, port)
    return backends


def stop_backends(settings: Settings) -> None:
    """Stop every demo backend of this prefix and remove its namespace, veth and files."""
    prefix = check_prefix(settings.default.name_prefix)
    namespaces = [ns for ns in list_namespaces() if re.fullmatch(rf"{prefix}-demo-\d+", ns)]
    stop_namespace_processes(namespaces)
    with iproute() as host:
        for msg in host.link("dump"):
            ifname = msg.get("IFLA_IFNAME")
            if re.fullmatch(rf"{prefix}demo\d+", ifname):
                delete_link(host, ifname)
    for ns in namespaces:
        remove_namespace(ns)
    shutil.rmtree(settings.default.state_dir / "demo", ignore_errors=True)


def _top_addresses(net: NetworkSettings, count: int) -> list[ipaddress.IPv4Interface]:
    start = ipaddress.IPv4Address(net.allocation_pool_start)
    end = ipaddress.IPv4Address(net.allocation_pool_end)
    prefixlen = net.network.prefixlen
    found: list[ipaddress.IPv4Interface] = []
    address = end
    while len(found) < count and address >= start:
        if str(address) != net.gateway:
            found.append(ipaddress.IPv4Interface(f"{address}/{prefixlen}"))
        address -= 1
    if len(found) < count:
        raise ValueError(f"network {net.name}'s allocation pool has no room for {count} backends")
    return found


def _ensure_server(namespace: str, argv: list[str], *, directory: Path, n: int, python: str) -> int:
    pid_file = directory / f"{n}.pid"
    pid = read_pid_file(pid_file)
    if pid is not None and pid_in_namespace(pid, namespace) and cmdline(pid) == argv:
        return pid
    stop_namespace_processes([namespace])
    pid = spawn_detached(
        ["ip", "netns", "exec", namespace, *argv], log_path=directory / f"{n}.log", python=python
    )
    write_pid_file(pid_file, pid)
    if not wait_until_in_namespace(pid, namespace, timeout_s=_READY_TIMEOUT_S):
        raise HostPlumbingError(f"demo backend {n} exited at once; see {directory / f'{n}.log'}")
    return pid


def _wait_accepting(backend: Backend, port: int) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while True:
        try:
            with socket.create_connection((backend.address, port), timeout=0.5):
                return
        except OSError as exc:
            if time.monotonic() >= deadline or not pid_in_namespace(backend.pid, backend.namespace):
                raise HostPlumbingError(
                    f"demo backend {backend.name} at {backend.address}:{port} "
                    f"does not accept connections: {exc}"
                ) from exc
            time.sleep(0.02)
