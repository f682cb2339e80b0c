"""Targeted rules of render_haproxy, one behaviour per test (the goldens show whole files)."""

import dataclasses
import uuid

import pytest

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
    LoadBalancerSpec,
    MemberSpec,
    PoolSpec,
    SessionPersistenceSpec,
)
from statera.rendering import UnsafeValue, UnsupportedSpec, render_haproxy

RUNTIME = AmphoraRuntime(amphora_id=str(uuid.uuid4()), base_dir="/srv/amp")


def new_id() -> str:
    return str(uuid.uuid4())


def monitor(kind: HealthMonitorType = HealthMonitorType.TCP, **kw: object) -> HealthMonitorSpec:
    fields: dict[str, object] = {
        "delay_s": 5,
        "timeout_s": 2,
        "max_retries": 2,
        "max_retries_down": 4,
    }
    fields.update(kw)
    return HealthMonitorSpec(id=new_id(), type=kind, **fields)  # type: ignore[arg-type]


def make_pool(
    protocol: PoolProtocol = PoolProtocol.HTTP,
    algorithm: Algorithm = Algorithm.ROUND_ROBIN,
    members: tuple[MemberSpec, ...] | None = None,
    **kw: object,
) -> PoolSpec:
    if members is None:
        members = (MemberSpec(id=new_id(), address="10.0.0.1", protocol_port=80),)
    return PoolSpec(id=new_id(), protocol=protocol, lb_algorithm=algorithm, members=members, **kw)  # type: ignore[arg-type]


def make_listener(
    pool: PoolSpec | None,
    protocol: ListenerProtocol = ListenerProtocol.HTTP,
    port: int = 80,
    **kw: object,
) -> ListenerSpec:
    return ListenerSpec(
        id=new_id(),
        protocol=protocol,
        protocol_port=port,
        default_pool_id=pool.id if pool else None,
        **kw,  # type: ignore[arg-type]
    )


def make_lb(*pairs: tuple[ListenerSpec, PoolSpec | None], **kw: object) -> LoadBalancerSpec:
    pools = {p.id: p for _, p in pairs if p is not None}
    return LoadBalancerSpec(
        id=new_id(),
        vip_address=str(kw.pop("vip", "192.0.2.1")),
        listeners=tuple(listener for listener, _ in pairs),
        pools=tuple(pools.values()),
        **kw,  # type: ignore[arg-type]
    )


def render(spec: LoadBalancerSpec, defaults: HaproxyDefaults | None = None) -> str:
    return render_haproxy(spec, runtime=RUNTIME, defaults=defaults or HaproxyDefaults())


def section(text: str, header: str) -> list[str]:
    """The stripped lines of the section that starts with `header`."""
    lines = text.splitlines()
    start = lines.index(header)
    body = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        body.append(line.strip())
    return body


def backend_header(pool: PoolSpec, listener: ListenerSpec) -> str:
    return f"backend {pool.id}:{listener.id}"


def global_maxconn(text: str) -> int:
    return int(next(line for line in section(text, "global") if line.startswith("maxconn "))[8:])


def test_global_maxconn_is_the_sum_of_listener_limits() -> None:
    pool = make_pool()
    spec = make_lb(
        (make_listener(pool, connection_limit=3000), pool),
        (make_listener(pool, port=81, connection_limit=2000), pool),
        (make_listener(pool, port=82, connection_limit=-1, admin_state_up=False), pool),
    )
    assert global_maxconn(render(spec)) == 5000


def test_global_maxconn_counts_unlimited_as_the_default_and_is_capped() -> None:
    pool = make_pool()
    spec = make_lb((make_listener(pool), pool), (make_listener(pool, port=81), pool))
    small = HaproxyDefaults(default_connection_limit=1000, max_global_connections=100_000)
    assert global_maxconn(render(spec, small)) == 2000
    capped = HaproxyDefaults(default_connection_limit=50_000, max_global_connections=8000)
    assert global_maxconn(render(spec, capped)) == 8000


def test_frontend_maxconn_and_backend_fullconn_follow_the_listener() -> None:
    pool = make_pool()
    listener = make_listener(pool, connection_limit=1234)
    text = render(make_lb((listener, pool)))
    assert "maxconn 1234" in section(text, f"frontend {listener.id}")
    assert "fullconn 1234" in section(text, backend_header(pool, listener))


def test_disabled_load_balancer_renders_no_proxy_but_keeps_the_socket() -> None:
    pool = make_pool()
    text = render(make_lb((make_listener(pool), pool), admin_state_up=False))
    assert "frontend" not in text
    assert "backend" not in text
    assert "stats socket /srv/amp/haproxy.sock mode 600 level admin" in text


def test_disabled_listener_and_disabled_pool() -> None:
    pool = make_pool()
    off_pool = make_pool(admin_state_up=False)
    on, off, orphan = (
        make_listener(pool),
        make_listener(pool, port=81, admin_state_up=False),
        make_listener(off_pool, port=82),
    )
    text = render(make_lb((on, pool), (off, pool), (orphan, off_pool)))
    assert f"frontend {off.id}" not in text
    assert off.id not in text
    assert not any(
        line.startswith("default_backend") for line in section(text, f"frontend {orphan.id}")
    )
    assert off_pool.id not in text


def test_admin_down_member_is_disabled_and_backup_is_marked() -> None:
    down = MemberSpec(id=new_id(), address="10.0.0.2", protocol_port=80, admin_state_up=False)
    spare = MemberSpec(id=new_id(), address="10.0.0.3", protocol_port=80, backup=True, weight=7)
    pool = make_pool(members=(down, spare))
    listener = make_listener(pool)
    lines = section(render(make_lb((listener, pool))), backend_header(pool, listener))
    assert f"server {down.id} 10.0.0.2:80 weight 1 disabled" in lines
    assert f"server {spare.id} 10.0.0.3:80 weight 7 backup" in lines
    assert "option allbackups" in lines


def test_udp_listeners_are_left_to_the_kernel() -> None:
    udp = make_listener(None, ListenerProtocol.UDP, port=53)
    assert udp.id not in render(make_lb((udp, None)))


def test_terminated_https_needs_a_certificate() -> None:
    listener = make_listener(None, ListenerProtocol.TERMINATED_HTTPS, port=443)
    with pytest.raises(UnsupportedSpec, match="without a certificate"):
        render(make_lb((listener, None)))


def test_default_pool_must_exist() -> None:
    listener = make_listener(make_pool())
    spec = LoadBalancerSpec(id=new_id(), vip_address="192.0.2.1", listeners=(listener,))
    with pytest.raises(UnsafeValue, match="default_pool_id"):
        render(spec)


@pytest.mark.parametrize(
    ("listener_protocol", "pool_protocol", "mode", "argument"),
    [
        (ListenerProtocol.HTTP, PoolProtocol.PROXY, "http", "send-proxy"),
        (ListenerProtocol.TCP, PoolProtocol.PROXY, "tcp", "send-proxy"),
        (ListenerProtocol.HTTP, PoolProtocol.PROXYV2, "http", "send-proxy-v2"),
        (ListenerProtocol.TCP, PoolProtocol.PROXYV2, "tcp", "send-proxy-v2"),
        (ListenerProtocol.TCP, PoolProtocol.HTTP, "http", None),
        (ListenerProtocol.HTTPS, PoolProtocol.HTTPS, "tcp", None),
    ],
)
def test_backend_mode_and_proxy_protocol(
    listener_protocol: ListenerProtocol,
    pool_protocol: PoolProtocol,
    mode: str,
    argument: str | None,
) -> None:
    pool = make_pool(pool_protocol)
    listener = make_listener(pool, listener_protocol)
    lines = section(render(make_lb((listener, pool))), backend_header(pool, listener))
    assert f"mode {mode}" in lines
    server = next(line for line in lines if line.startswith("server "))
    assert server.endswith(f"weight 1 {argument}" if argument else "weight 1")


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        (Algorithm.ROUND_ROBIN, ["balance roundrobin"]),
        (Algorithm.LEAST_CONNECTIONS, ["balance leastconn"]),
        (Algorithm.SOURCE_IP, ["balance source", "hash-type consistent"]),
        (
            Algorithm.SOURCE_IP_PORT,
            [
                "tcp-request content set-var(txn.statera_src_port) src_port",
                "balance hash src,concat(:,txn.statera_src_port)",
                "hash-type consistent",
            ],
        ),
    ],
)
def test_balance_algorithms(algorithm: Algorithm, expected: list[str]) -> None:
    pool = make_pool(algorithm=algorithm)
    listener = make_listener(pool)
    lines = section(render(make_lb((listener, pool))), backend_header(pool, listener))
    balancing = [line for line in lines if line.startswith(("balance", "hash-type", "tcp-request"))]
    assert balancing == expected


def test_ping_monitor_enables_external_checks_globally() -> None:
    pool = make_pool(health_monitor=monitor(HealthMonitorType.PING))
    listener = make_listener(pool)
    text = render(make_lb((listener, pool)))
    assert {"external-check", "insecure-fork-wanted"} <= set(section(text, "global"))
    lines = section(text, backend_header(pool, listener))
    assert "option external-check" in lines
    assert "external-check command /srv/amp/ping-wrapper.sh" in lines


def test_disabled_monitor_means_no_checks_at_all() -> None:
    pool = make_pool(health_monitor=monitor(HealthMonitorType.PING, admin_state_up=False))
    listener = make_listener(pool)
    text = render(make_lb((listener, pool)))
    assert "external-check" not in text
    assert " check" not in text
    assert "timeout check" not in text


def test_check_arguments_and_monitor_address() -> None:
    member = MemberSpec(
        id=new_id(),
        address="2001:db8::7",
        protocol_port=8080,
        monitor_address="2001:db8::8",
        monitor_port=9090,
    )
    pool = make_pool(members=(member,), health_monitor=monitor(delay_s=0))
    listener = make_listener(pool)
    lines = section(render(make_lb((listener, pool))), backend_header(pool, listener))
    assert (
        f"server {member.id} [2001:db8::7]:8080 weight 1 check inter 1s fall 4 rise 2"
        " addr [2001:db8::8] port 9090"
    ) in lines
    assert "timeout check 2s" in lines


def test_host_header_only_with_http_1_1() -> None:
    hm = monitor(HealthMonitorType.HTTP, domain_name="example.com", http_version=1.0)
    pool = make_pool(health_monitor=hm)
    listener = make_listener(pool)
    lines = section(render(make_lb((listener, pool))), backend_header(pool, listener))
    assert "http-check send meth GET uri / ver HTTP/1.0" in lines
    assert "http-check expect rstatus ^200$" in lines


def test_ipv6_vip_is_bracketed() -> None:
    pool = make_pool()
    listener = make_listener(pool, port=443)
    text = render(make_lb((listener, pool), vip="2001:db8:0:0::1"))
    assert "bind [2001:db8::1]:443" in section(text, f"frontend {listener.id}")


def test_insert_headers_only_on_http_listeners() -> None:
    pool = make_pool(PoolProtocol.TCP)
    headers = (("X-Forwarded-For", "true"), ("X-Real-IP", "true"))
    tcp = make_listener(pool, ListenerProtocol.TCP, insert_headers=headers)
    http_pool = make_pool()
    http = make_listener(http_pool, port=81, insert_headers=headers)
    text = render(make_lb((tcp, pool), (http, http_pool)))
    assert not any(
        "forwardfor" in line or "header" in line for line in section(text, f"frontend {tcp.id}")
    )
    http_lines = section(text, f"frontend {http.id}")
    assert "option forwardfor" in http_lines
    assert "http-request set-header X-Real-IP %[src]" in http_lines


def test_allowed_cidrs_reject_everyone_else() -> None:
    pool = make_pool()
    listener = make_listener(pool, allowed_cidrs=("10.1.2.3/8", "10.0.0.0/8", "2001:db8::/32"))
    lines = section(render(make_lb((listener, pool))), f"frontend {listener.id}")
    assert "acl allowed_cidrs src 10.0.0.0/8 2001:db8::/32" in lines
    assert "tcp-request connection reject if !allowed_cidrs" in lines


def test_render_is_deterministic() -> None:
    pool = make_pool(health_monitor=monitor(HealthMonitorType.HTTP))
    spec = make_lb((make_listener(pool), pool))
    assert render(spec) == render(dataclasses.replace(spec))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (HealthMonitorType.TLS_HELLO, "check check-ssl verify none inter 5s"),
        (HealthMonitorType.HTTPS, "check check-ssl verify none inter 5s"),
        (HealthMonitorType.TCP, "check inter 5s"),
    ],
)
def test_tls_checks_are_a_real_handshake(kind: HealthMonitorType, expected: str) -> None:
    """TLS-HELLO is `check-ssl` (a full handshake), never the SSLv3 `option ssl-hello-chk`."""
    pool = make_pool(PoolProtocol.HTTPS, health_monitor=monitor(kind))
    listener = make_listener(pool, ListenerProtocol.HTTPS, port=443)
    text = render(make_lb((listener, pool)))
    lines = section(text, backend_header(pool, listener))
    server = next(line for line in lines if line.startswith("server "))
    assert expected in server
    assert "ssl-hello-chk" not in text
    assert ("option httpchk" in lines) is (kind is HealthMonitorType.HTTPS)


def test_https_passthrough_keeps_source_ip_and_drops_what_needs_http() -> None:
    """mode tcp: SOURCE_IP sticks; cookies, headers and L7 policies cannot apply."""
    sticky = make_pool(
        PoolProtocol.HTTPS,
        session_persistence=SessionPersistenceSpec(SessionPersistenceType.SOURCE_IP),
    )
    cookie = make_pool(
        PoolProtocol.HTTPS,
        session_persistence=SessionPersistenceSpec(SessionPersistenceType.HTTP_COOKIE),
    )
    rule = L7RuleSpec(new_id(), L7RuleType.PATH, L7RuleCompareType.STARTS_WITH, "/x")
    policy = L7PolicySpec(new_id(), L7PolicyAction.REJECT, 1, rules=(rule,))
    first = make_listener(
        sticky,
        ListenerProtocol.HTTPS,
        port=443,
        insert_headers=(("X-Forwarded-For", "true"),),
        l7policies=(policy,),
    )
    second = make_listener(cookie, ListenerProtocol.HTTPS, port=8443)
    text = render(make_lb((first, sticky), (second, cookie)))
    front = section(text, f"frontend {first.id}")
    assert "mode tcp" in front
    assert not [line for line in front if "forwardfor" in line or "http-request" in line]
    assert rule.id not in text
    assert {"stick-table type ipv6 size 10k", "stick on src"} <= set(
        section(text, backend_header(sticky, first))
    )
    cookie_lines = section(text, backend_header(cookie, second))
    assert "mode tcp" in cookie_lines
    assert not [line for line in cookie_lines if "cookie" in line or "stick" in line]


def test_prometheus_listener_serves_the_exporter_and_nothing_else() -> None:
    metrics = make_listener(None, ListenerProtocol.PROMETHEUS, port=9100)
    text = render(make_lb((metrics, None)))
    assert section(text, f"frontend {metrics.id}") == [
        "mode http",
        "bind 192.0.2.1:9100",
        "maxconn 50000",
        "timeout client 50000",
        "option idle-close-on-response",
        "http-request use-service prometheus-exporter if { path /metrics }",
        "http-request deny deny_status 404",
    ]
    assert "backend " not in text


def test_prometheus_listener_ignores_headers_and_policies() -> None:
    """The API refuses both; a spec carrying them still renders the exporter only."""
    rule = L7RuleSpec(new_id(), L7RuleType.PATH, L7RuleCompareType.STARTS_WITH, "/x")
    policy = L7PolicySpec(new_id(), L7PolicyAction.REJECT, 1, rules=(rule,))
    metrics = make_listener(
        None,
        ListenerProtocol.PROMETHEUS,
        port=9100,
        insert_headers=(("X-Forwarded-For", "true"),),
        l7policies=(policy,),
    )
    lines = section(render(make_lb((metrics, None))), f"frontend {metrics.id}")
    assert not [line for line in lines if "forwardfor" in line or "set-header" in line]
    assert not [line for line in lines if rule.id in line]


def test_prometheus_listener_takes_no_pool() -> None:
    pool = make_pool()
    metrics = make_listener(pool, ListenerProtocol.PROMETHEUS, port=9100)
    with pytest.raises(UnsupportedSpec, match="PROMETHEUS listener takes no pool"):
        render(make_lb((metrics, pool)))
