"""The closed vocabularies of Octavia's v2 API, as string enums.

Values are exactly the strings on the wire and in the database, so an enum
member can be compared with, stored as and serialised to its value directly.
"""

from enum import StrEnum


class ProvisioningStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DELETED = "DELETED"
    ERROR = "ERROR"
    PENDING_CREATE = "PENDING_CREATE"
    PENDING_UPDATE = "PENDING_UPDATE"
    PENDING_DELETE = "PENDING_DELETE"


class OperatingStatus(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    DEGRADED = "DEGRADED"
    ERROR = "ERROR"
    DRAINING = "DRAINING"
    NO_MONITOR = "NO_MONITOR"


class ListenerProtocol(StrEnum):
    HTTP = "HTTP"
    HTTPS = "HTTPS"
    TCP = "TCP"
    TERMINATED_HTTPS = "TERMINATED_HTTPS"
    UDP = "UDP"
    SCTP = "SCTP"
    PROMETHEUS = "PROMETHEUS"


class PoolProtocol(StrEnum):
    HTTP = "HTTP"
    HTTPS = "HTTPS"
    TCP = "TCP"
    PROXY = "PROXY"
    PROXYV2 = "PROXYV2"
    UDP = "UDP"
    SCTP = "SCTP"


class Algorithm(StrEnum):
    ROUND_ROBIN = "ROUND_ROBIN"
    LEAST_CONNECTIONS = "LEAST_CONNECTIONS"
    SOURCE_IP = "SOURCE_IP"
    SOURCE_IP_PORT = "SOURCE_IP_PORT"


class HealthMonitorType(StrEnum):
    PING = "PING"
    TCP = "TCP"
    HTTP = "HTTP"
    HTTPS = "HTTPS"
    TLS_HELLO = "TLS-HELLO"
    UDP_CONNECT = "UDP-CONNECT"
    SCTP = "SCTP"


class HttpMethod(StrEnum):
    GET = "GET"
    HEAD = "HEAD"
    POST = "POST"
    PUT = "PUT"
    DELETE = "DELETE"
    TRACE = "TRACE"
    OPTIONS = "OPTIONS"
    CONNECT = "CONNECT"
    PATCH = "PATCH"


class SessionPersistenceType(StrEnum):
    SOURCE_IP = "SOURCE_IP"
    HTTP_COOKIE = "HTTP_COOKIE"
    APP_COOKIE = "APP_COOKIE"


class Topology(StrEnum):
    SINGLE = "SINGLE"
    ACTIVE_STANDBY = "ACTIVE_STANDBY"


class AmphoraRole(StrEnum):
    MASTER = "MASTER"
    BACKUP = "BACKUP"
    STANDALONE = "STANDALONE"


class AmphoraStatus(StrEnum):
    BOOTING = "BOOTING"
    ALLOCATED = "ALLOCATED"
    READY = "READY"
    PENDING_CREATE = "PENDING_CREATE"
    PENDING_UPDATE = "PENDING_UPDATE"
    PENDING_DELETE = "PENDING_DELETE"
    DELETED = "DELETED"
    ERROR = "ERROR"
    FAILOVER_STOPPED = "FAILOVER_STOPPED"


# Protocols this release builds into HAProxy; the others are accepted by the
# schema (they are valid Octavia values) but answered with a clear 400 until
# their issue lands.
SUPPORTED_LISTENER_PROTOCOLS = frozenset(
    {
        ListenerProtocol.HTTP,
        ListenerProtocol.HTTPS,
        ListenerProtocol.TCP,
        ListenerProtocol.TERMINATED_HTTPS,
        ListenerProtocol.PROMETHEUS,
        ListenerProtocol.UDP,
    }
)
SUPPORTED_POOL_PROTOCOLS = frozenset(
    {
        PoolProtocol.HTTP,
        PoolProtocol.HTTPS,
        PoolProtocol.TCP,
        PoolProtocol.PROXY,
        PoolProtocol.PROXYV2,
        PoolProtocol.UDP,
    }
)
SUPPORTED_MONITOR_TYPES = frozenset(
    {
        HealthMonitorType.HTTP,
        HealthMonitorType.HTTPS,
        HealthMonitorType.TCP,
        HealthMonitorType.PING,
        HealthMonitorType.TLS_HELLO,
        HealthMonitorType.UDP_CONNECT,
    }
)

# Octavia §1.12: which pool protocols a listener protocol accepts.
POOL_PROTOCOLS_FOR_LISTENER: dict[ListenerProtocol, frozenset[PoolProtocol]] = {
    ListenerProtocol.HTTP: frozenset({PoolProtocol.HTTP, PoolProtocol.PROXY, PoolProtocol.PROXYV2}),
    ListenerProtocol.HTTPS: frozenset(
        {PoolProtocol.HTTPS, PoolProtocol.PROXY, PoolProtocol.PROXYV2, PoolProtocol.TCP}
    ),
    ListenerProtocol.TCP: frozenset(
        {
            PoolProtocol.HTTP,
            PoolProtocol.HTTPS,
            PoolProtocol.PROXY,
            PoolProtocol.PROXYV2,
            PoolProtocol.TCP,
        }
    ),
    ListenerProtocol.TERMINATED_HTTPS: frozenset(
        {PoolProtocol.HTTP, PoolProtocol.PROXY, PoolProtocol.PROXYV2}
    ),
    ListenerProtocol.UDP: frozenset({PoolProtocol.UDP}),
    ListenerProtocol.SCTP: frozenset({PoolProtocol.SCTP}),
    ListenerProtocol.PROMETHEUS: frozenset(),
}

# Octavia §1.12: which monitor types a pool protocol accepts.
_TCP_FAMILY_MONITORS = frozenset(
    {
        HealthMonitorType.HTTP,
        HealthMonitorType.HTTPS,
        HealthMonitorType.PING,
        HealthMonitorType.TCP,
        HealthMonitorType.TLS_HELLO,
    }
)
_DATAGRAM_MONITORS = frozenset(
    {
        HealthMonitorType.HTTP,
        HealthMonitorType.TCP,
        HealthMonitorType.UDP_CONNECT,
        HealthMonitorType.SCTP,
    }
)
MONITOR_TYPES_FOR_POOL: dict[PoolProtocol, frozenset[HealthMonitorType]] = {
    PoolProtocol.HTTP: _TCP_FAMILY_MONITORS,
    PoolProtocol.HTTPS: _TCP_FAMILY_MONITORS,
    PoolProtocol.TCP: _TCP_FAMILY_MONITORS,
    PoolProtocol.PROXY: _TCP_FAMILY_MONITORS,
    PoolProtocol.PROXYV2: _TCP_FAMILY_MONITORS,
    PoolProtocol.UDP: _DATAGRAM_MONITORS,
    PoolProtocol.SCTP: _DATAGRAM_MONITORS,
}


class L7PolicyAction(StrEnum):
    REJECT = "REJECT"
    REDIRECT_TO_URL = "REDIRECT_TO_URL"
    REDIRECT_TO_POOL = "REDIRECT_TO_POOL"
    REDIRECT_PREFIX = "REDIRECT_PREFIX"


class L7RuleType(StrEnum):
    HOST_NAME = "HOST_NAME"
    PATH = "PATH"
    FILE_TYPE = "FILE_TYPE"
    HEADER = "HEADER"
    COOKIE = "COOKIE"
    SSL_CONN_HAS_CERT = "SSL_CONN_HAS_CERT"
    SSL_VERIFY_RESULT = "SSL_VERIFY_RESULT"
    SSL_DN_FIELD = "SSL_DN_FIELD"


class L7RuleCompareType(StrEnum):
    REGEX = "REGEX"
    STARTS_WITH = "STARTS_WITH"
    ENDS_WITH = "ENDS_WITH"
    CONTAINS = "CONTAINS"
    EQUAL_TO = "EQUAL_TO"


# Octavia §1.10: the HTTP redirect codes an L7 policy may use.
REDIRECT_HTTP_CODES = (301, 302, 303, 307, 308)
