"""No user-supplied value can add, end or change a directive in haproxy.cfg.

Each case puts a hostile value (newline + directive, spaces, quotes, `#`,
backslash) into one field of an otherwise valid spec and expects the renderer
to refuse it, naming the field. Values that never reach the file (an insert
header's value) are shown not to appear in it.
"""

import dataclasses
import uuid
from collections.abc import Callable

import jinja2
import pytest

from statera.domain.enums import (
    Algorithm,
    HealthMonitorType,
    ListenerProtocol,
    PoolProtocol,
    SessionPersistenceType,
)
from statera.domain.specs import (
    AmphoraRuntime,
    HaproxyDefaults,
    HealthMonitorSpec,
    ListenerSpec,
    LoadBalancerSpec,
    MemberSpec,
    PoolSpec,
    SessionPersistenceSpec,
)
from statera.rendering import UnsafeValue, render_haproxy
from statera.rendering.environment import environment
from statera.rendering.safety import expected_codes_regex

INJECTED = "6.6.6.6:80"
"""A marker that must never appear in a rendered file."""
HOSTILE = (
    f"x\n    server evil {INJECTED}",
    f"x\r\nserver evil {INJECTED}",
    "x y",
    'x"y',
    "x'y",
    "x#y",
    "x\\ny",
    "x\ty",
    "x\x00y",
)

RUNTIME = AmphoraRuntime(amphora_id=str(uuid.uuid4()), base_dir="/var/lib/statera/amp-1")


def base_spec() -> LoadBalancerSpec:
    monitor = HealthMonitorSpec(
        id=str(uuid.uuid4()),
        type=HealthMonitorType.HTTP,
        delay_s=5,
        timeout_s=3,
        max_retries=2,
        max_retries_down=3,
        http_method="GET",
        url_path="/health",
        expected_codes="200",
        http_version=1.1,
        domain_name="example.com",
    )
    pool = PoolSpec(
        id=str(uuid.uuid4()),
        protocol=PoolProtocol.HTTP,
        lb_algorithm=Algorithm.ROUND_ROBIN,
        members=(
            MemberSpec(
                id=str(uuid.uuid4()),
                address="10.0.0.5",
                protocol_port=80,
                monitor_address="10.0.0.6",
                monitor_port=81,
            ),
        ),
        health_monitor=monitor,
        session_persistence=SessionPersistenceSpec(SessionPersistenceType.APP_COOKIE, "SESSION"),
    )
    listener = ListenerSpec(
        id=str(uuid.uuid4()),
        protocol=ListenerProtocol.HTTP,
        protocol_port=80,
        default_pool_id=pool.id,
        allowed_cidrs=("10.0.0.0/8",),
        insert_headers=(("X-Forwarded-For", "true"),),
    )
    return LoadBalancerSpec(
        id=str(uuid.uuid4()), vip_address="203.0.113.5", listeners=(listener,), pools=(pool,)
    )


def render(spec: LoadBalancerSpec, runtime: AmphoraRuntime = RUNTIME) -> str:
    return render_haproxy(spec, runtime=runtime, defaults=HaproxyDefaults())


# Spec editors: each sets one field of base_spec() to `value`.
def _listener(spec: LoadBalancerSpec, **kw: object) -> LoadBalancerSpec:
    return dataclasses.replace(spec, listeners=(dataclasses.replace(spec.listeners[0], **kw),))  # type: ignore[arg-type]


def _pool(spec: LoadBalancerSpec, **kw: object) -> LoadBalancerSpec:
    return dataclasses.replace(spec, pools=(dataclasses.replace(spec.pools[0], **kw),))  # type: ignore[arg-type]


def _member(spec: LoadBalancerSpec, **kw: object) -> LoadBalancerSpec:
    pool = spec.pools[0]
    return _pool(spec, members=(dataclasses.replace(pool.members[0], **kw),))  # type: ignore[arg-type]


def _monitor(spec: LoadBalancerSpec, **kw: object) -> LoadBalancerSpec:
    monitor = spec.pools[0].health_monitor
    assert monitor is not None
    return _pool(spec, health_monitor=dataclasses.replace(monitor, **kw))  # type: ignore[arg-type]


def _listener_id(spec: LoadBalancerSpec, value: str) -> LoadBalancerSpec:
    return _listener(spec, id=value)


def _pool_id(spec: LoadBalancerSpec, value: str) -> LoadBalancerSpec:
    spec = _listener(spec, default_pool_id=value)
    return _pool(spec, id=value)


EDITORS: dict[str, tuple[str, Callable[[LoadBalancerSpec, str], LoadBalancerSpec]]] = {
    "lb id": ("load_balancer.id", lambda s, v: dataclasses.replace(s, id=v)),
    "vip": ("load_balancer.vip.address", lambda s, v: dataclasses.replace(s, vip_address=v)),
    "listener id": ("listener.id", _listener_id),
    "pool id": ("pool.id", _pool_id),
    "member id": ("member.id", lambda s, v: _member(s, id=v)),
    "member address": ("member.address", lambda s, v: _member(s, address=v)),
    "monitor address": ("member.monitor_address", lambda s, v: _member(s, monitor_address=v)),
    "allowed cidr": ("listener.allowed_cidrs", lambda s, v: _listener(s, allowed_cidrs=(v,))),
    "insert header name": (
        "listener.insert_headers",
        lambda s, v: _listener(s, insert_headers=((v, "true"),)),
    ),
    "url_path": ("health_monitor.url_path", lambda s, v: _monitor(s, url_path="/" + v)),
    "domain_name": ("health_monitor.domain_name", lambda s, v: _monitor(s, domain_name=v)),
    "http_method": ("health_monitor.http_method", lambda s, v: _monitor(s, http_method=v)),
    "expected_codes": (
        "health_monitor.expected_codes",
        lambda s, v: _monitor(s, expected_codes="200" + v),
    ),
    "cookie_name": (
        "session_persistence.cookie_name",
        lambda s, v: _pool(
            s, session_persistence=SessionPersistenceSpec(SessionPersistenceType.APP_COOKIE, v)
        ),
    ),
}


def test_base_spec_renders() -> None:
    """The cases below fail because of the hostile value, not the base spec."""
    text = render(base_spec())
    assert "stick match req.cook(SESSION)" in text
    assert "hdr Host example.com" in text


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
@pytest.mark.parametrize("editor", sorted(EDITORS))
def test_hostile_value_is_refused_and_named(editor: str, value: str) -> None:
    field, edit = EDITORS[editor]
    with pytest.raises(UnsafeValue) as refused:
        render(edit(base_spec(), value))
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("editor", "value"),
    [
        ("member address", "fe80::1%eth0\nserver evil 6.6.6.6:80"),  # ipaddress accepts this
        ("member address", "10.0.0.1:80"),
        ("member address", "example.com"),
        ("vip", "0.0.0.0 ssl"),
        ("allowed cidr", "10.0.0.0/8 0.0.0.0/0"),
        ("listener id", "not-a-uuid"),
        ("url_path", "a{b}"),  # braces are not URL characters
        ("http_method", "get"),
        ("http_method", "FOO"),
        ("expected_codes", "-100"),
        ("expected_codes", ",20"),
        ("domain_name", "-bad-.example"),
        ("cookie_name", "a,b"),
        ("cookie_name", "a)b"),
        ("cookie_name", "$Version"),
        ("cookie_name", ""),
    ],
)
def test_malformed_value_is_refused(editor: str, value: str) -> None:
    field, edit = EDITORS[editor]
    with pytest.raises(UnsafeValue) as refused:
        render(edit(base_spec(), value))
    assert refused.value.field == field


def test_url_path_must_start_with_a_slash() -> None:
    with pytest.raises(UnsafeValue, match="url_path"):
        render(_monitor(base_spec(), url_path="health"))


@pytest.mark.parametrize(
    "base_dir",
    ["/var/lib/x y", "relative/dir", "/var/lib/x\nexternal-check", "/a/../b", "/" + "d" * 120],
)
def test_unsafe_runtime_paths_are_refused(base_dir: str) -> None:
    with pytest.raises(UnsafeValue, match=r"runtime\."):
        render(base_spec(), AmphoraRuntime(amphora_id=RUNTIME.amphora_id, base_dir=base_dir))


def test_insert_header_value_never_reaches_the_file() -> None:
    """Only fixed text is written for a header; its value only switches it on or off."""
    spec = _listener(
        base_spec(),
        insert_headers=(
            ("X-Forwarded-For", f"true\n    server evil {INJECTED}"),
            ("X-Real-IP", f"yes {INJECTED}"),
        ),
    )
    text = render(spec)
    assert INJECTED not in text
    assert "X-Real-IP" not in text


@pytest.mark.parametrize("value", [-1, 65536, True, "80"])
def test_out_of_range_port_is_refused(value: object) -> None:
    with pytest.raises(UnsafeValue, match=r"member\.port"):
        render(_member(base_spec(), protocol_port=value))


def test_every_line_of_a_rendered_file_is_a_known_directive() -> None:
    """Structure check on a full render: no line begins with anything unexpected."""
    known = (
        "#", "global", "defaults", "frontend ", "backend ", "master-worker", "maxconn ",
        "stats socket ", "server-state-file ", "load-server-state-from-file ", "option ",
        "retries ", "timeout ", "mode ", "bind ", "acl ", "tcp-request ", "http-request ",
        "default_backend ", "balance ", "fullconn ", "stick", "http-check ", "server ",
    )  # fmt: skip
    for line in render(base_spec()).splitlines():
        assert line == "" or line.strip().startswith(known), line


@pytest.mark.parametrize("value", ["a\nb", "a#b", 'a"b', "a'b", "a\\b", "a\x7fb"])
def test_environment_refuses_unsafe_text_from_any_expression(value: str) -> None:
    """Last line of defence: even an unvalidated view-model value cannot pass."""
    template = environment().from_string("server {{ name }} 10.0.0.1:80\n")
    with pytest.raises(UnsafeValue):
        template.render(name=value)
    assert template.render(name="ok-name") == "server ok-name 10.0.0.1:80\n"


def test_environment_is_strict_about_undefined_names() -> None:
    with pytest.raises(jinja2.UndefinedError):
        environment().from_string("{{ missing }}").render()


@pytest.mark.parametrize(
    ("codes", "regex"),
    [
        ("200", "^200$"),
        ("200,202", "^(200|202)$"),
        ("200-204", "^(200|201|202|203|204)$"),
        ("301-301", "^301$"),
    ],
)
def test_expected_codes_become_anchored_regexes(codes: str, regex: str) -> None:
    assert expected_codes_regex("f", codes) == regex


@pytest.mark.parametrize("codes", ["204-200", "600", "20", "200-", "200,,202", "2OO"])
def test_bad_expected_codes_are_refused(codes: str) -> None:
    with pytest.raises(UnsafeValue):
        expected_codes_regex("f", codes)
