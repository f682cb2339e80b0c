"""runtime_commands: exact command lists for member-only changes, None for anything else."""

import dataclasses
import uuid

import pytest

from statera.domain.enums import (
    Algorithm,
    HealthMonitorType,
    ListenerProtocol,
    PoolProtocol,
    SessionPersistenceType,
)
from statera.domain.specs import (
    HealthMonitorSpec,
    ListenerSpec,
    LoadBalancerSpec,
    MemberSpec,
    PoolSpec,
    SessionPersistenceSpec,
)
from statera.rendering import UnsafeValue, runtime_commands


def uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"statera-runtime/{name}"))


POOL, LISTENER = uid("pool"), uid("listener")
BACKEND = f"{POOL}:{LISTENER}"
M1, M2, M3 = uid("m1"), uid("m2"), uid("m3")


def member(member_id: str, address: str = "10.0.0.1", **kw: object) -> MemberSpec:
    return MemberSpec(id=member_id, address=address, protocol_port=80, **kw)  # type: ignore[arg-type]


def tcp_monitor(**kw: object) -> HealthMonitorSpec:
    fields: dict[str, object] = {
        "delay_s": 2,
        "timeout_s": 1,
        "max_retries": 2,
        "max_retries_down": 3,
    }
    fields.update(kw)
    return HealthMonitorSpec(id=uid("hm"), type=HealthMonitorType.TCP, **fields)  # type: ignore[arg-type]


def spec(*members: MemberSpec, generation: int = 1, **pool_kw: object) -> LoadBalancerSpec:
    fields: dict[str, object] = {
        "protocol": PoolProtocol.HTTP,
        "lb_algorithm": Algorithm.ROUND_ROBIN,
        "health_monitor": tcp_monitor(),
    }
    fields.update(pool_kw)
    pool = PoolSpec(id=POOL, members=members, **fields)  # type: ignore[arg-type]
    listener = ListenerSpec(
        id=LISTENER, protocol=ListenerProtocol.HTTP, protocol_port=80, default_pool_id=POOL
    )
    return LoadBalancerSpec(
        id=uid("lb"),
        vip_address="192.0.2.1",
        listeners=(listener,),
        pools=(pool,),
        generation=generation,
    )


def test_no_change_means_no_command() -> None:
    assert runtime_commands(spec(member(M1)), spec(member(M1), generation=2)) == []


def test_weight_and_admin_state() -> None:
    old = spec(member(M1), member(M2, "10.0.0.2"), member(M3, "10.0.0.3", admin_state_up=False))
    new = spec(
        member(M1, weight=5), member(M2, "10.0.0.2", admin_state_up=False), member(M3, "10.0.0.3")
    )
    assert runtime_commands(old, new) == [
        f"set server {BACKEND}/{M1} weight 5",
        f"set server {BACKEND}/{M2} state maint",
        f"set server {BACKEND}/{M3} state ready",
    ]


def test_added_member_gets_the_config_line_then_health_then_traffic() -> None:
    added = member(M2, "10.0.0.2", weight=3, monitor_address="10.0.9.2", monitor_port=8080)
    assert runtime_commands(spec(member(M1)), spec(member(M1), added)) == [
        f"add server {BACKEND}/{M2} 10.0.0.2:80 weight 3 check inter 2s fall 3 rise 2"
        " addr 10.0.9.2 port 8080",
        f"enable health {BACKEND}/{M2}",
        f"enable server {BACKEND}/{M2}",
    ]


def test_added_admin_down_member_stays_in_maintenance() -> None:
    added = member(M2, "10.0.0.2", admin_state_up=False)
    commands = runtime_commands(spec(member(M1)), spec(member(M1), added))
    assert commands == [
        f"add server {BACKEND}/{M2} 10.0.0.2:80 weight 1 check inter 2s fall 3 rise 2",
        f"enable health {BACKEND}/{M2}",
    ]


def test_added_member_without_monitor_has_no_check() -> None:
    added = member(M2, "2001:db8::2", backup=True)
    commands = runtime_commands(
        spec(member(M1), health_monitor=None, protocol=PoolProtocol.PROXYV2),
        spec(member(M1), added, health_monitor=None, protocol=PoolProtocol.PROXYV2),
    )
    assert commands == [
        f"add server {BACKEND}/{M2} [2001:db8::2]:80 weight 1 backup send-proxy-v2",
        f"enable server {BACKEND}/{M2}",
    ]


def test_removed_member_is_drained_then_deleted_after_the_rest() -> None:
    old = spec(member(M1), member(M2, "10.0.0.2"))
    new = spec(member(M1, weight=2), member(M3, "10.0.0.3"))
    assert runtime_commands(old, new) == [
        f"add server {BACKEND}/{M3} 10.0.0.3:80 weight 1 check inter 2s fall 3 rise 2",
        f"enable health {BACKEND}/{M3}",
        f"enable server {BACKEND}/{M3}",
        f"set server {BACKEND}/{M1} weight 2",
        f"set server {BACKEND}/{M2} state maint",
        f"del server {BACKEND}/{M2}",
    ]


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_every_algorithm_we_render_allows_adding(algorithm: Algorithm) -> None:
    commands = runtime_commands(
        spec(member(M1), lb_algorithm=algorithm),
        spec(member(M1), member(M2, "10.0.0.2"), lb_algorithm=algorithm),
    )
    assert commands is not None
    assert commands[0].startswith(f"add server {BACKEND}/{M2} ")


def test_cookie_pool_changes_weights_but_reloads_to_add() -> None:
    cookie = SessionPersistenceSpec(SessionPersistenceType.HTTP_COOKIE)
    old = spec(member(M1), member(M2, "10.0.0.2"), session_persistence=cookie)
    reweighted = spec(member(M1, weight=4), session_persistence=cookie)
    assert runtime_commands(old, reweighted) == [
        f"set server {BACKEND}/{M1} weight 4",
        f"set server {BACKEND}/{M2} state maint",
        f"del server {BACKEND}/{M2}",
    ]
    grown = spec(
        member(M1), member(M2, "10.0.0.2"), member(M3, "10.0.0.3"), session_persistence=cookie
    )
    assert runtime_commands(old, grown) is None


def test_ping_pool_reloads_to_add_unless_its_monitor_is_off() -> None:
    ping = dataclasses.replace(tcp_monitor(), type=HealthMonitorType.PING)
    assert (
        runtime_commands(
            spec(member(M1), health_monitor=ping), spec(member(M1), member(M2), health_monitor=ping)
        )
        is None
    )
    off = dataclasses.replace(ping, admin_state_up=False)
    assert runtime_commands(
        spec(member(M1), health_monitor=off), spec(member(M1), member(M2), health_monitor=off)
    ) == [f"add server {BACKEND}/{M2} 10.0.0.1:80 weight 1", f"enable server {BACKEND}/{M2}"]


@pytest.mark.parametrize(
    "change",
    [
        {"address": "10.0.0.9"},
        {"protocol_port": 81},
        {"backup": True},
        {"monitor_address": "10.0.0.8"},
        {"monitor_port": 9000},
    ],
)
def test_member_fields_that_need_a_reload(change: dict[str, object]) -> None:
    old = spec(member(M1))
    new = spec(dataclasses.replace(member(M1), **change))  # type: ignore[arg-type]
    assert runtime_commands(old, new) is None


@pytest.mark.parametrize(
    "pool_change",
    [
        {"lb_algorithm": Algorithm.LEAST_CONNECTIONS},
        {"health_monitor": tcp_monitor(delay_s=9)},
        {"health_monitor": None},
        {"session_persistence": SessionPersistenceSpec(SessionPersistenceType.SOURCE_IP)},
        {"admin_state_up": False},
    ],
)
def test_pool_changes_need_a_reload(pool_change: dict[str, object]) -> None:
    new = spec(member(M1, weight=2), **pool_change)  # type: ignore[arg-type]
    assert runtime_commands(spec(member(M1)), new) is None


def test_listener_change_needs_a_reload() -> None:
    old = spec(member(M1))
    listener = dataclasses.replace(old.listeners[0], timeout_client_data_ms=1000)
    new = dataclasses.replace(spec(member(M1, weight=2)), listeners=(listener,))
    assert runtime_commands(old, new) is None


def test_members_of_a_pool_haproxy_does_not_run_need_nothing() -> None:
    old = dataclasses.replace(spec(member(M1)), admin_state_up=False)
    new = dataclasses.replace(spec(member(M1, weight=9), member(M2)), admin_state_up=False)
    assert runtime_commands(old, new) == []


def test_shared_pool_changes_every_backend() -> None:
    old = spec(member(M1))
    second = ListenerSpec(
        id=uid("listener-2"), protocol=ListenerProtocol.TCP, protocol_port=81, default_pool_id=POOL
    )
    old = dataclasses.replace(old, listeners=(*old.listeners, second))
    pool = dataclasses.replace(old.pools[0], members=(member(M1, weight=3),))
    new = dataclasses.replace(old, pools=(pool,))
    assert runtime_commands(old, new) == [
        f"set server {BACKEND}/{M1} weight 3",
        f"set server {POOL}:{second.id}/{M1} weight 3",
    ]


def test_duplicate_member_ids_need_a_reload() -> None:
    assert runtime_commands(spec(member(M1)), spec(member(M1), member(M1, "10.0.0.2"))) is None


def test_unsafe_member_id_is_refused_even_for_removal() -> None:
    old = spec(member(M1), member("x\nshutdown sessions", "10.0.0.2"))
    with pytest.raises(UnsafeValue, match=r"member\.id"):
        runtime_commands(old, spec(member(M1)))
