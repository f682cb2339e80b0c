"""The controller's client of the amphora agent: one typed method per endpoint, over mutual TLS.

Each method takes the `AgentAddress` first: the agent's IP and port, and the
amphora id its certificate must name (octavia-spec §4.3). One httpx.Client per
AgentClient keeps connections alive between calls.

Invariant: a request never travels on a connection whose certificate was
checked for another amphora. httpx pools connections by IP and port only, so
when an address's amphora id changes (an IP reused after a failover) the pool
is replaced before sending, and every response's peer certificate is checked
against the id again. httpx stays inside: every failure leaves as one of
`errors.py`'s exceptions, chained to the httpx one.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx

from statera.agent_client.errors import (
    AgentCertificateRejected,
    AgentRejected,
    AgentResponseInvalid,
    AgentUnreachable,
    truncate,
)
from statera.agent_client.tls import client_ssl_context
from statera.protocol.agent_api import (
    API_VERSION,
    DEFAULT_PORT,
    VRRP_ACTIONS,
    AgentInfo,
    AmphoraStatusReport,
    UdpConfig,
    is_certificate_name,
)

_PREFIX = f"/{API_VERSION}"
_T = TypeVar("_T")
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class AgentAddress:
    """Where an amphora's agent listens and which amphora id its certificate names."""

    amphora_id: str
    host: str
    port: int = DEFAULT_PORT

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"


@dataclass(frozen=True)
class HaproxyConfig:
    text: str
    etag: str


class AgentClient:
    """Calls amphora agents; thread-safe; close it (or use `with`) to drop its connections."""

    def __init__(
        self,
        *,
        ca_cert: Path,
        client_cert: Path,
        client_key: Path,
        timeout: httpx.Timeout,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`transport` replaces the network (tests pass httpx.MockTransport); TLS then is its job."""
        self._timeout = timeout
        self._transport = transport
        self._ssl_context: ssl.SSLContext | None = None
        if transport is None:
            self._ssl_context = client_ssl_context(
                ca_cert=ca_cert, client_cert=client_cert, client_key=client_key
            )
        self._lock = threading.Lock()
        # One connection pool per amphora: a pooled connection proved one amphora's identity
        # in its handshake and is never handed to a request for another amphora (an IP can
        # be reused by a new amphora after a failover).
        self._clients: dict[str, tuple[tuple[str, int], httpx.Client]] = {}

    def _new_client(self) -> httpx.Client:
        transport = self._transport
        if transport is None:
            assert self._ssl_context is not None
            transport = httpx.HTTPTransport(verify=self._ssl_context, retries=0)
        return httpx.Client(transport=transport, timeout=self._timeout, trust_env=False)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, {}
        for _, client in clients.values():
            client.close()

    def forget(self, amphora_id: str) -> None:
        """Close the connections to an amphora that is gone."""
        with self._lock:
            entry = self._clients.pop(amphora_id, None)
        if entry is not None:
            entry[1].close()

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- endpoints, in the order of protocol/agent_api.py ---

    def get_api_version(self, address: AgentAddress) -> str:
        """`GET /`: the agent's API version; the reachability probe."""
        data = _json(address, self._request(address, "GET", "/", expect=200))
        return _field(data, "api_version", str, address)

    def get_info(self, address: AgentAddress) -> AgentInfo:
        data = _json(address, self._request(address, "GET", f"{_PREFIX}/info", expect=200))
        for key in ("hostname", "haproxy_version", "api_version", "amphora_id"):
            _field(data, key, str, address)
        return cast(AgentInfo, data)

    def upload_haproxy_config(self, address: AgentAddress, *, lb_id: str, config: str) -> str:
        """Validate and install `config` (not yet reloaded); return its ETag (MD5).

        A config HAProxy refuses raises AgentRejected(400) with HAProxy's message.
        """
        response = self._request(
            address,
            "PUT",
            f"{_PREFIX}/loadbalancer/{_segment(address.amphora_id)}/{_segment(lb_id)}/haproxy",
            content=config.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            expect=202,
        )
        return str(response.headers.get("ETag", ""))

    def upload_udp_config(self, address: AgentAddress, *, lb_id: str, config: UdpConfig) -> None:
        """Replace the amphora's UDP listeners (nftables DNAT, agent health checks) with
        `config`; an empty listener list removes them. A config the agent refuses
        raises AgentRejected(400) naming the field."""
        self._request(
            address,
            "PUT",
            f"{_PREFIX}/loadbalancer/{_segment(address.amphora_id)}/{_segment(lb_id)}/udp",
            content=json.dumps(config).encode(),
            headers={"Content-Type": "application/json"},
            expect=200,
        )

    def get_haproxy_config(self, address: AgentAddress, *, lb_id: str) -> HaproxyConfig:
        response = self._request(
            address, "GET", f"{_PREFIX}/loadbalancer/{_segment(lb_id)}/haproxy", expect=200
        )
        return HaproxyConfig(text=response.text, etag=str(response.headers.get("ETag", "")))

    def start_haproxy(self, address: AgentAddress, *, lb_id: str) -> str:
        """Start HAProxy (or reload it if it runs); returns once it serves. Returns the details."""
        return self._action(address, lb_id, "start")

    def reload_haproxy(self, address: AgentAddress, *, lb_id: str) -> str:
        """Reload with the uploaded config (or start); returns once the new config serves."""
        return self._action(address, lb_id, "reload")

    def stop_haproxy(self, address: AgentAddress, *, lb_id: str) -> str:
        return self._action(address, lb_id, "stop")

    def delete_load_balancer(
        self, address: AgentAddress, *, lb_id: str, timeout_s: float | None = None
    ) -> None:
        """Stop keepalived and HAProxy and remove the load balancer's files; repeating it is
        harmless. `timeout_s` replaces the client's timeouts for this one request."""
        self._request(
            address,
            "DELETE",
            f"{_PREFIX}/listeners/{_segment(lb_id)}",
            expect=200,
            timeout_s=timeout_s,
        )

    def get_status(self, address: AgentAddress) -> AmphoraStatusReport:
        data = _json(address, self._request(address, "GET", f"{_PREFIX}/status", expect=200))
        _field(data, "seq", int, address)
        _field(data, "listeners", dict, address)
        _field(data, "pools", dict, address)
        return cast(AmphoraStatusReport, data)

    def run_runtime_commands(
        self, address: AgentAddress, *, lb_id: str, commands: Sequence[str]
    ) -> list[str]:
        """Run HAProxy runtime API commands in order; a failing one raises AgentRejected(400)."""
        response = self._request(
            address,
            "PUT",
            f"{_PREFIX}/runtime/{_segment(lb_id)}",
            content=json.dumps({"commands": list(commands)}).encode(),
            headers={"Content-Type": "application/json"},
            expect=200,
        )
        outputs = _field(_json(address, response), "outputs", list, address)
        if not all(isinstance(o, str) for o in outputs):
            raise AgentResponseInvalid("outputs must be strings", amphora_id=address.amphora_id)
        return cast(list[str], outputs)

    def upload_certificate(
        self, address: AgentAddress, *, lb_id: str, filename: str, data: bytes
    ) -> str:
        """Store one PEM file (certificate with key, CA or CRL) for the load balancer's
        config to name; returns its MD5. A file the agent refuses raises AgentRejected(400)."""
        response = self._request(
            address,
            "PUT",
            f"{_PREFIX}/loadbalancer/{_segment(address.amphora_id)}/{_segment(lb_id)}"
            f"/certificates/{_filename(filename)}",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
            expect=200,
        )
        return str(response.headers.get("ETag", ""))

    def delete_certificate(self, address: AgentAddress, *, lb_id: str, filename: str) -> None:
        """Remove one TLS file; an absent one is fine."""
        self._request(
            address,
            "DELETE",
            f"{_PREFIX}/loadbalancer/{_segment(lb_id)}/certificates/{_filename(filename)}",
            expect=200,
        )

    def list_certificates(self, address: AgentAddress, *, lb_id: str) -> dict[str, str]:
        """File name -> MD5 of every TLS file the agent stores for the load balancer."""
        response = self._request(
            address, "GET", f"{_PREFIX}/loadbalancer/{_segment(lb_id)}/certificates", expect=200
        )
        listing = _field(_json(address, response), "certificates", dict, address)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in listing.items()):
            raise AgentResponseInvalid(
                "certificates must map names to MD5 strings", amphora_id=address.amphora_id
            )
        return cast(dict[str, str], listing)

    def upload_vrrp_config(self, address: AgentAddress, *, config: str) -> None:
        """Validate and install keepalived.conf (not yet reloaded).

        A config `keepalived --config-test` refuses raises AgentRejected(400) with
        keepalived's message.
        """
        self._request(
            address,
            "PUT",
            f"{_PREFIX}/vrrp/upload",
            content=config.encode(),
            headers={"Content-Type": "text/plain; charset=utf-8"},
            expect=200,
        )

    def vrrp_action(self, address: AgentAddress, *, action: str) -> str:
        """`start` (reloads a running keepalived), `reload` or `stop` (graceful); returns
        the agent's details."""
        if action not in VRRP_ACTIONS:
            raise ValueError(f"not a keepalived action: {action!r}")
        response = self._request(address, "PUT", f"{_PREFIX}/vrrp/{action}", expect=202)
        details = _json(address, response).get("details", "")
        return details if isinstance(details, str) else ""

    # --- plumbing ---

    def _action(self, address: AgentAddress, lb_id: str, action: str) -> str:
        response = self._request(
            address, "PUT", f"{_PREFIX}/loadbalancer/{_segment(lb_id)}/{action}", expect=202
        )
        details = _json(address, response).get("details", "")
        return details if isinstance(details, str) else ""

    def _client_for(self, address: AgentAddress) -> httpx.Client:
        origin = (address.host, address.port)
        stale = None
        with self._lock:
            entry = self._clients.get(address.amphora_id)
            if entry is not None and entry[0] == origin:
                return entry[1]
            if entry is not None:
                stale = entry[1]
            client = self._new_client()
            self._clients[address.amphora_id] = (origin, client)
        if stale is not None:
            stale.close()
        return client

    def _request(
        self,
        address: AgentAddress,
        method: str,
        path: str,
        *,
        expect: int,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> httpx.Response:
        client = self._client_for(address)
        amphora_id = address.amphora_id
        try:
            response = client.request(
                method,
                address.base_url + path,
                content=content,
                headers=headers,
                extensions={"sni_hostname": amphora_id},
                timeout=httpx.USE_CLIENT_DEFAULT if timeout_s is None else timeout_s,
            )
        except httpx.HTTPError as exc:
            if _certificate_failure(exc):
                raise AgentCertificateRejected(
                    f"agent at {address.host}:{address.port} is not amphora {amphora_id}: {exc}",
                    amphora_id=amphora_id,
                ) from exc
            raise AgentUnreachable(
                f"agent of amphora {amphora_id} at {address.host}:{address.port}: "
                f"{type(exc).__name__}: {exc}",
                amphora_id=amphora_id,
            ) from exc
        if response.status_code != expect:
            raise AgentRejected(
                response.status_code, _error_detail(response), amphora_id=amphora_id
            )
        return response


def _json(address: AgentAddress, response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise AgentResponseInvalid(
            f"not JSON: {truncate(response.text, 200)!r}", amphora_id=address.amphora_id
        ) from exc
    if not isinstance(data, dict):
        raise AgentResponseInvalid(
            f"expected an object, got {type(data).__name__}", amphora_id=address.amphora_id
        )
    return data


def _segment(value: str) -> str:
    """An id as a path segment; anything that could change the path is a programming error."""
    if not _SEGMENT.fullmatch(value):
        raise ValueError(f"not a valid id for an agent URL: {value!r}")
    return value


def _filename(value: str) -> str:
    """A TLS file name as a path segment; the agent refuses anything else anyway."""
    if not is_certificate_name(value):
        raise ValueError(f"not a valid certificate file name: {value!r}")
    return value


def _field(data: dict[str, Any], key: str, kind: type[_T], address: AgentAddress) -> _T:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise AgentResponseInvalid(
            f"field {key!r} should be {kind.__name__}, got {value!r}", amphora_id=address.amphora_id
        )
    return value


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return truncate(response.text)
    if isinstance(body, dict):
        message = str(body.get("message", ""))
        details = str(body.get("details", ""))
        return truncate(f"{message}: {details}" if details else message)
    return truncate(response.text)


def _certificate_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # the chain is short; bound it anyway
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
