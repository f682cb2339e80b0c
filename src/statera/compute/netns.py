"""The `compute_netns_driver`: an amphora is two network namespaces and an agent process.

For amphora `<id>` and the deployment's `name_prefix` (names in `compute.names`):

    host ── <prefix>-mgmt bridge ── <prefix><hex8>m ══ mgmt0 (mgmt_ip/prefix)  [<prefix>-amp-<id>]
                                                         agent: python -m statera.agent
    host ── tenant bridge ───────── <prefix><hex8>t ══ eth1 (VIP)       [<prefix>-amp-<id>-haproxy]
                                                         HAProxy, keepalived (started by the agent)

The tenant side (`eth1`) is plugged by `network.bridges.BridgeNetworkDriver.plug_vip`;
this driver creates both namespaces and the management side, writes the amphora's
directory `<state_dir>/amphorae/<id>/` (`files` and `agent.json`, mode 0600), and
starts the agent detached, so that it survives the controller (`agent.pid`,
`agent.log` in the same directory).

Crash safety: the namespaces are created first and removed last, so an amphora
that exists at all is found by `list_amphorae`. `create_amphora` repairs whatever a
crash left half-done; `delete_amphora` removes whatever is left. The agent is found
again by its pid file (the PID must still live in the management namespace) or, if
the pid file was never written, by its command line among that namespace's processes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from statera.compute.names import (
    MGMT_IFNAME,
    AmphoraNames,
    amphora_id_of_namespace,
)
from statera.compute.plumbing import (
    HostPlumbingError,
    delete_link,
    ensure_namespace,
    ensure_veth,
    forget_neighbour,
    iproute,
    link_index,
    list_namespaces,
    namespace_exists,
    namespace_identity,
    remove_namespace,
    set_ipv4_addresses,
    set_up,
)
from statera.compute.processes import (
    cmdline,
    pid_in_namespace,
    pids_in_namespaces,
    process_namespace,
    read_pid_file,
    spawn_detached,
    stop_namespace_processes,
    wait_until_in_namespace,
    write_pid_file,
)
from statera.settings import Settings

__all__ = ["AgentCommand", "AmphoraNames", "NetnsComputeDriver"]

AgentCommand = Callable[[Path], Sequence[str]]
"""Builds the agent's argv (run inside the management namespace) from its config path."""

_FILE_PART_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_AGENT_START_TIMEOUT_S = 5.0


class NetnsComputeDriver:
    """Amphorae as network namespaces on this host. Needs root (see `compute.preflight`)."""

    def __init__(
        self,
        settings: Settings,
        *,
        python: str = sys.executable,
        agent_command: AgentCommand | None = None,
        stop_timeout_s: float = 5.0,
    ) -> None:
        self._settings = settings
        self._prefix = settings.default.name_prefix
        self._python = python
        self._agent_command = agent_command or self._default_agent_command
        self._stop_timeout_s = stop_timeout_s
        self._mgmt_net = ipaddress.ip_network(settings.management.cidr)

    def names(self, amphora_id: str) -> AmphoraNames:
        return AmphoraNames(self._prefix, amphora_id)

    def amphora_dir(self, amphora_id: str) -> Path:
        return self._settings.default.state_dir / "amphorae" / self.names(amphora_id).amphora_id

    # --- the ComputeDriver protocol -----------------------------------------------------

    def create_amphora(
        self,
        *,
        amphora_id: str,
        mgmt_ip: str,
        agent_config: Mapping[str, Any],
        files: Mapping[str, bytes],
    ) -> str:
        """Build or repair the amphora and make sure exactly one agent runs; return its compute id.

        The compute id is the management namespace's name.
        """
        names = self.names(amphora_id)
        mgmt_iface = self._mgmt_interface(mgmt_ip)
        checked_files = {_relative_path(name): data for name, data in files.items()}
        for ns in names.namespaces:
            ensure_namespace(ns)
        with iproute() as host, iproute(names.mgmt_namespace) as inside:
            index = ensure_veth(
                host,
                inside,
                host_ifname=names.mgmt_veth,
                namespace=names.mgmt_namespace,
                peer_ifname=MGMT_IFNAME,
                bridge=self._settings.management_bridge,
            )
            set_ipv4_addresses(inside, index, [mgmt_iface])
            inside.link("set", index=index, state="up")
            set_up(inside, "lo")
            # The address may have been a deleted amphora's: the host must not keep
            # sending the controller's requests to that amphora's MAC.
            bridge_index = link_index(host, self._settings.management_bridge)
            if bridge_index is not None:
                forget_neighbour(host, bridge_index, mgmt_ip)
        directory = self._write_directory(names, agent_config, checked_files)
        self._ensure_agent(names, directory)
        return names.mgmt_namespace

    def delete_amphora(self, amphora_id: str) -> None:
        """Stop the amphora's processes, then remove its links, directory and namespaces."""
        names = self.names(amphora_id)
        stop_namespace_processes(names.namespaces, timeout_s=self._stop_timeout_s)
        with iproute() as host:
            delete_link(host, names.mgmt_veth)
            delete_link(host, names.tenant_veth)
        shutil.rmtree(self.amphora_dir(amphora_id), ignore_errors=True)
        for ns in reversed(names.namespaces):
            remove_namespace(ns)

    def amphora_exists(self, amphora_id: str) -> bool:
        """True while either of the amphora's namespaces exists."""
        return any(namespace_exists(ns) for ns in self.names(amphora_id).namespaces)

    def list_amphorae(self) -> list[str]:
        """Ids of every amphora with a namespace of this prefix (including half-made ones)."""
        found = {amphora_id_of_namespace(self._prefix, ns) for ns in list_namespaces()}
        return sorted(amp for amp in found if amp is not None)

    # --- beyond the protocol ------------------------------------------------------------

    def agent_pid(self, amphora_id: str) -> int | None:
        """PID of the amphora's running agent, or None."""
        names = self.names(amphora_id)
        pid = read_pid_file(self.amphora_dir(amphora_id) / "agent.pid")
        if pid is not None and pid_in_namespace(pid, names.mgmt_namespace):
            return pid
        return None

    # --- helpers ------------------------------------------------------------------------

    def _default_agent_command(self, config: Path) -> Sequence[str]:
        return [self._python, "-m", "statera.agent", "--config", str(config)]

    def _mgmt_interface(self, mgmt_ip: str) -> ipaddress.IPv4Interface:
        addr = ipaddress.ip_address(mgmt_ip)
        net = self._mgmt_net
        if (
            not isinstance(addr, ipaddress.IPv4Address)
            or addr not in net
            or addr in (net.network_address, net.broadcast_address)
            or str(addr) == self._settings.management.gateway
        ):
            raise ValueError(
                f"management IP {mgmt_ip} is not a free host address of {net} "
                f"(the gateway {self._settings.management.gateway} is the host's)"
            )
        return ipaddress.IPv4Interface(f"{addr}/{net.prefixlen}")

    def _write_directory(
        self, names: AmphoraNames, agent_config: Mapping[str, Any], files: Mapping[Path, bytes]
    ) -> Path:
        directory = self.amphora_dir(names.amphora_id)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        config = json.dumps(agent_config, indent=2, sort_keys=True).encode() + b"\n"
        for rel, data in [*files.items(), (Path("agent.json"), config)]:
            _write_private(directory / rel, data)
        return directory

    def _ensure_agent(self, names: AmphoraNames, directory: Path) -> int:
        pid_file = directory / "agent.pid"
        pid = read_pid_file(pid_file)
        if pid is not None and pid_in_namespace(pid, names.mgmt_namespace):
            return pid
        config = directory / "agent.json"
        argv = list(self._agent_command(config))
        ident = namespace_identity(names.mgmt_namespace)
        for running in pids_in_namespaces({ident} if ident else ()):
            if cmdline(running) == argv:  # started by a controller that died before the pid file
                write_pid_file(pid_file, running)
                return running
        pid = spawn_detached(
            ["ip", "netns", "exec", names.mgmt_namespace, *argv],
            log_path=directory / "agent.log",
            python=self._python,
        )
        write_pid_file(pid_file, pid)
        if not wait_until_in_namespace(pid, names.mgmt_namespace, timeout_s=_AGENT_START_TIMEOUT_S):
            if process_namespace(pid) is not None:  # still stuck outside: ours to stop
                os.kill(pid, signal.SIGKILL)
            log = _tail(directory / "agent.log")
            raise HostPlumbingError(f"agent of amphora {names.amphora_id} exited at once: {log}")
        return pid


def _relative_path(name: str) -> Path:
    parts = name.split("/")
    if not all(_FILE_PART_RE.match(part) for part in parts) or name == "agent.json":
        raise ValueError(f"amphora file name {name!r}: use a relative path of [A-Za-z0-9_.-] parts")
    return Path(*parts)


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (mode 0600) atomically, unless it already holds exactly that."""
    try:
        if path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def _tail(log: Path, lines: int = 5) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "no log"
    return " | ".join(text[-lines:]) or "empty log"
