"""Golden haproxy.cfg files: one per case, each also checked by `haproxy -c`.

Regenerate with `STATERA_REGEN_GOLDEN=1 pytest tests/unit/rendering`, then read
the diff. The ids are uuid5 of readable names, so files stay stable.
"""

import dataclasses
import functools
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.tls_material import cert_pem, make_ca, make_crl, make_server_cert

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
from statera.rendering import render_haproxy
from statera.settings import ApiSettings

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden" / "haproxy"
HAPROXY = "/usr/sbin/haproxy"
REGENERATE = os.environ.get("STATERA_REGEN_GOLDEN") == "1"


def uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"statera-golden/{name}"))


RUNTIME = AmphoraRuntime(amphora_id=uid("amphora"), base_dir=f"/var/lib/statera/amp-{uid('amp')}")
DEFAULTS = HaproxyDefaults()


def member(name: str, address: str, port: int = 8080, **kw: object) -> MemberSpec:
    return MemberSpec(id=uid(name), address=address, protocol_port=port, **kw)  # type: ignore[arg-type]


def monitor(name: str, kind: HealthMonitorType, **kw: object) -> HealthMonitorSpec:
    fields: dict[str, object] = {
        "delay_s": 5,
        "timeout_s": 3,
        "max_retries": 2,
        "max_retries_down": 3,
    }
    fields.update(kw)
    return HealthMonitorSpec(id=uid(name), type=kind, **fields)  # type: ignore[arg-type]


def listener(
    name: str, protocol: ListenerProtocol, port: int, pool: str | None, **kw: object
) -> ListenerSpec:
    return ListenerSpec(
        id=uid(name),
        protocol=protocol,
        protocol_port=port,
        default_pool_id=uid(pool) if pool else None,
        **kw,  # type: ignore[arg-type]
    )


def pool(
    name: str, protocol: PoolProtocol, algorithm: Algorithm, *members: MemberSpec, **kw: object
) -> PoolSpec:
    return PoolSpec(id=uid(name), protocol=protocol, lb_algorithm=algorithm, members=members, **kw)  # type: ignore[arg-type]


def lb(*, listeners: tuple[ListenerSpec, ...], pools: tuple[PoolSpec, ...]) -> LoadBalancerSpec:
    return LoadBalancerSpec(
        id=uid("lb"), vip_address="203.0.113.10", listeners=listeners, pools=pools
    )


def http_simple() -> LoadBalancerSpec:
    """The everyday case: one HTTP listener, round robin, an HTTP monitor."""
    web = pool(
        "web",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("web-1", "10.0.0.11"),
        member("web-2", "10.0.0.12"),
        health_monitor=monitor("web-hm", HealthMonitorType.HTTP, url_path="/healthz"),
    )
    front = listener(
        "http", ListenerProtocol.HTTP, 80, "web", insert_headers=(("X-Forwarded-For", "true"),)
    )
    return lb(listeners=(front,), pools=(web,))


def algorithms() -> LoadBalancerSpec:
    """Every lb_algorithm, on TCP listeners; hashed ones with consistent hashing."""
    algos = {
        "rr": Algorithm.ROUND_ROBIN,
        "lc": Algorithm.LEAST_CONNECTIONS,
        "src": Algorithm.SOURCE_IP,
        "srcport": Algorithm.SOURCE_IP_PORT,
    }
    pools = tuple(
        pool(
            f"pool-{k}",
            PoolProtocol.TCP,
            a,
            member(f"{k}-1", "10.0.1.1"),
            member(f"{k}-2", "10.0.1.2"),
        )
        for k, a in algos.items()
    )
    listeners = tuple(
        listener(f"tcp-{k}", ListenerProtocol.TCP, 1000 + i, f"pool-{k}")
        for i, k in enumerate(algos)
    )
    http_hash = pool(
        "pool-http-srcport", PoolProtocol.HTTP, Algorithm.SOURCE_IP_PORT, member("h-1", "10.0.1.3")
    )
    return lb(
        listeners=(
            *listeners,
            listener("http-srcport", ListenerProtocol.HTTP, 80, "pool-http-srcport"),
        ),
        pools=(*pools, http_hash),
    )


def monitors() -> LoadBalancerSpec:
    """Each monitor type, monitor_address/port, and a disabled monitor."""
    cases = {
        "http-11": monitor(
            "hm-http-11",
            HealthMonitorType.HTTP,
            http_method="POST",
            url_path="/status?full=1",
            expected_codes="200-204",
            http_version=1.1,
            domain_name="app.example.com",
        ),
        "http-10": monitor(
            "hm-http-10",
            HealthMonitorType.HTTP,
            http_method="HEAD",
            expected_codes="200,202",
            http_version=1.0,
        ),
        "tcp": monitor("hm-tcp", HealthMonitorType.TCP, delay_s=0, timeout_s=0),
        "ping": monitor("hm-ping", HealthMonitorType.PING, max_retries=10, max_retries_down=10),
        "https": monitor("hm-https", HealthMonitorType.HTTPS, url_path="/"),
        "disabled": monitor("hm-disabled", HealthMonitorType.HTTP, admin_state_up=False),
    }
    pools = tuple(
        pool(
            f"pool-{k}",
            PoolProtocol.HTTP,
            Algorithm.ROUND_ROBIN,
            member(f"{k}-1", "10.0.2.1"),
            member(f"{k}-2", "10.0.2.2", monitor_address="10.0.2.102", monitor_port=9000),
            health_monitor=m,
        )
        for k, m in cases.items()
    )
    listeners = tuple(
        listener(f"l-{k}", ListenerProtocol.HTTP, 8000 + i, f"pool-{k}")
        for i, k in enumerate(cases)
    )
    tls = pool(
        "pool-tls-hello",
        PoolProtocol.HTTPS,
        Algorithm.ROUND_ROBIN,
        member("tls-1", "10.0.2.3", 443),
        health_monitor=monitor("hm-tls-hello", HealthMonitorType.TLS_HELLO),
    )
    return lb(
        listeners=(
            *listeners,
            listener("l-tls-hello", ListenerProtocol.HTTPS, 443, "pool-tls-hello"),
        ),
        pools=(*pools, tls),
    )


def persistence() -> LoadBalancerSpec:
    """Each persistence type; cookie persistence is left out of a TCP-mode backend."""
    kinds = {
        "source-ip": SessionPersistenceSpec(SessionPersistenceType.SOURCE_IP),
        "http-cookie": SessionPersistenceSpec(SessionPersistenceType.HTTP_COOKIE),
        "app-cookie": SessionPersistenceSpec(
            SessionPersistenceType.APP_COOKIE, cookie_name="JSESSIONID"
        ),
    }
    pools = tuple(
        pool(
            f"pool-{k}",
            PoolProtocol.HTTP,
            Algorithm.ROUND_ROBIN,
            member(f"{k}-1", "10.0.3.1"),
            member(f"{k}-2", "10.0.3.2"),
            session_persistence=sp,
        )
        for k, sp in kinds.items()
    )
    listeners = tuple(
        listener(f"l-{k}", ListenerProtocol.HTTP, 80 + i, f"pool-{k}") for i, k in enumerate(kinds)
    )
    tcp_cookie = pool(
        "pool-tcp-cookie",
        PoolProtocol.TCP,
        Algorithm.ROUND_ROBIN,
        member("tcp-cookie-1", "10.0.3.3"),
        session_persistence=SessionPersistenceSpec(SessionPersistenceType.HTTP_COOKIE),
    )
    return lb(
        listeners=(
            *listeners,
            listener("l-tcp-cookie", ListenerProtocol.TCP, 9000, "pool-tcp-cookie"),
        ),
        pools=(*pools, tcp_cookie),
    )


def headers_and_cidrs() -> LoadBalancerSpec:
    """All insert headers, allowed_cidrs (split over lines), limits and timeouts."""
    web = pool("web", PoolProtocol.HTTP, Algorithm.ROUND_ROBIN, member("web-1", "10.0.4.1"))
    raw = pool("raw", PoolProtocol.TCP, Algorithm.ROUND_ROBIN, member("raw-1", "10.0.4.2"))
    cidrs = (*(f"192.0.{i}.0/24" for i in range(18)), "2001:db8::/32", "198.51.100.7/24")
    every_header = (
        ("X-Forwarded-For", "true"),
        ("x-forwarded-port", "TRUE"),
        ("X-Forwarded-Proto", "true"),
        ("X-Real-IP", "true"),
        ("X-Client-IP", "true"),
        ("X-Forwarded-IP", "true"),
        ("X-SSL-Client-CN", "true"),  # TLS-only: ignored on HTTP
    )
    http = listener(
        "http",
        ListenerProtocol.HTTP,
        80,
        "web",
        insert_headers=every_header,
        allowed_cidrs=cidrs,
        connection_limit=3000,
        timeout_client_data_ms=20000,
        timeout_member_connect_ms=2000,
        timeout_member_data_ms=40000,
        timeout_tcp_inspect_ms=500,
    )
    http_off = listener(
        "http-off", ListenerProtocol.HTTP, 81, "web", insert_headers=(("X-Forwarded-For", "false"),)
    )
    tcp = listener(
        "tcp", ListenerProtocol.TCP, 9000, "raw", insert_headers=(("X-Forwarded-For", "true"),)
    )
    return lb(listeners=(http, http_off, tcp), pools=(web, raw))


def disabled_objects() -> LoadBalancerSpec:
    """A disabled listener is absent; a disabled pool leaves no default_backend."""
    web = pool(
        "web",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("up", "10.0.5.1"),
        member("down", "10.0.5.2", admin_state_up=False),
        member("spare", "10.0.5.3", backup=True),
        member("spare-down", "10.0.5.4", backup=True, admin_state_up=False, weight=0),
        health_monitor=monitor("web-hm", HealthMonitorType.TCP),
    )
    off = pool(
        "off",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("off-1", "10.0.5.9"),
        admin_state_up=False,
    )
    return lb(
        listeners=(
            listener("live", ListenerProtocol.HTTP, 80, "web"),
            listener("disabled", ListenerProtocol.HTTP, 81, "web", admin_state_up=False),
            listener("pool-off", ListenerProtocol.HTTP, 82, "off"),
            listener("no-pool", ListenerProtocol.TCP, 83, None),
            listener("udp", ListenerProtocol.UDP, 53, None),
        ),
        pools=(web, off),
    )


def lb_disabled() -> LoadBalancerSpec:
    """An admin-down load balancer serves nothing, but the process and socket stay."""
    spec = http_simple()
    return LoadBalancerSpec(
        id=spec.id,
        vip_address=spec.vip_address,
        admin_state_up=False,
        listeners=spec.listeners,
        pools=spec.pools,
    )


def ipv6_proxy() -> LoadBalancerSpec:
    """IPv6 VIP and members, PROXY/PROXYV2 pools, a shared pool, backup members."""
    proxy = pool(
        "proxy",
        PoolProtocol.PROXY,
        Algorithm.LEAST_CONNECTIONS,
        member("p-1", "2001:db8:1::1", 80),
        member(
            "p-2",
            "2001:db8:1::2",
            80,
            backup=True,
            monitor_address="2001:db8:1::99",
            monitor_port=81,
        ),
        health_monitor=monitor("proxy-hm", HealthMonitorType.HTTP, url_path="/ping"),
    )
    proxy2 = pool(
        "proxy2", PoolProtocol.PROXYV2, Algorithm.SOURCE_IP, member("p2-1", "::ffff:10.0.6.1", 80)
    )
    shared = pool(
        "shared", PoolProtocol.HTTP, Algorithm.ROUND_ROBIN, member("s-1", "2001:DB8:1::0:5", 8080)
    )
    return LoadBalancerSpec(
        id=uid("lb-v6"),
        vip_address="2001:db8::10",
        listeners=(
            listener("v6-http", ListenerProtocol.HTTP, 80, "proxy"),
            listener("v6-tcp", ListenerProtocol.TCP, 8443, "proxy2"),
            listener("v6-shared-a", ListenerProtocol.HTTP, 8080, "shared"),
            listener("v6-shared-b", ListenerProtocol.TCP, 8081, "shared"),
        ),
        pools=(proxy, proxy2, shared),
    )


def pool_tls() -> LoadBalancerSpec:
    """Re-encryption to members: Octavia's defaults, a single version with ALPN h2, and a
    TLS pool behind a TCP listener with an HTTPS monitor."""
    defaults = pool(
        "tls-defaults",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("tls-1", "10.0.0.21", 443),
        member("tls-2", "10.0.0.22", 443, backup=True),
        tls=PoolTlsSpec(
            versions=("TLSv1.2", "TLSv1.3"),
            ciphers=ApiSettings().default_pool_ciphers,
            alpn_protocols=("h2", "http/1.1", "http/1.0"),
        ),
    )
    modern = pool(
        "tls-modern",
        PoolProtocol.HTTP,
        Algorithm.LEAST_CONNECTIONS,
        member("tls-3", "10.0.0.23", 8443),
        tls=PoolTlsSpec(versions=("TLSv1.3",), alpn_protocols=("h2",)),
    )
    legacy = pool(
        "tls-legacy",
        PoolProtocol.TCP,
        Algorithm.ROUND_ROBIN,
        member("tls-4", "10.0.0.24", 443),
        health_monitor=monitor("tls-hm", HealthMonitorType.HTTPS, url_path="/"),
        tls=PoolTlsSpec(
            versions=("TLSv1", "TLSv1.1", "TLSv1.2"), ciphers="HIGH:!aNULL:!MD5:@STRENGTH"
        ),
    )
    return lb(
        listeners=(
            listener("tls-http", ListenerProtocol.HTTP, 80, "tls-defaults"),
            listener("tls-http2", ListenerProtocol.HTTP, 8080, "tls-modern"),
            listener("tls-tcp", ListenerProtocol.TCP, 443, "tls-legacy"),
        ),
        pools=(defaults, modern, legacy),
    )


@functools.cache
def golden_tls_files() -> tuple[tuple[str, bytes], ...]:
    """Real PEM files for the TLS cases (their content is not in the config, so the
    goldens stay stable; `haproxy -c` loads them)."""
    site_ca = make_ca("Golden site CA")
    client_ca = make_ca("Golden client CA")
    member_ca = make_ca("Golden member CA")
    return (
        ("www-default.pem", b"".join(make_server_cert(site_ca, ["www.example.com"]))),
        ("api-sni.pem", b"".join(make_server_cert(site_ca, ["api.example.com"]))),
        ("client-ca.pem", cert_pem(client_ca[0])),
        ("client-ca-crl.pem", make_crl(client_ca)),
        ("lb-client.pem", b"".join(make_server_cert(member_ca, [], common_name="lb-client"))),
        ("member-ca.pem", cert_pem(member_ca[0])),
        ("member-ca-crl.pem", make_crl(member_ca)),
    )


_TLS_HEADERS = (
    "X-SSL-Client-Verify",
    "X-SSL-Client-Has-Cert",
    "X-SSL-Client-DN",
    "X-SSL-Client-CN",
    "X-SSL-Issuer",
    "X-SSL-Client-SHA1",
    "X-SSL-Client-Not-Before",
    "X-SSL-Client-Not-After",
)


def terminated_https() -> LoadBalancerSpec:
    """TLS termination on two VIPs: SNI, mandatory client certificates with a CRL, HSTS,
    every TLS header, SSL L7 rules, a PROXYV2 pool (`-ssl-cn`); an OPTIONAL listener
    and one with a client CA but NONE (Octavia's `verify none`)."""
    web = pool(
        "tls-web",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("tls-web-1", "10.0.7.1"),
        member("tls-web-2", "10.0.7.2"),
    )
    proxied = pool(
        "tls-proxyv2",
        PoolProtocol.PROXYV2,
        Algorithm.ROUND_ROBIN,
        member("tls-pv2-1", "10.0.7.3", 80),
    )
    ops_only = L7PolicySpec(
        id=uid("tls-ops"),
        action=L7PolicyAction.REDIRECT_TO_POOL,
        position=1,
        redirect_pool_id=uid("tls-proxyv2"),
        rules=(
            L7RuleSpec(
                id=uid("tls-has-cert"),
                type=L7RuleType.SSL_CONN_HAS_CERT,
                compare_type=L7RuleCompareType.EQUAL_TO,
                value="tls",
            ),
            L7RuleSpec(
                id=uid("tls-verified"),
                type=L7RuleType.SSL_VERIFY_RESULT,
                compare_type=L7RuleCompareType.EQUAL_TO,
                value="0",
            ),
            L7RuleSpec(
                id=uid("tls-ou"),
                type=L7RuleType.SSL_DN_FIELD,
                compare_type=L7RuleCompareType.EQUAL_TO,
                value="ops",
                key="OU",
            ),
        ),
    )
    mtls = listener(
        "https-mtls",
        ListenerProtocol.TERMINATED_HTTPS,
        443,
        "tls-web",
        insert_headers=(
            ("X-Forwarded-For", "true"),
            ("X-Forwarded-Proto", "true"),
            *((name, "true") for name in _TLS_HEADERS),
        ),
        l7policies=(ops_only,),
        tls=ListenerTlsSpec(
            certificates=("www-default.pem", "api-sni.pem"),
            client_ca="client-ca.pem",
            client_crl="client-ca-crl.pem",
            client_authentication="MANDATORY",
            versions=("TLSv1.2", "TLSv1.3"),
            ciphers=ApiSettings().default_listener_ciphers,
            alpn_protocols=("h2", "http/1.1", "http/1.0"),
            hsts_max_age=31536000,
            hsts_include_subdomains=True,
            hsts_preload=True,
        ),
    )
    optional = listener(
        "https-optional",
        ListenerProtocol.TERMINATED_HTTPS,
        8443,
        "tls-proxyv2",
        insert_headers=(("X-SSL-Client-Has-Cert", "true"), ("X-SSL-Client-CN", "false")),
        tls=ListenerTlsSpec(
            certificates=("www-default.pem",),
            client_ca="client-ca.pem",
            client_authentication="OPTIONAL",
            hsts_max_age=0,
        ),
    )
    ca_none = listener(
        "https-ca-none",
        ListenerProtocol.TERMINATED_HTTPS,
        9443,
        "tls-web",
        insert_headers=(("X-Forwarded-Proto", "true"),),
        tls=ListenerTlsSpec(certificates=("api-sni.pem",), client_ca="client-ca.pem"),
    )
    return LoadBalancerSpec(
        id=uid("lb-tls"),
        vip_address="203.0.113.10",
        additional_vips=("198.51.100.10", "2001:db8::10"),
        listeners=(mtls, optional, ca_none),
        pools=(web, proxied),
        tls_files=golden_tls_files(),
    )


def pool_tls_files() -> LoadBalancerSpec:
    """Re-encryption with files: client certificate + CA + CRL (`verify required`, the
    HTTPS monitor verifies the same way), CA only, client certificate only."""
    full = pool(
        "tls-full",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("tls-full-1", "10.0.8.1", 443),
        member("tls-full-2", "10.0.8.2", 443, monitor_port=8443),
        health_monitor=monitor("tls-full-hm", HealthMonitorType.HTTPS, url_path="/health"),
        tls=PoolTlsSpec(
            versions=("TLSv1.2", "TLSv1.3"),
            alpn_protocols=("h2", "http/1.1"),
            certificate="lb-client.pem",
            ca="member-ca.pem",
            crl="member-ca-crl.pem",
        ),
    )
    ca_only = pool(
        "tls-ca-only",
        PoolProtocol.HTTP,
        Algorithm.LEAST_CONNECTIONS,
        member("tls-ca-1", "10.0.8.3", 443),
        tls=PoolTlsSpec(ca="member-ca.pem"),
    )
    crt_only = pool(
        "tls-crt-only",
        PoolProtocol.TCP,
        Algorithm.ROUND_ROBIN,
        member("tls-crt-1", "10.0.8.4", 443),
        health_monitor=monitor("tls-crt-hm", HealthMonitorType.HTTPS, url_path="/"),
        tls=PoolTlsSpec(certificate="lb-client.pem"),
    )
    return LoadBalancerSpec(
        id=uid("lb-pool-tls-files"),
        vip_address="203.0.113.10",
        listeners=(
            listener("tls-full-l", ListenerProtocol.HTTP, 80, "tls-full"),
            listener("tls-ca-only-l", ListenerProtocol.HTTP, 81, "tls-ca-only"),
            listener("tls-crt-only-l", ListenerProtocol.TCP, 82, "tls-crt-only"),
        ),
        pools=(full, ca_only, crt_only),
        tls_files=golden_tls_files(),
    )


def passthrough_and_prometheus() -> LoadBalancerSpec:
    """HTTPS passthrough (mode tcp: SOURCE_IP kept, cookies and headers dropped), a TLS-HELLO
    and an HTTPS monitor, PROXYV2 behind HTTPS, and a PROMETHEUS listener."""
    tls_pool = pool(
        "pt-https",
        PoolProtocol.HTTPS,
        Algorithm.SOURCE_IP,
        member("pt-1", "10.0.7.1", 8443),
        member("pt-2", "10.0.7.2", 8443, backup=True),
        health_monitor=monitor("pt-hello", HealthMonitorType.TLS_HELLO),
        session_persistence=SessionPersistenceSpec(SessionPersistenceType.SOURCE_IP),
    )
    cookie_pool = pool(
        "pt-cookie",
        PoolProtocol.HTTPS,
        Algorithm.ROUND_ROBIN,
        member("pt-cookie-1", "10.0.7.3", 443),
        health_monitor=monitor("pt-https-hm", HealthMonitorType.HTTPS, url_path="/health"),
        session_persistence=SessionPersistenceSpec(SessionPersistenceType.HTTP_COOKIE),
    )
    proxy_pool = pool(
        "pt-proxyv2", PoolProtocol.PROXYV2, Algorithm.ROUND_ROBIN, member("pt-pp-1", "10.0.7.4")
    )
    return lb(
        listeners=(
            listener(
                "pt-443",
                ListenerProtocol.HTTPS,
                443,
                "pt-https",
                allowed_cidrs=("192.0.2.0/24",),
                timeout_client_data_ms=30000,
                timeout_tcp_inspect_ms=1000,
            ),
            listener("pt-tcp", ListenerProtocol.TCP, 8443, "pt-cookie"),
            listener("pt-proxy", ListenerProtocol.HTTPS, 9443, "pt-proxyv2"),
            listener(
                "metrics",
                ListenerProtocol.PROMETHEUS,
                9100,
                None,
                connection_limit=10,
                allowed_cidrs=("198.51.100.0/24",),
            ),
        ),
        pools=(tls_pool, cookie_pool, proxy_pool),
    )


def active_standby_peers() -> LoadBalancerSpec:
    """ACTIVE_STANDBY: the pair's `peers` section, stick tables synced through it."""
    return dataclasses.replace(
        persistence(),
        peers=((RUNTIME.amphora_id, "10.0.0.11"), (uid("other-amphora"), "10.0.0.12")),
    )


CASES: dict[str, Callable[[], LoadBalancerSpec]] = {
    "active_standby_peers": active_standby_peers,
    "passthrough_and_prometheus": passthrough_and_prometheus,
    "terminated_https": terminated_https,
    "pool_tls_files": pool_tls_files,
    "pool_tls": pool_tls,
    "http_simple": http_simple,
    "algorithms": algorithms,
    "monitors": monitors,
    "persistence": persistence,
    "headers_and_cidrs": headers_and_cidrs,
    "disabled_objects": disabled_objects,
    "lb_disabled": lb_disabled,
    "ipv6_proxy": ipv6_proxy,
}


def with_local_tls_files(text: str, directory: Path) -> str:
    """`text` naming TLS files in `directory` (written there) instead of the amphora's."""
    certs = directory / "certs"
    certs.mkdir(exist_ok=True)
    for name, data in golden_tls_files():
        (certs / name).write_bytes(data)
    return text.replace(f"{RUNTIME.base_dir}/certs/", f"{certs}/")


def haproxy_check(text: str, tmp_path: Path) -> tuple[int, list[str]]:
    """(exit code, warning/alert lines other than the absent state file) of `haproxy -c`."""
    path = tmp_path / "haproxy.cfg"
    path.write_text(with_local_tls_files(text, tmp_path))
    done = subprocess.run(
        [HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    lines = (done.stdout + done.stderr).splitlines()
    problems = [
        line
        for line in lines
        if ("[WARNING]" in line or "[ALERT]" in line) and "server state file" not in line
    ]
    return done.returncode, problems


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str, tmp_path: Path) -> None:
    text = render_haproxy(CASES[name](), runtime=RUNTIME, defaults=DEFAULTS)
    golden = GOLDEN_DIR / f"{name}.cfg"
    if REGENERATE:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        golden.write_text(text)
    assert golden.exists(), f"{golden} missing: run with STATERA_REGEN_GOLDEN=1"
    assert text == golden.read_text()


@pytest.mark.skipif(not Path(HAPROXY).exists(), reason="no haproxy")
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_is_valid_haproxy(name: str, tmp_path: Path) -> None:
    code, problems = haproxy_check((GOLDEN_DIR / f"{name}.cfg").read_text(), tmp_path)
    assert code == 0, problems
    assert problems == []


@pytest.mark.skipif(not Path(HAPROXY).exists(), reason="no haproxy")
def test_haproxy_check_catches_a_broken_config(tmp_path: Path) -> None:
    """The validity test above can fail: a broken line is reported."""
    text = (
        (GOLDEN_DIR / "http_simple.cfg")
        .read_text()
        .replace("balance roundrobin", "balance nonsense")
    )
    code, problems = haproxy_check(text, tmp_path)
    assert code != 0
    assert problems
