"""TLS termination and re-encryption with files: one rule per test (the goldens show whole files)."""

import dataclasses

import pytest
from tests.unit.rendering.test_rendering_haproxy import (
    RUNTIME,
    backend_header,
    make_lb,
    make_listener,
    make_pool,
    render,
    section,
)

from statera.domain.enums import HealthMonitorType, ListenerProtocol, PoolProtocol
from statera.domain.specs import HealthMonitorSpec, ListenerTlsSpec, MemberSpec, PoolTlsSpec
from statera.rendering import UnsafeValue, runtime_commands

CERTS = f"{RUNTIME.base_dir}/certs"
FILES = tuple((name, b"-----BEGIN X-----\n") for name in ("a.pem", "b.pem", "ca.pem", "crl.pem"))


def tls_listener(tls: ListenerTlsSpec | None, **kw: object) -> tuple[str, str]:
    """(the rendered config, the listener's frontend header) of one TERMINATED_HTTPS listener."""
    pool = make_pool()
    listener = make_listener(pool, ListenerProtocol.TERMINATED_HTTPS, port=443, tls=tls, **kw)
    return render(make_lb((listener, pool), tls_files=FILES)), f"frontend {listener.id}"


def bind_lines(text: str, header: str) -> list[str]:
    return [line for line in section(text, header) if line.startswith("bind ")]


def test_every_vip_binds_with_the_default_certificate_first() -> None:
    pool = make_pool()
    listener = make_listener(
        pool,
        ListenerProtocol.TERMINATED_HTTPS,
        port=443,
        tls=ListenerTlsSpec(certificates=("b.pem", "a.pem", "b.pem")),
    )
    text = render(
        make_lb((listener, pool), tls_files=FILES, additional_vips=("198.51.100.1", "2001:db8::1"))
    )
    binds = bind_lines(text, f"frontend {listener.id}")
    options = f"ssl crt {CERTS}/b.pem crt {CERTS}/a.pem"
    assert binds == [
        f"bind 192.0.2.1:443 {options}",
        f"bind 198.51.100.1:443 {options}",
        f"bind [2001:db8::1]:443 {options}",
    ]
    assert "mode http" in section(text, f"frontend {listener.id}")


@pytest.mark.parametrize(
    ("authentication", "verify"),
    [("NONE", "none"), ("OPTIONAL", "optional"), ("MANDATORY", "required")],
)
def test_client_authentication_words(authentication: str, verify: str) -> None:
    tls = ListenerTlsSpec(
        certificates=("a.pem",),
        client_ca="ca.pem",
        client_crl="crl.pem",
        client_authentication=authentication,
    )
    text, header = tls_listener(tls)
    assert bind_lines(text, header) == [
        f"bind 192.0.2.1:443 ssl crt {CERTS}/a.pem ca-file {CERTS}/ca.pem verify {verify} "
        f"crl-file {CERTS}/crl.pem"
    ]


def test_client_authentication_needs_a_ca() -> None:
    with pytest.raises(UnsafeValue, match="client CA"):
        tls_listener(ListenerTlsSpec(certificates=("a.pem",), client_authentication="OPTIONAL"))


def test_versions_ciphers_alpn_on_the_bind() -> None:
    tls = ListenerTlsSpec(
        certificates=("a.pem",),
        versions=("TLSv1.3", "TLSv1.2"),
        ciphers="ECDHE-ECDSA-AES128-GCM-SHA256",
        alpn_protocols=("h2", "http/1.1"),
    )
    text, header = tls_listener(tls)
    assert bind_lines(text, header)[0].endswith(
        "ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3 ciphers ECDHE-ECDSA-AES128-GCM-SHA256 "
        "alpn h2,http/1.1"
    )


@pytest.mark.parametrize(
    ("fields", "value"),
    [
        ({"hsts_max_age": 600}, "max-age=600;"),
        ({"hsts_max_age": 0, "hsts_preload": True}, "max-age=0; preload;"),
        (
            {"hsts_max_age": 31536000, "hsts_include_subdomains": True, "hsts_preload": True},
            "max-age=31536000; includeSubDomains; preload;",
        ),
    ],
)
def test_hsts_as_octavia_writes_it(fields: dict[str, object], value: str) -> None:
    text, header = tls_listener(ListenerTlsSpec(certificates=("a.pem",), **fields))  # type: ignore[arg-type]
    assert f'http-response set-header Strict-Transport-Security "{value}"' in section(text, header)


def test_no_hsts_without_max_age() -> None:
    text, _ = tls_listener(ListenerTlsSpec(certificates=("a.pem",), hsts_preload=True))
    assert "Strict-Transport-Security" not in text


def test_forwarded_proto_is_https_and_tls_headers_are_inserted() -> None:
    headers = (("X-Forwarded-Proto", "true"), ("X-SSL-Client-CN", "true"), ("X-SSL-Issuer", "no"))
    text, header = tls_listener(ListenerTlsSpec(certificates=("a.pem",)), insert_headers=headers)
    lines = section(text, header)
    assert "http-request set-header X-Forwarded-Proto https" in lines
    assert "http-request set-header X-SSL-Client-CN %{+Q}[ssl_c_s_dn(cn)]" in lines
    assert not any("X-SSL-Issuer" in line for line in lines)


@pytest.mark.parametrize("name", ["../x.pem", "a b.pem", "a.crt", "a..pem", "x/../a.pem", ""])
def test_unsafe_file_names_are_refused(name: str) -> None:
    with pytest.raises(UnsafeValue):
        tls_listener(ListenerTlsSpec(certificates=(name,)))


def test_a_name_must_be_among_the_uploaded_files() -> None:
    with pytest.raises(UnsafeValue, match="tls_files"):
        tls_listener(ListenerTlsSpec(certificates=("missing.pem",)))


def test_tls_on_another_protocol_is_refused() -> None:
    pool = make_pool()
    listener = make_listener(pool, tls=ListenerTlsSpec(certificates=("a.pem",)))
    with pytest.raises(UnsafeValue, match="TERMINATED_HTTPS"):
        render(make_lb((listener, pool), tls_files=FILES))


def test_proxy_v2_behind_tls_sends_the_client_cn() -> None:
    pool = make_pool(PoolProtocol.PROXYV2)
    listener = make_listener(
        pool, ListenerProtocol.TERMINATED_HTTPS, tls=ListenerTlsSpec(certificates=("a.pem",))
    )
    text = render(make_lb((listener, pool), tls_files=FILES))
    server = section(text, backend_header(pool, listener))[-1]
    assert server.endswith("weight 1 send-proxy-v2-ssl-cn")


def https_monitor() -> HealthMonitorSpec:
    return HealthMonitorSpec(
        id="00000000-0000-4000-8000-000000000001",
        type=HealthMonitorType.HTTPS,
        delay_s=5,
        timeout_s=2,
        max_retries=2,
        max_retries_down=3,
    )


@pytest.mark.parametrize(
    ("tls", "words"),
    [
        (PoolTlsSpec(), "ssl verify none sni ssl_fc_sni check check-ssl verify none"),
        (
            PoolTlsSpec(certificate="a.pem"),
            f"ssl crt {CERTS}/a.pem verify none sni ssl_fc_sni check check-ssl verify none",
        ),
        (
            PoolTlsSpec(ca="ca.pem"),
            f"ssl ca-file {CERTS}/ca.pem verify required sni ssl_fc_sni "
            "check check-ssl verify required",
        ),
        (
            PoolTlsSpec(certificate="a.pem", ca="ca.pem", crl="crl.pem"),
            f"ssl crt {CERTS}/a.pem ca-file {CERTS}/ca.pem crl-file {CERTS}/crl.pem "
            "verify required sni ssl_fc_sni check check-ssl verify required",
        ),
        (  # a CRL without a CA is ignored, as Octavia does
            PoolTlsSpec(crl="crl.pem"),
            "ssl verify none sni ssl_fc_sni check check-ssl verify none",
        ),
    ],
)
def test_pool_tls_files_and_verification(tls: PoolTlsSpec, words: str) -> None:
    pool = make_pool(health_monitor=https_monitor(), tls=tls)
    listener = make_listener(pool)
    text = render(make_lb((listener, pool), tls_files=FILES))
    server = section(text, backend_header(pool, listener))[-1]
    assert f"weight 1 {words} inter 5s fall 3 rise 2" in server


def test_runtime_adds_members_unless_the_pool_names_tls_files() -> None:
    """HAProxy 2.6 takes `add server ... crt/ca-file` only for files it has loaded."""
    first = MemberSpec(
        id="00000000-0000-4000-8000-0000000000a1", address="10.0.0.1", protocol_port=443
    )
    second = dataclasses.replace(
        first, id="00000000-0000-4000-8000-0000000000a2", address="10.0.0.2"
    )
    for tls, runtime_ok in ((PoolTlsSpec(), True), (PoolTlsSpec(ca="ca.pem"), False)):
        pool = make_pool(members=(first,), tls=tls)
        listener = make_listener(pool)
        old = make_lb((listener, pool), tls_files=FILES)
        grown = dataclasses.replace(
            old, pools=(dataclasses.replace(pool, members=(first, second)),)
        )
        commands = runtime_commands(old, grown)
        if runtime_ok:
            assert commands is not None
            assert "ssl verify none sni ssl_fc_sni" in commands[0]
        else:
            assert commands is None
        reweighted = dataclasses.replace(
            old, pools=(dataclasses.replace(pool, members=(dataclasses.replace(first, weight=5),)),)
        )
        assert runtime_commands(old, reweighted) is not None


def test_changed_file_content_needs_a_reload() -> None:
    pool = make_pool(tls=PoolTlsSpec(ca="ca.pem"))
    old = make_lb((make_listener(pool), pool), tls_files=FILES)
    rotated = dataclasses.replace(old, tls_files=(*FILES[:2], ("ca.pem", b"new"), FILES[3]))
    assert runtime_commands(old, rotated) is None
