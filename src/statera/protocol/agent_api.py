"""The amphora agent's REST API: paths, payloads and version, shared by both sides.

The agent imports this module, so it stays standard-library only (no pydantic):
payloads are TypedDicts, checked at the edges. Paths follow Octavia's agent
API (octavia-spec §4.3) where an endpoint has an Octavia counterpart.
"""

import re
from typing import Literal, NotRequired, TypedDict

API_VERSION = "1.0"
DEFAULT_PORT = 9443
CERTIFICATE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,200}\.pem")
"""File names of the TLS files an agent stores (certificates, keys, CAs, CRLs)."""

# GET  /                                            -> {"api_version": "1.0"}
# GET  /1.0/info                                    -> AgentInfo
# PUT  /1.0/loadbalancer/{amphora_id}/{lb_id}/haproxy  body: haproxy.cfg text
#      -> 202 {"message": "OK"} + ETag (md5); 400 {"message", "details"} if `haproxy -c` rejects it
# GET  /1.0/loadbalancer/{lb_id}/haproxy            -> config text + ETag
# PUT  /1.0/loadbalancer/{lb_id}/{action}           action: start | stop | reload -> 202
# DELETE /1.0/listeners/{lb_id}                     stop HAProxy and remove its files -> 200
# GET  /1.0/status                                  -> AmphoraStatusReport
# PUT  /1.0/runtime/{lb_id}                         body: RuntimeCommands -> 200 RuntimeResult
# PUT  /1.0/loadbalancer/{amphora_id}/{lb_id}/certificates/{filename}  body: PEM
#      -> 200 {"message": "OK"} + ETag (md5); stored 0600 in <base_dir>/certs/
# GET  /1.0/loadbalancer/{lb_id}/certificates/{filename}  -> CertificateChecksum; 404 if absent
# DELETE /1.0/loadbalancer/{lb_id}/certificates/{filename}  -> 200 (also when absent)
# GET  /1.0/loadbalancer/{lb_id}/certificates        -> CertificateList (Statera's addition)
# PUT  /1.0/vrrp/upload                             body: keepalived.conf text
#      -> 200 {"message": "OK"}; 400 {"message", "details"} if `keepalived --config-test` rejects it
# PUT  /1.0/vrrp/{action}                           action: start | stop | reload -> 202
#      (start when running reloads; stop is graceful, so the peer takes the VIPs at once)
# PUT  /1.0/loadbalancer/{amphora_id}/{lb_id}/udp   body: UdpConfig (JSON)
#      -> 200 {"message": "OK"}; 400 if a field is invalid or `nft` refuses the ruleset.
#      Replaces the nftables table `inet statera_udp` of the tenant namespace whole;
#      an empty listener list removes it (so does DELETE /1.0/listeners/{lb_id}).


class AgentInfo(TypedDict):
    hostname: str
    haproxy_version: str
    api_version: str
    amphora_id: str


MemberState = Literal["UP", "DOWN", "DRAIN", "MAINT", "no check"]


class PoolReport(TypedDict):
    status: Literal["UP", "DOWN"]
    members: dict[str, MemberState]


class ListenerStats(TypedDict):
    tx: int
    rx: int
    conns: int
    totconns: int
    ereq: int


class ListenerReport(TypedDict):
    status: Literal["OPEN", "FULL"]
    stats: ListenerStats


VrrpState = Literal["MASTER", "BACKUP", "FAULT"]
VRRP_ACTIONS = ("start", "stop", "reload")


class AmphoraStatusReport(TypedDict):
    """Same shape as Octavia's heartbeat (version 3 minus the envelope)."""

    id: str
    seq: int
    ver: int
    listeners: dict[str, ListenerReport]
    pools: dict[str, PoolReport]
    """Keyed `<pool_id>:<listener_id>`, as HAProxy backends are named."""
    vrrp_state: NotRequired[VrrpState | None]
    """ACTIVE_STANDBY amphorae only (those holding a keepalived.conf): the state
    keepalived's notify script last recorded, None while keepalived is not running."""


class RuntimeCommands(TypedDict):
    commands: list[str]
    """HAProxy runtime API commands (e.g. `set server b/s weight 3`), run in order."""


class RuntimeResult(TypedDict):
    outputs: list[str]


class CertificateChecksum(TypedDict):
    md5sum: str


class CertificateList(TypedDict):
    certificates: dict[str, str]
    """File name -> MD5 hex digest of every TLS file stored for the load balancer."""


def is_certificate_name(name: str) -> bool:
    """A TLS file name both sides accept: CERTIFICATE_NAME and no `..` anywhere."""
    return CERTIFICATE_NAME.fullmatch(name) is not None and ".." not in name


class ErrorBody(TypedDict):
    message: str
    details: str


UdpAlgorithm = Literal["ROUND_ROBIN", "LEAST_CONNECTIONS", "SOURCE_IP", "SOURCE_IP_PORT"]
"""LEAST_CONNECTIONS has no nftables counterpart: the agent balances it as ROUND_ROBIN."""
UDP_ALGORITHMS: tuple[UdpAlgorithm, ...] = (
    "ROUND_ROBIN",
    "LEAST_CONNECTIONS",
    "SOURCE_IP",
    "SOURCE_IP_PORT",
)
UdpMonitorType = Literal["UDP-CONNECT", "PING", "TCP", "HTTP"]
UDP_MONITOR_TYPES: tuple[UdpMonitorType, ...] = ("UDP-CONNECT", "PING", "TCP", "HTTP")


class UdpMember(TypedDict):
    id: str
    address: str
    port: int
    weight: int
    """0-256; 0 takes no new flows (drain) but is still checked and reported."""
    enabled: bool
    """False = admin down: never forwarded to, reported MAINT."""
    backup: bool
    """Forwarded to only while no non-backup member of its address family is UP."""
    monitor_address: str | None
    monitor_port: int | None


class UdpMonitor(TypedDict):
    type: UdpMonitorType
    delay: int
    """Seconds between two checks of a member, >= 1."""
    timeout: int
    """Seconds one check may take, >= 1."""
    max_retries: int
    """Successes in a row that bring a DOWN member UP (rise), 1-10."""
    max_retries_down: int
    """Failures in a row that take an UP member DOWN (fall), 1-10."""
    http_method: str | None
    """HTTP only (None = GET)."""
    url_path: str | None
    """HTTP only (None = /)."""
    expected_codes: str | None
    """HTTP only: `200`, `200,202` or `200-204` (None = 200)."""


class UdpListener(TypedDict):
    id: str
    vips: list[str]
    """The addresses clients send to (the VIP and any additional VIPs)."""
    port: int
    algorithm: UdpAlgorithm
    connection_limit: int
    """-1 = unlimited; otherwise new flows beyond this many tracked ones are dropped."""
    persistence_timeout: int | None
    """SOURCE_IP session persistence in seconds (None = no persistence)."""
    persistence_granularity: str | None
    """Netmask applied to the client address for persistence (None = /32 or /128)."""
    pool_id: str | None
    members: list[UdpMember]
    monitor: UdpMonitor | None
    allowed_cidrs: NotRequired[list[str]]
    """Only clients in these networks are balanced (Octavia's allowed_cidrs); absent or
    empty: every client."""


class UdpConfig(TypedDict):
    """Every UDP listener of the load balancer; what one PUT .../udp replaces."""

    listeners: list[UdpListener]


class AgentConfig(TypedDict):
    """The agent's own configuration file (JSON), written by the compute driver."""

    amphora_id: str
    bind_host: str
    bind_port: int
    base_dir: str
    """Directory for configs, sockets and pid files of this amphora."""
    haproxy_namespace: str
    """Network namespace where HAProxy runs (the tenant side)."""
    haproxy_cmd: str
    server_cert: str
    server_key: str
    client_ca: str
