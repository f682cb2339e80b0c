"""L7 policies and rules in haproxy.cfg: golden files, Octavia's order, escaping.

The golden cases share the builders of `test_rendering_golden.py` and are
regenerated the same way (`STATERA_REGEN_GOLDEN=1`). The injection tests feed
hostile values and keys through the renderer and check that each still makes
exactly one ACL line (and a file `haproxy -c` accepts), or is refused.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.unit.rendering.test_rendering_golden import (
    DEFAULTS,
    GOLDEN_DIR,
    HAPROXY,
    REGENERATE,
    RUNTIME,
    haproxy_check,
    lb,
    listener,
    member,
    pool,
    uid,
)

from statera.domain.enums import (
    Algorithm,
    L7PolicyAction,
    L7RuleCompareType,
    L7RuleType,
    ListenerProtocol,
    PoolProtocol,
)
from statera.domain.specs import L7PolicySpec, L7RuleSpec, LoadBalancerSpec
from statera.rendering import render_haproxy
from statera.rendering.errors import UnsafeValue
from statera.rendering.haproxy import rendered_backends

T = L7RuleType
C = L7RuleCompareType
A = L7PolicyAction


def rule(
    name: str, kind: L7RuleType, compare: L7RuleCompareType, value: str, **kw: object
) -> L7RuleSpec:
    return L7RuleSpec(id=uid(name), type=kind, compare_type=compare, value=value, **kw)  # type: ignore[arg-type]


def policy(
    name: str, action: L7PolicyAction, position: int, *rules: L7RuleSpec, **kw: object
) -> L7PolicySpec:
    return L7PolicySpec(id=uid(name), action=action, position=position, rules=rules, **kw)  # type: ignore[arg-type]


def with_policies(*policies: L7PolicySpec, extra_pools: int = 1) -> LoadBalancerSpec:
    web = pool("web", PoolProtocol.HTTP, Algorithm.ROUND_ROBIN, member("web-1", "10.0.0.11"))
    api = pool("api", PoolProtocol.HTTP, Algorithm.ROUND_ROBIN, member("api-1", "10.0.0.21"))
    off = pool(
        "off",
        PoolProtocol.HTTP,
        Algorithm.ROUND_ROBIN,
        member("off-1", "10.0.0.31"),
        admin_state_up=False,
    )
    front = listener("http", ListenerProtocol.HTTP, 80, "web", l7policies=policies)
    return lb(listeners=(front,), pools=(web, api, off)[: 1 + extra_pools + 1])


def l7_actions() -> LoadBalancerSpec:
    """Every action; REJECT first, then redirects, then pools, each by position.

    Not rendered: a disabled policy, a policy without rules, one whose only
    rule is disabled, one redirecting to a disabled pool."""
    return with_policies(
        policy(
            "to-api",
            A.REDIRECT_TO_POOL,
            1,
            rule("api-path", T.PATH, C.STARTS_WITH, "/api"),
            redirect_pool_id=uid("api"),
        ),
        policy(
            "to-url",
            A.REDIRECT_TO_URL,
            2,
            rule("old-path", T.PATH, C.EQUAL_TO, "/old"),
            redirect_url="https://example.com/new?a=1&b=%20",
            redirect_http_code=301,
        ),
        policy(
            "to-prefix",
            A.REDIRECT_PREFIX,
            3,
            rule("legacy-host", T.HOST_NAME, C.ENDS_WITH, ".legacy.example"),
            redirect_prefix="https://www.example.com",
            redirect_http_code=308,
        ),
        policy(
            "reject",
            A.REJECT,
            4,
            rule("bad-agent", T.HEADER, C.CONTAINS, "curl", key="User-Agent"),
            rule("not-admin", T.COOKIE, C.EQUAL_TO, "admin", key="role", invert=True),
        ),
        policy(
            "disabled", A.REJECT, 5, rule("d-1", T.PATH, C.STARTS_WITH, "/d"), admin_state_up=False
        ),
        policy("no-rules", A.REJECT, 6),
        policy(
            "rule-off",
            A.REJECT,
            7,
            rule("off-rule", T.PATH, C.STARTS_WITH, "/x", admin_state_up=False),
        ),
        policy(
            "to-off",
            A.REDIRECT_TO_POOL,
            8,
            rule("off-path", T.PATH, C.STARTS_WITH, "/off"),
            redirect_pool_id=uid("off"),
        ),
    )


def l7_rule_types() -> LoadBalancerSpec:
    """Every rule type and compare type (the SSL ones are false on plain HTTP)."""
    rules = (
        rule("host-eq", T.HOST_NAME, C.EQUAL_TO, "www.example.com"),
        rule("host-re", T.HOST_NAME, C.REGEX, r"^api\d+\.example\.com$"),
        rule("path-beg", T.PATH, C.STARTS_WITH, "/static"),
        rule("path-end", T.PATH, C.ENDS_WITH, "/index.html"),
        rule("path-sub", T.PATH, C.CONTAINS, "admin"),
        rule("file-eq", T.FILE_TYPE, C.EQUAL_TO, "jpg"),
        rule("file-re", T.FILE_TYPE, C.REGEX, "^(png|gif)$"),
        rule("hdr-re", T.HEADER, C.REGEX, "^Mozilla/[0-9]", key="User-Agent"),
        rule("cookie-beg", T.COOKIE, C.STARTS_WITH, "beta-", key="channel", invert=True),
        rule("ssl-cert", T.SSL_CONN_HAS_CERT, C.EQUAL_TO, "true"),
        rule("ssl-verify", T.SSL_VERIFY_RESULT, C.EQUAL_TO, "0"),
        rule("ssl-dn", T.SSL_DN_FIELD, C.EQUAL_TO, "client-1", key="CN"),
    )
    return with_policies(
        *(policy(f"p-{r.id}", A.REJECT, i, r) for i, r in enumerate(rules, start=1)),
        extra_pools=0,
    )


HOSTILE_VALUES = (
    "a b",
    'say "hi"',
    "it's",
    "#comment",
    "$HOME ${PATH}",
    "back\\slash",
    "-f /etc/passwd",
    "tab\there",
    '"quoted value"',
    "ünïcödé",
    "x if TRUE",
)


def l7_escaping() -> LoadBalancerSpec:
    """Values HAProxy's tokenizer would read specially, each escaped into one word."""
    rules = tuple(
        rule(f"hostile-{i}", T.HEADER, C.EQUAL_TO, value, key="X-Test")
        for i, value in enumerate(HOSTILE_VALUES)
    )
    regex = rule("regex", T.PATH, C.REGEX, r"^/a\.b [c]+\d$")
    return with_policies(
        *(policy(f"esc-{r.id}", A.REJECT, i, r) for i, r in enumerate((*rules, regex), start=1)),
        policy(
            "esc-url",
            A.REDIRECT_TO_URL,
            99,
            rule("esc-url-rule", T.PATH, C.EQUAL_TO, "/u"),
            redirect_url="https://example.com/$x#frag'\"",
            redirect_http_code=303,
        ),
        extra_pools=0,
    )


CASES: dict[str, Callable[[], LoadBalancerSpec]] = {
    "l7_actions": l7_actions,
    "l7_rule_types": l7_rule_types,
    "l7_escaping": l7_escaping,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    text = render_haproxy(CASES[name](), runtime=RUNTIME, defaults=DEFAULTS)
    golden = GOLDEN_DIR / f"{name}.cfg"
    if REGENERATE:
        golden.write_text(text)
    assert golden.exists(), f"{golden} missing: run with STATERA_REGEN_GOLDEN=1"
    assert text == golden.read_text()


@pytest.mark.skipif(not Path(HAPROXY).exists(), reason="no haproxy")
@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_is_valid_haproxy(name: str, tmp_path: Path) -> None:
    code, problems = haproxy_check((GOLDEN_DIR / f"{name}.cfg").read_text(), tmp_path)
    assert code == 0, problems
    assert problems == []


def frontend_lines(text: str) -> list[str]:
    start = text.index("\nfrontend ")
    end = text.index("\nbackend ", start)
    return [line.strip() for line in text[start:end].strip().splitlines()[1:]]


def test_octavia_order_first_match_wins() -> None:
    lines = frontend_lines(render_haproxy(l7_actions(), runtime=RUNTIME, defaults=DEFAULTS))
    actions = [
        line.split()[0]
        for line in lines
        if line.split()[0] in ("http-request", "redirect", "use_backend")
    ]
    assert actions == ["http-request", "redirect", "redirect", "use_backend"]
    deny = next(line for line in lines if line.startswith("http-request deny"))
    assert deny == f"http-request deny if {uid('bad-agent')} !{uid('not-admin')}"
    assert f"use_backend {uid('api')}:{uid('http')} if {uid('api-path')}" in lines
    assert f"default_backend {uid('web')}:{uid('http')}" in lines
    for skipped in ("d-1", "off-rule", "off-path"):
        assert uid(skipped) not in "\n".join(lines)


def test_redirect_pool_gets_its_own_backend() -> None:
    names = [b.name for b in rendered_backends(l7_actions())]
    assert names == [f"{uid('web')}:{uid('http')}", f"{uid('api')}:{uid('http')}"]


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_hostile_value_stays_one_pattern(value: str) -> None:
    spec = with_policies(
        policy("p", A.REJECT, 1, rule("r", T.HEADER, C.EQUAL_TO, value, key="X-Test")),
        extra_pools=0,
    )
    text = render_haproxy(spec, runtime=RUNTIME, defaults=DEFAULTS)
    benign = render_haproxy(
        with_policies(
            policy("p", A.REJECT, 1, rule("r", T.HEADER, C.EQUAL_TO, "ok", key="X-Test")),
            extra_pools=0,
        ),
        runtime=RUNTIME,
        defaults=DEFAULTS,
    )
    assert len(text.splitlines()) == len(benign.splitlines())
    acl = next(line.split() for line in frontend_lines(text) if line.startswith("acl "))
    assert acl[:5] == ["acl", uid("r"), "req.hdr(X-Test)", "-m", "str"]
    assert acl[5] == "--" and len(acl) == 7
    assert all(c not in acl[6] for c in " \t\"'#$")


@pytest.mark.parametrize("value", ["a\nhttp-request deny", "a\rb", "nul\x00", ""])
def test_unrepresentable_values_are_refused(value: str) -> None:
    spec = with_policies(
        policy("p", A.REJECT, 1, rule("r", T.PATH, C.EQUAL_TO, value)), extra_pools=0
    )
    with pytest.raises(UnsafeValue):
        render_haproxy(spec, runtime=RUNTIME, defaults=DEFAULTS)


@pytest.mark.parametrize("key", ["X Test", "X-Test)", "a#b", "x,1", "it's", "a\nb", "", "$HOME"])
def test_unsafe_keys_are_refused(key: str) -> None:
    spec = with_policies(
        policy("p", A.REJECT, 1, rule("r", T.HEADER, C.EQUAL_TO, "v", key=key)), extra_pools=0
    )
    with pytest.raises(UnsafeValue):
        render_haproxy(spec, runtime=RUNTIME, defaults=DEFAULTS)


def test_newline_in_redirect_url_is_refused() -> None:
    spec = with_policies(
        policy(
            "p",
            A.REDIRECT_TO_URL,
            1,
            rule("r", T.PATH, C.EQUAL_TO, "/"),
            redirect_url="https://a/\nhttp-request deny",
        ),
        extra_pools=0,
    )
    with pytest.raises(UnsafeValue):
        render_haproxy(spec, runtime=RUNTIME, defaults=DEFAULTS)


def test_tcp_listener_renders_no_policies() -> None:
    spec = l7_actions()
    tcp = dataclasses.replace(spec.listeners[0], protocol=ListenerProtocol.TCP)
    text = render_haproxy(
        dataclasses.replace(spec, listeners=(tcp,)), runtime=RUNTIME, defaults=DEFAULTS
    )
    assert "acl " not in text and "use_backend" not in text


def test_runtime_reloads_when_l7_changes() -> None:
    from statera.rendering.runtime import runtime_commands

    old = l7_actions()
    front = old.listeners[0]
    changed_rule = dataclasses.replace(
        front.l7policies[0],
        rules=(dataclasses.replace(front.l7policies[0].rules[0], value="/v2"),),
    )
    for new_policies in (
        (changed_rule, *front.l7policies[1:]),  # a rule's value
        front.l7policies[1:],  # a policy gone
        (dataclasses.replace(front.l7policies[0], position=9), *front.l7policies[1:]),
    ):
        new_front = dataclasses.replace(front, l7policies=new_policies)
        new = dataclasses.replace(old, listeners=(new_front,))
        assert runtime_commands(old, new) is None
    assert runtime_commands(old, old) == []


def test_runtime_adds_members_to_a_redirect_pool_backend() -> None:
    from statera.rendering.runtime import runtime_commands

    old = l7_actions()
    api = old.pools[1]
    grown = dataclasses.replace(api, members=(*api.members, member("api-2", "10.0.0.22")))
    new = dataclasses.replace(old, pools=(old.pools[0], grown, *old.pools[2:]))
    commands = runtime_commands(old, new)
    assert commands is not None
    assert commands[0].startswith(f"add server {uid('api')}:{uid('http')}/{uid('api-2')} ")
