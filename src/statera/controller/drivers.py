"""The three seams of the controller, and the real or noop implementation of each.

- compute: makes and destroys amphorae (`compute_netns_driver`: namespaces on this host);
- network: host networks and the amphora's tenant-side plug (`network_bridge_driver`);
- amphora: talks to an amphora's agent (`amphora_haproxy_rest_driver`: mTLS REST).

Names are Octavia's `[controller_worker]` option values. The noop drivers exist
for fast API tests and benchmarks of the control plane; they never prove that
a feature works.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from statera.agent_client.client import AgentAddress
from statera.agent_client.errors import AgentError, AgentRejected, AgentUnreachable
from statera.agent_client.retry import Backoff, wait_until_reachable
from statera.compute.base import ComputeDriver
from statera.domain.errors import PermanentError, TemporaryError
from statera.network.base import NetworkDriver
from statera.protocol.agent_api import AmphoraStatusReport, UdpConfig, is_certificate_name
from statera.settings import Settings

if TYPE_CHECKING:
    from statera.agent_client.client import AgentClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AmphoraEndpoint:
    amphora_id: str
    host: str
    port: int


class AmphoraDriver(Protocol):
    def wait_ready(self, amp: AmphoraEndpoint, *, deadline_s: float) -> None: ...

    def apply_config(
        self,
        amp: AmphoraEndpoint,
        *,
        lb_id: str,
        config: str,
        runtime: list[str] | None,
        files: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        """Upload and activate `config`; with `runtime`, apply those commands instead of a
        reload (the uploaded file is what a later reload uses).

        `files` are the (name, PEM bytes) TLS files `config` names (`LoadBalancerSpec.
        tls_files`): they are on the amphora before `config` is checked, and files no
        longer named are removed once `config` is live. Their content is secret: it
        never appears in an error or a log line."""

    def apply_vrrp(self, amp: AmphoraEndpoint, *, config: str) -> None:
        """Upload keepalived.conf (`rendering.render_keepalived`) and start keepalived, or
        reload it if it runs. A config the agent refuses is a PermanentError naming
        keepalived; an unreachable agent a TemporaryError."""

    def apply_udp(self, amp: AmphoraEndpoint, *, lb_id: str, config: UdpConfig) -> None:
        """Replace the amphora's UDP listeners (nftables in its tenant namespace, checked by
        its agent) with `config`; `{"listeners": []}` removes them. A config the agent
        refuses is a PermanentError; an unreachable agent a TemporaryError."""

    def remove(
        self, amp: AmphoraEndpoint, *, lb_id: str, timeout_s: float | None = None
    ) -> None:
        """Stop the amphora's services (keepalived first) and drop its files; failures are
        logged, not raised. `timeout_s` bounds the attempt (a dead agent must not hold up
        the failover that replaces it)."""

    def status(self, amp: AmphoraEndpoint) -> AmphoraStatusReport | None: ...

    def forget(self, amp: AmphoraEndpoint) -> None:
        """Drop what is kept for an amphora that is gone (pooled connections)."""


class NoopAmphora:
    def wait_ready(self, amp: AmphoraEndpoint, *, deadline_s: float) -> None:
        return None

    def apply_config(
        self,
        amp: AmphoraEndpoint,
        *,
        lb_id: str,
        config: str,
        runtime: list[str] | None,
        files: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        return None

    def apply_vrrp(self, amp: AmphoraEndpoint, *, config: str) -> None:
        return None

    def apply_udp(self, amp: AmphoraEndpoint, *, lb_id: str, config: UdpConfig) -> None:
        return None

    def remove(
        self, amp: AmphoraEndpoint, *, lb_id: str, timeout_s: float | None = None
    ) -> None:
        return None

    def status(self, amp: AmphoraEndpoint) -> AmphoraStatusReport | None:
        return None

    def forget(self, amp: AmphoraEndpoint) -> None:
        return None


@contextmanager
def _agent_errors(amp: AmphoraEndpoint, refused: str) -> Iterator[None]:
    """An agent's refusal is permanent (`amphora <id> <refused>: <why>`); anything else
    (unreachable, timed out) is retried."""
    try:
        yield
    except AgentRejected as exc:
        raise PermanentError(f"amphora {amp.amphora_id} {refused}: {exc}") from exc
    except AgentError as exc:
        raise TemporaryError(f"amphora {amp.amphora_id}: {exc}") from exc


class RestAmphora:
    """Drives real agents over mutual TLS with the controller's client certificate."""

    def __init__(
        self, settings: Settings, *, pki_dir: Path, client: AgentClient | None = None
    ) -> None:
        """`client` replaces the one built from `pki_dir` (tests pass one over MockTransport)."""
        if client is not None:
            self._client = client
            return
        import httpx

        from statera.agent_client.client import AgentClient
        from statera.pki.authority import CertificateAuthority, controller_client_cert

        CertificateAuthority.load_or_create(pki_dir)
        paths = controller_client_cert(pki_dir)
        hs = settings.haproxy_amphora
        self._client = AgentClient(
            ca_cert=paths.ca_cert,
            client_cert=paths.cert,
            client_key=paths.key,
            timeout=httpx.Timeout(
                hs.rest_request_read_timeout, connect=hs.rest_request_conn_timeout
            ),
        )

    @staticmethod
    def _address(amp: AmphoraEndpoint) -> AgentAddress:
        return AgentAddress(amphora_id=amp.amphora_id, host=amp.host, port=amp.port)

    def wait_ready(self, amp: AmphoraEndpoint, *, deadline_s: float) -> None:
        backoff = Backoff(delays_s=(0.02, 0.05, 0.1, 0.2, 0.5), deadline_s=deadline_s)
        try:
            wait_until_reachable(self._client, self._address(amp), backoff=backoff)
        except AgentUnreachable as exc:
            raise TemporaryError(f"amphora {amp.amphora_id}: agent unreachable: {exc}") from exc

    def apply_config(
        self,
        amp: AmphoraEndpoint,
        *,
        lb_id: str,
        config: str,
        runtime: list[str] | None,
        files: tuple[tuple[str, bytes], ...] = (),
    ) -> None:
        address = self._address(amp)
        uploaded, stale = self._upload_files(amp, address, lb_id=lb_id, files=files)
        if uploaded:
            runtime = None  # HAProxy reads certificate files only when it (re)loads
        self._activate(amp, address, lb_id=lb_id, config=config, runtime=runtime)
        for name in stale:
            with _agent_errors(amp, f"refused to delete TLS file {name}"):
                self._client.delete_certificate(address, lb_id=lb_id, filename=name)

    def _upload_files(
        self,
        amp: AmphoraEndpoint,
        address: AgentAddress,
        *,
        lb_id: str,
        files: tuple[tuple[str, bytes], ...],
    ) -> tuple[list[str], list[str]]:
        """Put the files the agent lacks or holds with other content; return (names
        uploaded, names stored but no longer wanted)."""
        wanted: dict[str, bytes] = {}
        for name, data in files:
            if not is_certificate_name(name):
                raise PermanentError(f"TLS file name {name!r} is not [A-Za-z0-9_.-]+.pem")
            if wanted.setdefault(name, data) != data:
                raise PermanentError(f"TLS file {name} is given twice with different content")
        with _agent_errors(amp, "refused to list its TLS files"):
            stored = self._client.list_certificates(address, lb_id=lb_id)
        uploaded: list[str] = []
        for name, data in wanted.items():
            if stored.get(name) == hashlib.md5(data, usedforsecurity=False).hexdigest():
                continue
            with _agent_errors(amp, f"rejected TLS file {name}"):
                self._client.upload_certificate(address, lb_id=lb_id, filename=name, data=data)
            uploaded.append(name)
        return uploaded, sorted(set(stored) - set(wanted))

    def _activate(
        self,
        amp: AmphoraEndpoint,
        address: AgentAddress,
        *,
        lb_id: str,
        config: str,
        runtime: list[str] | None,
    ) -> None:
        with _agent_errors(amp, "rejected the HAProxy configuration"):
            self._client.upload_haproxy_config(address, lb_id=lb_id, config=config)
        if runtime:
            try:
                self._client.run_runtime_commands(address, lb_id=lb_id, commands=runtime)
                return
            except AgentError as exc:
                # e.g. `del server` while requests are still attached: a reload is always right.
                log.info(
                    "amphora %s: runtime change not applied (%s); reloading", amp.amphora_id, exc
                )
        with _agent_errors(amp, "could not start HAProxy"):
            self._client.start_haproxy(address, lb_id=lb_id)  # reloads if already running

    def apply_vrrp(self, amp: AmphoraEndpoint, *, config: str) -> None:
        address = self._address(amp)
        with _agent_errors(amp, "rejected the keepalived configuration"):
            self._client.upload_vrrp_config(address, config=config)
        with _agent_errors(amp, "could not start keepalived"):
            self._client.vrrp_action(address, action="start")  # reloads if already running

    def apply_udp(self, amp: AmphoraEndpoint, *, lb_id: str, config: UdpConfig) -> None:
        with _agent_errors(amp, "rejected the UDP listeners"):
            self._client.upload_udp_config(self._address(amp), lb_id=lb_id, config=config)

    def remove(
        self, amp: AmphoraEndpoint, *, lb_id: str, timeout_s: float | None = None
    ) -> None:
        try:
            self._client.delete_load_balancer(self._address(amp), lb_id=lb_id, timeout_s=timeout_s)
        except AgentError as exc:
            # The compute driver kills everything in the amphora's namespaces anyway.
            log.info("amphora %s: stopping HAProxy failed (%s)", amp.amphora_id, exc)
        finally:
            self._client.forget(amp.amphora_id)

    def status(self, amp: AmphoraEndpoint) -> AmphoraStatusReport | None:
        try:
            return self._client.get_status(self._address(amp))
        except AgentError as exc:
            log.debug("amphora %s: status unavailable: %s", amp.amphora_id, exc)
            return None

    def forget(self, amp: AmphoraEndpoint) -> None:
        self._client.forget(amp.amphora_id)


@dataclass(frozen=True)
class Drivers:
    compute: ComputeDriver
    network: NetworkDriver
    amphora: AmphoraDriver


def make_drivers(settings: Settings) -> Drivers:
    c = settings.controller
    compute: ComputeDriver
    network: NetworkDriver
    amphora: AmphoraDriver
    if c.compute_driver == "compute_netns_driver":
        from statera.compute.netns import NetnsComputeDriver

        compute = NetnsComputeDriver(settings)
    else:
        from statera.compute.noop import NoopComputeDriver

        compute = NoopComputeDriver()
    if c.network_driver == "network_bridge_driver":
        from statera.network.bridges import BridgeNetworkDriver

        network = BridgeNetworkDriver(settings)
    else:
        from statera.network.noop import NoopNetworkDriver

        network = NoopNetworkDriver()
    if c.amphora_driver == "amphora_haproxy_rest_driver":
        amphora = RestAmphora(settings, pki_dir=settings.default.state_dir / "pki")
    else:
        amphora = NoopAmphora()
    return Drivers(compute=compute, network=network, amphora=amphora)
