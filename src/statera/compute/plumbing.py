"""Netlink plumbing on this host: namespaces, veths, addresses, routes (pyroute2).

The drivers (`compute.netns`, `network.bridges`, `demo.backends`) are written in
terms of these few idempotent helpers; nothing here parses `ip` output. Every
netlink or OS failure leaves this module as `HostPlumbingError` (a
`TemporaryError`: running the same step again is the repair), chained to the
original exception.

A named namespace is a bind mount of an nsfs inode at `/run/netns/<name>`. A
file there that is not such a mount (a create interrupted half-way) counts as
absent and is replaced by the next `ensure_namespace`.

pyroute2 0.9 opens a socket inside a namespace from a short-lived forked child
(about 10 ms), and its synchronous `IPRoute` runs a private event loop: call these
helpers from a worker thread (`asyncio.to_thread`), never inside a running loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import socket
import subprocess
from collections.abc import Iterable, Iterator
from typing import Any

from pyroute2 import IPRoute, netns
from pyroute2.netlink.exceptions import NetlinkError

from statera.domain.errors import TemporaryError

NETNS_DIR = str(netns.NETNS_RUN_DIR)
"""Where named network namespaces are mounted (iproute2's convention)."""

NamespaceIdentity = tuple[int, int]
"""(st_dev, st_ino) of a network namespace: what /proc/PID/ns/net of its processes shows."""

_CMD_TIMEOUT_S = 10.0


class HostPlumbingError(TemporaryError):
    """A namespace, link, address or route could not be set up or removed on this host."""


@contextlib.contextmanager
def iproute(namespace: str | None = None) -> Iterator[Any]:
    """An rtnetlink socket in `namespace` (the host's when None); errors become HostPlumbingError.

    The namespace must exist: this never creates one.
    """
    where = f"namespace {namespace}" if namespace else "host"
    _refuse_inside_event_loop()
    try:
        ipr = IPRoute() if namespace is None else IPRoute(netns=namespace, flags=0)
    except (NetlinkError, OSError) as exc:
        raise HostPlumbingError(f"cannot open netlink in {where}: {exc}") from exc
    try:
        yield ipr
    except NetlinkError as exc:
        raise HostPlumbingError(f"netlink request failed: {exc}") from exc
    except OSError as exc:
        raise HostPlumbingError(str(exc)) from exc
    finally:
        ipr.close()


def _refuse_inside_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        "host plumbing blocks and runs its own event loop: call it through "
        "asyncio.to_thread(), not from a coroutine"
    )


# --- namespaces -------------------------------------------------------------------------


def namespace_path(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"namespace name {name!r} is not a file name")
    return os.path.join(NETNS_DIR, name)


def _nsfs_dev() -> int:
    return os.stat("/proc/self/ns/net").st_dev


def namespace_identity(name: str) -> NamespaceIdentity | None:
    """The identity of the named namespace, or None if there is no such (mounted) namespace."""
    try:
        st = os.stat(namespace_path(name))
    except FileNotFoundError:
        return None
    if st.st_dev != _nsfs_dev():
        return None  # a mount point left by an interrupted create
    return (st.st_dev, st.st_ino)


def namespace_exists(name: str) -> bool:
    return namespace_identity(name) is not None


def list_namespaces() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def ensure_namespace(name: str) -> None:
    """Create the named namespace unless it exists; replace a half-created one."""
    if namespace_exists(name):
        return
    path = namespace_path(name)
    if os.path.lexists(path):
        _remove_mount_point(name)
    try:
        netns.create(name)
    except FileExistsError:
        pass  # someone else created it just now
    except (NetlinkError, OSError) as exc:
        raise HostPlumbingError(f"cannot create network namespace {name}: {exc}") from exc
    if not namespace_exists(name):
        raise HostPlumbingError(f"network namespace {name} did not appear at {path}")


def remove_namespace(name: str) -> None:
    """Unmount and remove the named namespace; nothing happens if it does not exist.

    The kernel frees the namespace once no process and no socket uses it any more:
    stop its processes first.
    """
    if os.path.lexists(namespace_path(name)):
        _remove_mount_point(name)


def _remove_mount_point(name: str) -> None:
    try:
        netns.remove(name)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise HostPlumbingError(f"cannot remove network namespace {name}: {exc}") from exc


# --- links ------------------------------------------------------------------------------


def link_index(ipr: Any, ifname: str) -> int | None:
    found: list[int] = ipr.link_lookup(ifname=ifname)
    return found[0] if found else None


def link_kind(ipr: Any, index: int) -> str | None:
    info = ipr.link("get", index=index)[0].get("IFLA_LINKINFO")
    return None if info is None else str(info.get("IFLA_INFO_KIND"))


def delete_link(ipr: Any, ifname: str) -> None:
    """Delete the link if it exists (deleting one end of a veth deletes both)."""
    index = link_index(ipr, ifname)
    if index is None:
        return
    try:
        ipr.link("del", index=index)
    except NetlinkError as exc:
        if exc.code != errno.ENODEV:
            raise


def set_up(ipr: Any, ifname: str) -> int:
    index = link_index(ipr, ifname)
    if index is None:
        raise HostPlumbingError(f"interface {ifname} does not exist")
    ipr.link("set", index=index, state="up")
    return index


def _peer_index(ipr: Any, index: int) -> int | None:
    msg = ipr.link("get", index=index)[0]
    info = msg.get("IFLA_LINKINFO")
    if info is None or info.get("IFLA_INFO_KIND") != "veth":
        return None
    peer = msg.get("IFLA_LINK")
    return None if peer is None else int(peer)


def ensure_veth(
    host: Any,
    inside: Any,
    *,
    host_ifname: str,
    namespace: str,
    peer_ifname: str,
    bridge: str | None,
) -> int:
    """Make a veth `host_ifname` (host side) ↔ `peer_ifname` (inside `namespace`), host end up.

    `host` and `inside` are `iproute()` handles of the host and of `namespace`. An
    existing pair is kept; a half-made one (only one end, or ends that are not each
    other's peer) is removed and made again. With `bridge`, the host end is one of its
    ports. Returns the index of the peer inside the namespace.
    """
    host_index = link_index(host, host_ifname)
    peer_index = link_index(inside, peer_ifname)
    paired = (
        host_index is not None
        and peer_index is not None
        and _peer_index(host, host_index) == peer_index
        and _peer_index(inside, peer_index) == host_index
    )
    if not paired:
        delete_link(host, host_ifname)
        delete_link(inside, peer_ifname)
        host.link(
            "add",
            ifname=host_ifname,
            kind="veth",
            peer={"ifname": peer_ifname, "net_ns_fd": namespace},
        )
        host_index = link_index(host, host_ifname)
        peer_index = link_index(inside, peer_ifname)
        if host_index is None or peer_index is None:
            raise HostPlumbingError(f"veth {host_ifname} ↔ {namespace}/{peer_ifname} vanished")
    assert host_index is not None and peer_index is not None
    if bridge is not None:
        bridge_index = link_index(host, bridge)
        if bridge_index is None:
            raise HostPlumbingError(
                f"bridge {bridge} does not exist (NetworkDriver.ensure_host_networks makes it)"
            )
        host.link("set", index=host_index, master=bridge_index, state="up")
    else:
        host.link("set", index=host_index, state="up")
    return peer_index


# --- addresses and routes ---------------------------------------------------------------


IPInterface = ipaddress.IPv4Interface | ipaddress.IPv6Interface

_IFA_F_NODAD = 0x02
"""Use an IPv6 address at once, without duplicate address detection: every address on
Statera's bridges is allocated by Statera, and DAD would hold a VIP back ~1-2 s."""


def addresses(ipr: Any, index: int, *, family: int = socket.AF_INET) -> set[IPInterface]:
    """The link's addresses of one family; for IPv6, global ones only (not fe80::/10)."""
    found: set[IPInterface] = set()
    for msg in ipr.addr("dump", family=family, index=index):
        address = msg.get("IFA_LOCAL") or msg.get("IFA_ADDRESS")
        iface = ipaddress.ip_interface(f"{address}/{msg['prefixlen']}")
        if not iface.ip.is_link_local:
            found.add(iface)
    return found


def ipv4_addresses(ipr: Any, index: int) -> set[ipaddress.IPv4Interface]:
    return {i for i in addresses(ipr, index) if isinstance(i, ipaddress.IPv4Interface)}


def add_addresses(ipr: Any, index: int, wanted: Iterable[IPInterface]) -> None:
    """Add each wanted address (either family) that the link does not have yet; keep others."""
    want = list(wanted)
    have = addresses(ipr, index) | (
        addresses(ipr, index, family=socket.AF_INET6) if any(i.version == 6 for i in want) else set()
    )
    for iface in want:
        if iface not in have:
            _addr(ipr, "add", index, iface)


add_ipv4_addresses = add_addresses


def set_addresses(ipr: Any, index: int, wanted: Iterable[IPInterface]) -> None:
    """Make the link's IPv4 and global IPv6 addresses exactly `wanted` (link-local stays)."""
    want = set(wanted)
    have = addresses(ipr, index) | addresses(ipr, index, family=socket.AF_INET6)
    for iface in have - want:
        _addr(ipr, "del", index, iface)
    for iface in want - have:
        _addr(ipr, "add", index, iface)


def set_ipv4_addresses(ipr: Any, index: int, wanted: Iterable[ipaddress.IPv4Interface]) -> None:
    """Make the link's IPv4 addresses exactly `wanted` (IPv6 ones are left alone)."""
    want: set[IPInterface] = set(wanted)
    have = addresses(ipr, index)
    for iface in have - want:
        _addr(ipr, "del", index, iface)
    for iface in want - have:
        _addr(ipr, "add", index, iface)


def _addr(ipr: Any, command: str, index: int, iface: IPInterface) -> None:
    extra: dict[str, Any] = {}
    if iface.version == 6 and command == "add":
        extra["flags"] = _IFA_F_NODAD
    try:
        ipr.addr(
            command, index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen, **extra
        )
    except NetlinkError as exc:
        harmless = errno.EEXIST if command == "add" else errno.EADDRNOTAVAIL
        if exc.code != harmless:
            raise


def forget_neighbour(ipr: Any, link_index: int, address: str) -> None:
    """Drop the neighbour (ARP/NDP) entry for `address` on a link (none is fine): an
    address that moved to another MAC (a VIP after failover, a management address given
    to a new amphora) must be asked for again, not reached at the old one's MAC."""
    try:
        ipr.neigh("del", dst=address, ifindex=link_index)
    except NetlinkError as exc:
        if exc.code not in (errno.ENOENT, errno.ESRCH):
            raise


def set_default_route(ipr: Any, gateway: str) -> None:
    """The default route of `gateway`'s family via `gateway`."""
    dst = "::/0" if ipaddress.ip_address(gateway).version == 6 else "0.0.0.0/0"
    ipr.route("replace", dst=dst, gateway=gateway)


def set_namespace_sysctl(namespace: str, key: str, value: str) -> None:
    """Write a per-namespace sysctl (e.g. net.ipv4.ip_nonlocal_bind) inside `namespace`."""
    argv = ["ip", "netns", "exec", namespace, "sysctl", "-q", "-w", f"{key}={value}"]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_CMD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise HostPlumbingError(f"cannot set {key} in {namespace}: {exc}") from exc
    if done.returncode != 0:
        raise HostPlumbingError(
            f"cannot set {key} in {namespace}: {(done.stderr or done.stdout).strip()[:300]}"
        )
