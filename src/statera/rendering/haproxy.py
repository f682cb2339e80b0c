"""A LoadBalancerSpec becomes the text of one haproxy.cfg (all listeners).

`render_haproxy` is called by the controller for each amphora; the agent only
validates (`haproxy -c`) and applies the text. Small pure functions turn the
spec into a view-model of frozen dataclasses whose every string was checked by
`safety` (so no user-supplied value can inject a directive), and the template
only lays those values out. `runtime.py` reuses the same server functions, so a
server added through the runtime API is exactly the line this file renders.

Naming follows Octavia: a frontend is named after its listener id, a backend
`<pool_id>:<listener_id>` (a pool shared by two listeners is rendered twice), a
server after its member id. UDP and SCTP listeners are not HAProxy's job (the
agent balances them in the kernel) and are left out here.

An HTTPS listener is TLS passthrough: a `mode tcp` frontend that never sees
inside the TLS stream (no headers, no L7 policies). A PROMETHEUS listener is a
`mode http` frontend without a backend that answers `GET /metrics` with
HAProxy's built-in Prometheus exporter (`http-request use-service
prometheus-exporter`). Octavia instead sends that listener to a proxy in the
amphora which renames HAProxy's metrics (`haproxy_server_*` becomes
`octavia_member_*`, proxies become listeners and pools) and adds CPU and memory
gauges; Statera serves HAProxy's own metric names, the closest real thing, with
frontends named by listener id, backends `<pool_id>:<listener_id>` and servers
by member id.

TLS files (certificates with keys, CAs, CRLs) are named by file name in the
spec and rendered as `<base_dir>/certs/<name>`, where the agent stores the
`LoadBalancerSpec.tls_files` the controller uploads before the config; a name
that is not among `tls_files` is refused here rather than by `haproxy -c`.
"""

import re
from dataclasses import dataclass
from typing import Literal

from statera.domain.enums import (
    Algorithm,
    HealthMonitorType,
    L7PolicyAction,
    L7RuleCompareType,
    L7RuleType,
    ListenerProtocol,
    PoolProtocol,
    SessionPersistenceType,
)
from statera.domain.specs import (
    AmphoraRuntime,
    HaproxyDefaults,
    HealthMonitorSpec,
    L7PolicySpec,
    L7RuleSpec,
    ListenerSpec,
    ListenerTlsSpec,
    LoadBalancerSpec,
    MemberSpec,
    PoolSpec,
    PoolTlsSpec,
    SessionPersistenceSpec,
)
from statera.rendering import safety
from statera.rendering.environment import environment
from statera.rendering.errors import UnsafeValue, UnsupportedSpec

TEMPLATE = "haproxy.cfg.j2"
PING_WRAPPER = "ping-wrapper.sh"
"""File name of the PING check script the agent writes into its base_dir."""
STICK_TABLE_SIZE = "10k"
"""Octavia's `[haproxy_amphora] haproxy_stick_size` default."""
SOURCE_PORT_VAR = "txn.statera_src_port"
"""Variable that carries the client port into SOURCE_IP_PORT's hash expression."""
ALLOWED_CIDRS_PER_LINE = 16
"""CIDRs per `acl` line; HAProxy refuses lines of more than 64 words."""
MAX_TIMEOUT_MS = 2_073_600_000
"""Octavia's ceiling for listener timeouts (24 days)."""
CERTS_SUBDIR = "certs"
"""Directory under the agent's base_dir holding the TLS files (agent `LbPaths.certs_dir`)."""
MAX_HSTS_MAX_AGE_S = 2**31 - 1

_MODE_FOR_LISTENER: dict[ListenerProtocol, Literal["http", "tcp"]] = {
    ListenerProtocol.HTTP: "http",
    ListenerProtocol.TCP: "tcp",
    ListenerProtocol.HTTPS: "tcp",  # TLS passthrough
    ListenerProtocol.TERMINATED_HTTPS: "http",
    ListenerProtocol.PROMETHEUS: "http",  # HAProxy's exporter, no backend
}
# Listeners whose HTTP requests L7 policies and inserted headers may act on.
_L7_LISTENERS = frozenset({ListenerProtocol.HTTP, ListenerProtocol.TERMINATED_HTTPS})
_KERNEL_LISTENERS = frozenset({ListenerProtocol.UDP, ListenerProtocol.SCTP})
_MODE_FOR_POOL: dict[PoolProtocol, Literal["http", "tcp"]] = {
    PoolProtocol.HTTP: "http",
    PoolProtocol.TCP: "tcp",
    PoolProtocol.HTTPS: "tcp",
}
_PROXY_PROTOCOL_ARGUMENT = {PoolProtocol.PROXY: "send-proxy", PoolProtocol.PROXYV2: "send-proxy-v2"}
# Behind a TLS listener PROXYV2 also carries the client certificate's CN (as Octavia).
_PROXY_PROTOCOL_ARGUMENT_TLS = {
    **_PROXY_PROTOCOL_ARGUMENT,
    PoolProtocol.PROXYV2: "send-proxy-v2-ssl-cn",
}
_BALANCE: dict[Algorithm, str] = {
    Algorithm.ROUND_ROBIN: "roundrobin",
    Algorithm.LEAST_CONNECTIONS: "leastconn",
    Algorithm.SOURCE_IP: "source",
    # HAProxy 2.6 has no fetch for "address:port": hash the address with the
    # port variable set just before balancing (see BackendView.source_port_var).
    Algorithm.SOURCE_IP_PORT: f"hash src,concat(:,{SOURCE_PORT_VAR})",
}
# Hash-based balancing must use consistent hashing, or `add server` is refused.
_HASHED = frozenset({Algorithm.SOURCE_IP, Algorithm.SOURCE_IP_PORT})
_CLIENT_ADDRESS_HEADERS = ("X-Client-IP", "X-Forwarded-IP", "X-Real-IP")
# Octavia's values of the client-certificate headers, in its order; `%{+Q}` quotes the value.
_TLS_HEADER_VALUES = {
    "X-SSL-Client-Verify": "%[ssl_c_verify]",
    "X-SSL-Client-Has-Cert": "%[ssl_c_used]",
    "X-SSL-Client-DN": "%{+Q}[ssl_c_s_dn]",
    "X-SSL-Client-CN": "%{+Q}[ssl_c_s_dn(cn)]",
    "X-SSL-Issuer": "%{+Q}[ssl_c_i_dn]",
    "X-SSL-Client-SHA1": "%{+Q}[ssl_c_sha1,hex]",
    "X-SSL-Client-Not-Before": "%{+Q}[ssl_c_notbefore]",
    "X-SSL-Client-Not-After": "%{+Q}[ssl_c_notafter]",
}
_TLS_ONLY_HEADERS = frozenset(_TLS_HEADER_VALUES)
_KNOWN_HEADERS = {
    name.lower(): name
    for name in (
        "X-Forwarded-For",
        "X-Forwarded-Port",
        "X-Forwarded-Proto",
        *_CLIENT_ADDRESS_HEADERS,
        *_TLS_ONLY_HEADERS,
    )
}


@dataclass(frozen=True)
class ServerView:
    name: str
    endpoint: str
    """`address:port`, IPv6 in brackets."""
    arguments: str
    """Everything after the endpoint except `disabled`; also what `add server` takes."""
    disabled: bool


@dataclass(frozen=True)
class HttpCheckView:
    method: str
    path: str
    version: str | None
    host: str | None
    expect_regex: str


@dataclass(frozen=True)
class HealthCheckView:
    kind: Literal["http", "connect", "ping", "tls-hello"]
    timeout_s: int
    http: HttpCheckView | None
    external_command: str | None


@dataclass(frozen=True)
class PersistenceView:
    kind: Literal["source_ip", "http_cookie", "app_cookie"]
    cookie_name: str | None
    stick_table_size: str


@dataclass(frozen=True)
class BackendView:
    name: str
    mode: Literal["http", "tcp"]
    balance: str
    hash_consistent: bool
    source_port_var: str | None
    fullconn: int
    timeout_connect_ms: int
    timeout_server_ms: int
    health_check: HealthCheckView | None
    persistence: PersistenceView | None
    servers: tuple[ServerView, ...]


@dataclass(frozen=True)
class HeaderView:
    name: str
    value: str
    """A HAProxy log-format expression such as `%[src]`, or a literal."""


@dataclass(frozen=True)
class AclView:
    """`acl <name> <fetch> [<flags>] [-- <pattern>]`, one per enabled L7 rule."""

    name: str
    fetch: str
    flags: str
    pattern: safety.EscapedWord | None


@dataclass(frozen=True)
class L7ActionView:
    """One L7 policy's line: `http-request deny`, `redirect ...` or `use_backend`."""

    kind: Literal["deny", "redirect_location", "redirect_prefix", "use_backend"]
    target: str | None
    """The escaped URL or prefix, or the backend name."""
    code: int | None
    condition: str
    """The policy's ACL names, ANDed, `!` before an inverted one."""


@dataclass(frozen=True)
class FrontendView:
    name: str
    binds: tuple[str, ...]
    """The VIP, then each additional VIP, with the listener's port."""
    mode: Literal["http", "tcp"]
    maxconn: int
    timeout_client_ms: int
    tcp_inspect_delay_ms: int
    allowed_cidr_lines: tuple[str, ...]
    """Space-separated CIDRs, at most ALLOWED_CIDRS_PER_LINE per `acl` line; empty: all."""
    forwardfor: bool
    set_headers: tuple[HeaderView, ...]
    default_backend: str | None
    acls: tuple[AclView, ...] = ()
    l7_actions: tuple[L7ActionView, ...] = ()
    """In Octavia's order: every REJECT, then URL and prefix redirects, then pools."""
    bind_options: str = ""
    """TLS words after every bind address (`ssl crt ...`); empty without TLS."""
    hsts: str | None = None
    """The Strict-Transport-Security value (`max-age=N; ...`); None: no header."""
    metrics_exporter: bool = False
    """A PROMETHEUS listener: `GET /metrics` is answered by HAProxy's exporter, other
    requests with 404."""


@dataclass(frozen=True)
class TlsFiles:
    """Where the agent keeps the TLS files, and which names the controller uploads."""

    certs_dir: str
    names: frozenset[str]

    def path(self, field: str, name: str) -> str:
        checked = safety.certificate_name(field, name)
        if checked not in self.names:
            raise UnsafeValue(field, name, "names no file of load_balancer.tls_files")
        return f"{self.certs_dir}/{checked}"


@dataclass(frozen=True)
class PeersView:
    """HAProxy's `peers` section of an ACTIVE_STANDBY pair (Octavia's, port 1025)."""

    name: str
    local: str
    peers: tuple[tuple[str, str], ...]
    """(peer name, address:port)."""


@dataclass(frozen=True)
class HaproxyView:
    load_balancer_id: str
    maxconn: int
    stats_socket: str
    server_state_file: str
    external_check: bool
    frontends: tuple[FrontendView, ...]
    backends: tuple[BackendView, ...]
    peers: PeersView | None = None


PEER_PORT = 1025


def peers_view(spec: LoadBalancerSpec, *, runtime: AmphoraRuntime) -> PeersView | None:
    """Peers are named by amphora id without dashes; this amphora must be one of them."""
    if not spec.peers:
        return None
    peers = []
    for amphora_id, address in spec.peers:
        name = safety.uuid_id("load_balancer.peers", amphora_id).replace("-", "")
        ip = safety.ip_address("load_balancer.peers", address)
        peers.append((name, f"[{ip}]:{PEER_PORT}" if ":" in ip else f"{ip}:{PEER_PORT}"))
    local = safety.uuid_id("runtime.amphora_id", runtime.amphora_id).replace("-", "")
    if local not in {name for name, _ in peers}:
        raise UnsafeValue("runtime.amphora_id", runtime.amphora_id, "not one of the peers")
    lb = safety.uuid_id("load_balancer.id", spec.id).replace("-", "")
    return PeersView(name=f"{lb}_peers", local=local, peers=tuple(peers))


@dataclass(frozen=True)
class RenderedBackend:
    """A backend the config contains: which listener's default pool it is."""

    name: str
    listener: ListenerSpec
    pool: PoolSpec


def render_haproxy(
    spec: LoadBalancerSpec, *, runtime: AmphoraRuntime, defaults: HaproxyDefaults
) -> str:
    """The complete haproxy.cfg for one amphora of `spec`.

    Raises `UnsafeValue` (naming the field) for any value that could alter
    the file's structure and `UnsupportedSpec` for features not built here.
    """
    view = haproxy_view(spec, runtime=runtime, defaults=defaults)
    return environment().get_template(TEMPLATE).render(view=view)


def haproxy_view(
    spec: LoadBalancerSpec, *, runtime: AmphoraRuntime, defaults: HaproxyDefaults
) -> HaproxyView:
    listeners = rendered_listeners(spec)
    backends = rendered_backends(spec)
    base_dir = safety.absolute_path("runtime.base_dir", runtime.base_dir)
    files = tls_files(spec, base_dir=base_dir)
    backend_views = tuple(
        backend_view(b, defaults=defaults, base_dir=base_dir, files=files) for b in backends
    )
    return HaproxyView(
        load_balancer_id=safety.uuid_id("load_balancer.id", spec.id),
        maxconn=global_maxconn(listeners, defaults),
        stats_socket=safety.unix_socket_path("runtime.stats_socket", runtime.stats_socket),
        server_state_file=safety.absolute_path(
            "runtime.server_state_file", runtime.server_state_file
        ),
        external_check=any(
            b.health_check is not None and b.health_check.kind == "ping" for b in backend_views
        ),
        frontends=tuple(
            frontend_view(listener, spec=spec, backends=backends, defaults=defaults, files=files)
            for listener in listeners
        ),
        backends=backend_views,
        peers=peers_view(spec, runtime=runtime),
    )


def tls_files(spec: LoadBalancerSpec, *, base_dir: str) -> TlsFiles:
    names = frozenset(
        safety.certificate_name("load_balancer.tls_files", name) for name, _ in spec.tls_files
    )
    return TlsFiles(certs_dir=f"{base_dir}/{CERTS_SUBDIR}", names=names)


def rendered_listeners(spec: LoadBalancerSpec) -> tuple[ListenerSpec, ...]:
    """The listeners HAProxy serves: none if the LB is disabled, never UDP/SCTP."""
    if not spec.admin_state_up:
        return ()
    listeners = []
    for listener in spec.listeners:
        if not listener.admin_state_up or listener.protocol in _KERNEL_LISTENERS:
            continue
        if listener.protocol not in _MODE_FOR_LISTENER:
            raise UnsupportedSpec(f"listener {listener.id}: protocol {listener.protocol}")
        listeners.append(listener)
    return tuple(listeners)


def rendered_backends(spec: LoadBalancerSpec) -> tuple[RenderedBackend, ...]:
    """One backend per rendered listener and enabled pool it uses: its default pool,
    then the pools its rendered REDIRECT_TO_POOL policies send to."""
    backends: list[RenderedBackend] = []
    for listener in rendered_listeners(spec):
        pools: list[PoolSpec] = []
        pool = default_pool(spec, listener)
        if pool is not None and pool.admin_state_up:
            pools.append(pool)
        for policy in rendered_policies(listener):
            target = redirect_pool(spec, policy)
            if target is not None and target not in pools:
                pools.append(target)
        backends.extend(
            RenderedBackend(name=backend_name(p, listener), listener=listener, pool=p)
            for p in pools
        )
    return tuple(backends)


def rendered_policies(listener: ListenerSpec) -> tuple[L7PolicySpec, ...]:
    """Enabled policies with at least one enabled rule, on an HTTP or TERMINATED_HTTPS
    listener (the API refuses them elsewhere)."""
    if listener.protocol not in _L7_LISTENERS:
        return ()
    return tuple(
        policy
        for policy in listener.l7policies
        if policy.admin_state_up and any(rule.admin_state_up for rule in policy.rules)
    )


def redirect_pool(spec: LoadBalancerSpec, policy: L7PolicySpec) -> PoolSpec | None:
    """The enabled pool a REDIRECT_TO_POOL policy sends to (None: the policy is skipped)."""
    if policy.action is not L7PolicyAction.REDIRECT_TO_POOL or policy.redirect_pool_id is None:
        return None
    pool = spec.pool(policy.redirect_pool_id)
    return pool if pool is not None and pool.admin_state_up else None


def default_pool(spec: LoadBalancerSpec, listener: ListenerSpec) -> PoolSpec | None:
    if listener.default_pool_id is None:
        return None
    if listener.protocol is ListenerProtocol.PROMETHEUS:
        raise UnsupportedSpec(f"listener {listener.id}: a PROMETHEUS listener takes no pool")
    pool = spec.pool(listener.default_pool_id)
    if pool is None:
        raise UnsafeValue(
            "listener.default_pool_id", listener.default_pool_id, "names no pool of this LB"
        )
    return pool


def backend_name(pool: PoolSpec, listener: ListenerSpec) -> str:
    pool_id = safety.uuid_id("pool.id", pool.id)
    listener_id = safety.uuid_id("listener.id", listener.id)
    return f"{pool_id}:{listener_id}"


def connection_limit(listener: ListenerSpec, defaults: HaproxyDefaults) -> int:
    """The listener's limit; -1 (unlimited) means the operator's default."""
    limit = safety.integer(
        "listener.connection_limit", listener.connection_limit, low=-1, high=1_000_000
    )
    return defaults.default_connection_limit if limit == -1 else limit


def global_maxconn(listeners: tuple[ListenerSpec, ...], defaults: HaproxyDefaults) -> int:
    """Sum of the listeners' limits, capped at `max_global_connections`.

    With no listener (or only zero limits) the default limit stands in, so
    the process keeps a sane ceiling for its stats socket.
    """
    total = sum(connection_limit(listener, defaults) for listener in listeners)
    if total <= 0:
        total = defaults.default_connection_limit
    return min(total, defaults.max_global_connections)


def endpoint(field: str, address: str, port: int) -> str:
    """`address:port` as HAProxy reads it: IPv6 addresses in brackets."""
    text = safety.ip_address(f"{field}.address", address)
    number = safety.port(f"{field}.port", port)
    return f"[{text}]:{number}" if ":" in text else f"{text}:{number}"


def timeout_ms(field: str, value: int) -> int:
    return safety.integer(field, value, low=0, high=MAX_TIMEOUT_MS)


def frontend_view(
    listener: ListenerSpec,
    *,
    spec: LoadBalancerSpec,
    backends: tuple[RenderedBackend, ...],
    defaults: HaproxyDefaults,
    files: TlsFiles,
) -> FrontendView:
    mode = _MODE_FOR_LISTENER[listener.protocol]
    tls = listener_tls(listener)
    http = listener.protocol in _L7_LISTENERS
    forwardfor, headers = inserted_headers(listener) if http else (False, ())
    default_backend = next(
        (
            b.name
            for b in backends
            if b.listener is listener and b.pool.id == listener.default_pool_id
        ),
        None,
    )
    acls, actions = l7_views(listener, spec=spec) if http else ((), ())
    return FrontendView(
        name=safety.uuid_id("listener.id", listener.id),
        binds=tuple(
            endpoint(field, address, listener.protocol_port)
            for field, address in (
                ("load_balancer.vip", spec.vip_address),
                *(("load_balancer.additional_vips", a) for a in spec.additional_vips),
            )
        ),
        mode=mode,
        maxconn=connection_limit(listener, defaults),
        timeout_client_ms=timeout_ms(
            "listener.timeout_client_data", listener.timeout_client_data_ms
        ),
        tcp_inspect_delay_ms=timeout_ms(
            "listener.timeout_tcp_inspect", listener.timeout_tcp_inspect_ms
        ),
        allowed_cidr_lines=allowed_cidr_lines(listener.allowed_cidrs),
        forwardfor=forwardfor,
        set_headers=headers,
        default_backend=default_backend,
        acls=acls,
        l7_actions=actions,
        bind_options="" if tls is None else bind_options(tls, files=files),
        hsts=None if tls is None else hsts_value(tls),
        metrics_exporter=listener.protocol is ListenerProtocol.PROMETHEUS,
    )


def listener_tls(listener: ListenerSpec) -> ListenerTlsSpec | None:
    """The TLS termination of a TERMINATED_HTTPS listener (which must have it), else None."""
    if listener.protocol is not ListenerProtocol.TERMINATED_HTTPS:
        if listener.tls is not None:
            raise UnsafeValue("listener.tls", listener.protocol, "TLS needs TERMINATED_HTTPS")
        return None
    if listener.tls is None or not listener.tls.certificates:
        raise UnsupportedSpec(f"listener {listener.id}: TERMINATED_HTTPS without a certificate")
    return listener.tls


def bind_options(tls: ListenerTlsSpec, *, files: TlsFiles) -> str:
    """`ssl crt <default> [crt <sni>...]`, client authentication, versions, ciphers, ALPN.

    HAProxy serves the first `crt` to clients whose SNI matches no certificate
    and picks the others by the names (CN and SANs) in each certificate. As
    Octavia, a client CA is rendered with the listener's `verify` word even when
    client_authentication is NONE, and a CRL only with a client CA.
    """
    names = list(dict.fromkeys(tls.certificates))
    words = ["ssl"]
    words.extend(f"crt {files.path('listener.tls.certificates', name)}" for name in names)
    if tls.client_ca is not None:
        verify = safety.client_verify("listener.client_authentication", tls.client_authentication)
        words.append(f"ca-file {files.path('listener.client_ca', tls.client_ca)} verify {verify}")
        if tls.client_crl is not None:
            words.append(f"crl-file {files.path('listener.client_crl', tls.client_crl)}")
    elif tls.client_authentication != "NONE":
        raise UnsafeValue(
            "listener.client_authentication", tls.client_authentication, "needs a client CA"
        )
    words.extend(version_ciphers_alpn(tls, field="listener"))
    return " ".join(words)


def version_ciphers_alpn(tls: ListenerTlsSpec | PoolTlsSpec, *, field: str) -> list[str]:
    """`ssl-min-ver A ssl-max-ver B`, `ciphers C`, `alpn P,Q`: the words listeners and
    pools share.

    HAProxy takes a version range (`ssl-min-ver`/`ssl-max-ver`, it ignores `no-tlsv1x`
    beside them), so the API only accepts contiguous version sets.
    """
    words = []
    if tls.versions:
        rendered = [safety.tls_version(f"{field}.tls_versions", v) for v in tls.versions]
        ranked = sorted(rendered, key=list(safety.TLS_VERSION_WORDS.values()).index)
        words.append(f"ssl-min-ver {ranked[0]} ssl-max-ver {ranked[-1]}")
    if tls.ciphers is not None:
        words.append(f"ciphers {safety.ciphers(f'{field}.tls_ciphers', tls.ciphers)}")
    if tls.alpn_protocols:
        protocols = [safety.alpn_protocol(f"{field}.alpn_protocols", p) for p in tls.alpn_protocols]
        words.append(f"alpn {','.join(protocols)}")
    return words


def hsts_value(tls: ListenerTlsSpec) -> str | None:
    """Octavia's Strict-Transport-Security value: `max-age=N;[ includeSubDomains;][ preload;]`."""
    if tls.hsts_max_age is None:
        return None
    max_age = safety.integer(
        "listener.hsts_max_age", tls.hsts_max_age, low=0, high=MAX_HSTS_MAX_AGE_S
    )
    value = f"max-age={max_age};"
    if tls.hsts_include_subdomains:
        value += " includeSubDomains;"
    if tls.hsts_preload:
        value += " preload;"
    return value


_MATCH_FLAG: dict[L7RuleCompareType, str] = {
    L7RuleCompareType.REGEX: "-m reg",
    L7RuleCompareType.STARTS_WITH: "-m beg",
    L7RuleCompareType.ENDS_WITH: "-m end",
    L7RuleCompareType.CONTAINS: "-m sub",
    L7RuleCompareType.EQUAL_TO: "-m str",
}
_KEY = re.compile(r"[A-Za-z0-9!%&*+.^_|~\-]{1,255}")
"""Header and cookie names: a token without what HAProxy parses in a fetch argument."""
_DN_FIELD = re.compile(r"[A-Za-z][A-Za-z0-9\-]{0,254}")
_ACTION_GROUP = {
    L7PolicyAction.REJECT: 0,
    L7PolicyAction.REDIRECT_TO_URL: 1,
    L7PolicyAction.REDIRECT_PREFIX: 1,
    L7PolicyAction.REDIRECT_TO_POOL: 2,
}
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


def l7_views(
    listener: ListenerSpec, *, spec: LoadBalancerSpec
) -> tuple[tuple[AclView, ...], tuple[L7ActionView, ...]]:
    """The listener's ACLs and policy lines, in Octavia's order (first match wins)."""
    acls: list[AclView] = []
    actions: list[tuple[int, int, L7ActionView]] = []
    for policy in rendered_policies(listener):
        action = l7_action(policy, listener=listener, spec=spec)
        if action is None:
            continue
        rules = [rule for rule in policy.rules if rule.admin_state_up]
        acls.extend(acl_view(rule) for rule in rules)
        condition = " ".join(
            f"!{acl}" if rule.invert else acl
            for rule, acl in ((r, safety.uuid_id("l7rule.id", r.id)) for r in rules)
        )
        position = safety.integer("l7policy.position", policy.position, low=1, high=2**31 - 1)
        actions.append(
            (
                _ACTION_GROUP[policy.action],
                position,
                L7ActionView(action.kind, action.target, action.code, condition),
            )
        )
    actions.sort(key=lambda item: (item[0], item[1]))
    return tuple(acls), tuple(view for _, _, view in actions)


def l7_action(
    policy: L7PolicySpec, *, listener: ListenerSpec, spec: LoadBalancerSpec
) -> L7ActionView | None:
    """What the policy does (without its condition); None when its pool is not rendered."""
    safety.uuid_id("l7policy.id", policy.id)
    if policy.action is L7PolicyAction.REJECT:
        return L7ActionView("deny", None, None, "")
    if policy.action is L7PolicyAction.REDIRECT_TO_POOL:
        pool = redirect_pool(spec, policy)
        if pool is None:
            return None
        return L7ActionView("use_backend", backend_name(pool, listener), None, "")
    code = policy.redirect_http_code or 302
    if code not in _REDIRECT_CODES:
        raise UnsafeValue("l7policy.redirect_http_code", code, "expected 301, 302, 303, 307, 308")
    if policy.action is L7PolicyAction.REDIRECT_TO_URL:
        url = safety.haproxy_word("l7policy.redirect_url", policy.redirect_url)
        return L7ActionView("redirect_location", url, code, "")
    if policy.action is L7PolicyAction.REDIRECT_PREFIX:
        prefix = safety.haproxy_word("l7policy.redirect_prefix", policy.redirect_prefix)
        return L7ActionView("redirect_prefix", prefix, code, "")
    raise UnsupportedSpec(f"l7policy {policy.id}: action {policy.action}")


def _key(field: str, value: str | None, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise UnsafeValue(field, value, f"expected a name matching {pattern.pattern}")
    return value


def acl_view(rule: L7RuleSpec) -> AclView:
    """One rule as an ACL: the fetch, the match method, `--`, the escaped pattern.

    `--` ends the flags, so a value such as `-f /etc/passwd` stays a pattern.
    A quoted header value (`"a b"`, allowed by Octavia) matches its content.
    """
    name = safety.uuid_id("l7rule.id", rule.id)
    value = rule.value
    if rule.type is L7RuleType.SSL_CONN_HAS_CERT:
        return AclView(name, "ssl_c_used", "", None)
    if rule.type is L7RuleType.SSL_VERIFY_RESULT:
        if not value.isascii() or not value.isdigit():
            raise UnsafeValue("l7rule.value", value, "expected a non-negative integer")
        return AclView(name, "ssl_c_verify", "", safety.haproxy_word("l7rule.value", value))
    if rule.compare_type not in _MATCH_FLAG:
        raise UnsupportedSpec(f"l7rule {rule.id}: compare type {rule.compare_type}")
    flag = _MATCH_FLAG[rule.compare_type]
    quoted = len(value) >= 2 and value[0] == value[-1] == '"'
    if rule.compare_type is not L7RuleCompareType.REGEX and quoted:
        value = value[1:-1]
    if rule.type is L7RuleType.HOST_NAME:
        fetch, flag = "req.hdr(host)", f"-i {flag}"
    elif rule.type is L7RuleType.PATH:
        fetch = "path"
    elif rule.type is L7RuleType.FILE_TYPE:
        if rule.compare_type is L7RuleCompareType.EQUAL_TO:
            fetch, flag, value = "path", "-m end", "." + value.removeprefix(".")
        else:
            fetch = "path,field(-1,.)"
    elif rule.type is L7RuleType.HEADER:
        fetch = f"req.hdr({_key('l7rule.key', rule.key, _KEY)})"
    elif rule.type is L7RuleType.COOKIE:
        fetch = f"req.cook({_key('l7rule.key', rule.key, _KEY)})"
    elif rule.type is L7RuleType.SSL_DN_FIELD:
        fetch = f"ssl_c_s_dn({_key('l7rule.key', rule.key, _DN_FIELD)})"
    else:
        raise UnsupportedSpec(f"l7rule {rule.id}: type {rule.type}")
    return AclView(name, fetch, flag, safety.haproxy_word("l7rule.value", value))


def allowed_cidr_lines(cidrs: tuple[str, ...]) -> tuple[str, ...]:
    """Normalised, de-duplicated CIDRs, ALLOWED_CIDRS_PER_LINE to a line."""
    normalised = list(dict.fromkeys(safety.cidr("listener.allowed_cidrs", c) for c in cidrs))
    return tuple(
        " ".join(normalised[i : i + ALLOWED_CIDRS_PER_LINE])
        for i in range(0, len(normalised), ALLOWED_CIDRS_PER_LINE)
    )


def inserted_headers(listener: ListenerSpec) -> tuple[bool, tuple[HeaderView, ...]]:
    """(`option forwardfor`?, `http-request set-header` lines) for an HTTP listener.

    Only names from Octavia's closed list are accepted; a header is inserted
    when its value is "true". TLS client headers need TERMINATED_HTTPS and are
    ignored on plain HTTP; there X-Forwarded-Proto says `https`.
    """
    terminated = listener.protocol is ListenerProtocol.TERMINATED_HTTPS
    enabled: set[str] = set()
    for name, value in listener.insert_headers:
        canonical = _KNOWN_HEADERS.get(name.lower()) if isinstance(name, str) else None
        if canonical is None:
            raise UnsafeValue("listener.insert_headers", name, "not an Octavia header name")
        if isinstance(value, str) and value.strip().lower() == "true":
            enabled.add(canonical)
    headers = []
    if "X-Forwarded-Port" in enabled:
        headers.append(HeaderView("X-Forwarded-Port", "%[dst_port]"))
    if "X-Forwarded-Proto" in enabled:
        headers.append(HeaderView("X-Forwarded-Proto", "https" if terminated else "http"))
    headers.extend(HeaderView(n, "%[src]") for n in _CLIENT_ADDRESS_HEADERS if n in enabled)
    if terminated:
        headers.extend(HeaderView(n, v) for n, v in _TLS_HEADER_VALUES.items() if n in enabled)
    return "X-Forwarded-For" in enabled, tuple(headers)


def backend_mode(pool: PoolSpec, listener: ListenerSpec) -> Literal["http", "tcp"]:
    """The pool protocol's mode; PROXY and PROXYV2 take the listener's."""
    if pool.protocol in _PROXY_PROTOCOL_ARGUMENT:
        return _MODE_FOR_LISTENER[listener.protocol]
    if pool.protocol not in _MODE_FOR_POOL:
        raise UnsupportedSpec(f"pool {pool.id}: protocol {pool.protocol} behind HAProxy")
    return _MODE_FOR_POOL[pool.protocol]


def backend_view(
    backend: RenderedBackend, *, defaults: HaproxyDefaults, base_dir: str, files: TlsFiles
) -> BackendView:
    pool, listener = backend.pool, backend.listener
    mode = backend_mode(pool, listener)
    algorithm = pool.lb_algorithm
    if algorithm not in _BALANCE:
        raise UnsupportedSpec(f"pool {pool.id}: algorithm {algorithm}")
    return BackendView(
        name=backend.name,
        mode=mode,
        balance=_BALANCE[algorithm],
        hash_consistent=algorithm in _HASHED,
        source_port_var=SOURCE_PORT_VAR if algorithm is Algorithm.SOURCE_IP_PORT else None,
        fullconn=connection_limit(listener, defaults),
        timeout_connect_ms=timeout_ms(
            "listener.timeout_member_connect", listener.timeout_member_connect_ms
        ),
        timeout_server_ms=timeout_ms(
            "listener.timeout_member_data", listener.timeout_member_data_ms
        ),
        health_check=health_check_view(active_monitor(pool), base_dir=base_dir),
        persistence=persistence_view(pool.session_persistence, mode=mode),
        servers=tuple(server_view(member, backend=backend, files=files) for member in pool.members),
    )


def active_monitor(pool: PoolSpec) -> HealthMonitorSpec | None:
    """The pool's monitor if it is enabled (a disabled monitor means no checks)."""
    monitor = pool.health_monitor
    return monitor if monitor is not None and monitor.admin_state_up else None


def health_check_view(
    monitor: HealthMonitorSpec | None, *, base_dir: str
) -> HealthCheckView | None:
    if monitor is None:
        return None
    timeout_s = safety.integer("health_monitor.timeout", monitor.timeout_s, low=0, high=86400)
    if monitor.type in (HealthMonitorType.HTTP, HealthMonitorType.HTTPS):
        return HealthCheckView("http", timeout_s, http_check_view(monitor), None)
    if monitor.type is HealthMonitorType.PING:
        return HealthCheckView("ping", timeout_s, None, f"{base_dir}/{PING_WRAPPER}")
    if monitor.type is HealthMonitorType.TCP:
        return HealthCheckView("connect", timeout_s, None, None)
    if monitor.type is HealthMonitorType.TLS_HELLO:
        return HealthCheckView("tls-hello", timeout_s, None, None)
    raise UnsupportedSpec(f"health monitor {monitor.id}: type {monitor.type} behind HAProxy")


def http_check_view(monitor: HealthMonitorSpec) -> HttpCheckView:
    version = (
        None
        if monitor.http_version is None
        else safety.http_version("health_monitor.http_version", monitor.http_version)
    )
    host = None
    if monitor.domain_name is not None:
        domain = safety.domain_name("health_monitor.domain_name", monitor.domain_name)
        # As Octavia: a Host header only makes sense (and is allowed) with 1.1.
        host = domain if version == "HTTP/1.1" else None
    return HttpCheckView(
        method=safety.http_method("health_monitor.http_method", monitor.http_method or "GET"),
        path=safety.url_path("health_monitor.url_path", monitor.url_path or "/"),
        version=version,
        host=host,
        expect_regex=safety.expected_codes_regex(
            "health_monitor.expected_codes", monitor.expected_codes or "200"
        ),
    )


def persistence_view(
    persistence: SessionPersistenceSpec | None, *, mode: Literal["http", "tcp"]
) -> PersistenceView | None:
    """Stickiness; cookie types need HTTP and are left out of a TCP-mode backend."""
    if persistence is None:
        return None
    if persistence.type is SessionPersistenceType.SOURCE_IP:
        return PersistenceView("source_ip", None, STICK_TABLE_SIZE)
    if mode != "http":
        return None
    if persistence.type is SessionPersistenceType.HTTP_COOKIE:
        return PersistenceView("http_cookie", None, STICK_TABLE_SIZE)
    if persistence.type is SessionPersistenceType.APP_COOKIE:
        name = safety.cookie_name("session_persistence.cookie_name", persistence.cookie_name)
        return PersistenceView("app_cookie", name, STICK_TABLE_SIZE)
    raise UnsupportedSpec(f"session persistence {persistence.type}")


def uses_cookie(pool: PoolSpec, *, mode: Literal["http", "tcp"]) -> bool:
    view = persistence_view(pool.session_persistence, mode=mode)
    return view is not None and view.kind == "http_cookie"


def server_view(member: MemberSpec, *, backend: RenderedBackend, files: TlsFiles) -> ServerView:
    return ServerView(
        name=safety.uuid_id("member.id", member.id),
        endpoint=endpoint("member", member.address, member.protocol_port),
        arguments=server_arguments(member, backend=backend, files=files),
        disabled=not member.admin_state_up,
    )


def server_arguments(member: MemberSpec, *, backend: RenderedBackend, files: TlsFiles) -> str:
    """The words after `server <name> <endpoint>` (without `disabled`)."""
    pool, listener = backend.pool, backend.listener
    mode = backend_mode(pool, listener)
    words = [f"weight {safety.integer('member.weight', member.weight, low=0, high=256)}"]
    if member.backup:
        words.append("backup")
    if uses_cookie(pool, mode=mode):
        words.append(f"cookie {safety.uuid_id('member.id', member.id)}")
    if pool.protocol in _PROXY_PROTOCOL_ARGUMENT:
        table = (
            _PROXY_PROTOCOL_ARGUMENT_TLS
            if listener.protocol is ListenerProtocol.TERMINATED_HTTPS
            else _PROXY_PROTOCOL_ARGUMENT
        )
        words.append(table[pool.protocol])
    if pool.tls is not None:
        words.extend(tls_arguments(pool.tls, files=files))
    monitor = active_monitor(pool)
    if monitor is not None:
        words.extend(check_arguments(member, monitor, verify=server_verify(pool.tls)))
    return " ".join(words)


def server_verify(tls: PoolTlsSpec | None) -> str:
    """`required` with a CA to check members against, else `none` (Octavia's)."""
    return "required" if tls is not None and tls.ca is not None else "none"


def tls_arguments(tls: PoolTlsSpec, *, files: TlsFiles) -> list[str]:
    """Octavia's re-encryption words: `ssl`, the client certificate, the CA and CRL with
    `verify required` (`verify none` without a CA), SNI from the client's, then the
    version range, ciphers and ALPN.

    With a CA but no CRL Octavia writes no verify word and relies on HAProxy's
    default (`required`); we write it. A CRL without a CA is ignored, as Octavia.
    """
    words = ["ssl"]
    if tls.certificate is not None:
        words.append(f"crt {files.path('pool.tls_container_ref', tls.certificate)}")
    if tls.ca is not None:
        words.append(f"ca-file {files.path('pool.ca_tls_container_ref', tls.ca)}")
        if tls.crl is not None:
            words.append(f"crl-file {files.path('pool.crl_container_ref', tls.crl)}")
    words.append(f"verify {server_verify(tls)} sni ssl_fc_sni")
    words.extend(version_ciphers_alpn(tls, field="pool"))
    return words


_TLS_CHECKS = frozenset({HealthMonitorType.HTTPS, HealthMonitorType.TLS_HELLO})


def check_arguments(member: MemberSpec, monitor: HealthMonitorSpec, *, verify: str) -> list[str]:
    """`check` words; `verify` repeats the server's own (it is one setting per server, so
    a different word here would change how traffic is verified too).

    HTTPS and TLS-HELLO checks run over TLS (`check-ssl`). Without `option httpchk`
    HAProxy's check is then a complete TLS handshake (a layer-6 check), which is what
    TLS-HELLO means. Octavia's `option ssl-hello-chk` sends an SSLv3 hello and counts
    any TLS record in reply as success, the alert with which a modern server refuses
    SSLv3 included, so a member that cannot complete a handshake stays UP
    (octavia-spec §7, pain point 15).
    """
    words = ["check"]
    if monitor.type in _TLS_CHECKS:
        words.append(f"check-ssl verify {verify}")
    delay_s = safety.integer("health_monitor.delay", monitor.delay_s, low=0, high=86400)
    fall = safety.integer(
        "health_monitor.max_retries_down", monitor.max_retries_down, low=1, high=10
    )
    rise = safety.integer("health_monitor.max_retries", monitor.max_retries, low=1, high=10)
    # HAProxy refuses `inter 0`; Octavia allows delay 0, which we read as "as often as sensible".
    words.append(f"inter {max(delay_s, 1)}s fall {fall} rise {rise}")
    if member.monitor_address is not None:
        address = safety.ip_address("member.monitor_address", member.monitor_address)
        # `addr` takes an optional port too: an IPv6 address needs brackets.
        words.append(f"addr [{address}]" if ":" in address else f"addr {address}")
    if member.monitor_port is not None:
        words.append(f"port {safety.port('member.monitor_port', member.monitor_port)}")
    return words
