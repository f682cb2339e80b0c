"""The three seams of the controller, and the real or noop implementation of each.

- compute: makes and destroys amphorae (`compute_netns_driver`: namespaces on this host);
- network: host networks and the amphora's tenant-side plug (`network_bridge_driver`);
- amphora: talks to an amphora's agent (`amphora_haproxy_rest_driver`: mTLS REST).

Names are Octavia's `[controller_worker]` option values. The noop drivers exist
for fast API tests and benchmarks of the control plane; they never prove that
a feature works.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from statera.agent_client.client import AgentAddress
from statera.agent_client.errors import AgentError, AgentRejected, AgentUnreachable
from statera.agent_client.retry import Backoff, wait_until_reachable
from statera.compute.base import ComputeDriver
from statera.domain.errors import PermanentError, TemporaryError
from statera.network.base import NetworkDriver
from statera.protocol.agent_api import AmphoraStatusReport
from statera.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AmphoraEndpoint:
    amphora_id: str
    host: str
    port: int


class AmphoraDriver(Protocol):
    def wait_ready(self, amp: AmphoraEndpoint, *, deadline_s: float) -> None: ...

    def apply_config(
        self, amp: AmphoraEndpoint, *, lb_id: str, config: str, runtime: list[str] | None
    ) -> None:
        """Upload and activate `config`; with `runtime`, apply those commands instead of a
        reload (the uploaded file is what a later reload uses)."""

    def remove(self, amp: AmphoraEndpoint, *, lb_id: str) -> None: ...

    def status(self, amp: AmphoraEndpoint) -> AmphoraStatusReport | None: ...

    def forget(self, amp: AmphoraEndpoint) -> None:
        """Drop what is kept for an amphora that is gone (pooled connections)."""


class NoopAmphora:
    def wait_ready(self, amp: AmphoraEndpoint, *, deadline_s: float) -> None:
        return None

    def apply_config(
        self, amp: AmphoraEndpoint, *, lb_id: str, config: str, runtime: list[str] | None
    ) -> None:
        return None

    def remove(self, amp: AmphoraEndpoint, *, lb_id: str) -> None:
        return None

    def status(self, amp: AmphoraEndpoint) -> AmphoraStatusReport | None:
        return None

    def forget(self, amp: AmphoraEndpoint) -> None:
        return None


class RestAmphora:
    """Drives real agents over mutual TLS with the controller's client certificate."""

    def __init__(self, settings: Settings, *, pki_dir: Path) -> None:
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
        self, amp: AmphoraEndpoint, *, lb_id: str, config: str, runtime: list[str] | None
    ) -> None:
        address = self._address(amp)
        try:
            self._client.upload_haproxy_config(address, lb_id=lb_id, config=config)
        except AgentRejected as exc:
            raise PermanentError(
                f"amphora {amp.amphora_id} rejected the HAProxy configuration: {exc}"
            ) from exc
        except AgentError as exc:
            raise TemporaryError(f"amphora {amp.amphora_id}: {exc}") from exc
        if runtime:
            try:
                self._client.run_runtime_commands(address, lb_id=lb_id, commands=runtime)
                return
            except AgentError as exc:
                # e.g. `del server` while requests are still attached: a reload is always right.
                log.info(
                    "amphora %s: runtime change not applied (%s); reloading", amp.amphora_id, exc
                )
        try:
            self._client.start_haproxy(address, lb_id=lb_id)  # reloads if already running
        except AgentRejected as exc:
            raise PermanentError(f"amphora {amp.amphora_id}: HAProxy did not start: {exc}") from exc
        except AgentError as exc:
            raise TemporaryError(f"amphora {amp.amphora_id}: {exc}") from exc

    def remove(self, amp: AmphoraEndpoint, *, lb_id: str) -> None:
        try:
            self._client.delete_load_balancer(self._address(amp), lb_id=lb_id)
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
