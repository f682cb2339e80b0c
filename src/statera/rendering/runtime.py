"""HAProxy runtime-API commands that apply a member-only change without a reload.

The controller calls `runtime_commands(old, new)`; when it returns a list, the
agent sends each command on the stats socket of the HAProxy running `old` and
also writes `render_haproxy(new)` as the configuration on disk, so the next
reload (after the agent dumps `show servers state` into the server-state-file)
agrees with the running process. `None` means "reload instead", which is
always correct; it is returned whenever anything but members changed, or for
a change the runtime API cannot make exactly as the config would.

Order, chosen so no request is lost and capacity never dips:
1. added members: `add server B/S <endpoint> <same words as the config line>`
   (a new server starts in maintenance), then `enable health B/S` if it is
   checked, then `enable server B/S` unless the member is admin-down;
2. changed members: `set server B/S weight N`, `set server B/S state ready|maint`;
3. removed members: `set server B/S state maint` for all of them (no new
   request goes there; requests in flight finish), then `del server B/S`.

Answers: success is an empty answer, `New server registered.` or `Server
deleted.`. `del server` answers `Server still has connections attached to it,
cannot remove it.` while a request is in flight: that is not a failure (the
server is in maintenance and receives nothing); retry it later or leave it to
the next reload, whose configuration no longer names it.

Refused here on purpose (measured on HAProxy 2.6.12): `add server ... cookie`
("'cookie' option is not accepted for dynamic server"), so additions to an
HTTP_COOKIE pool reload; `add server ... check` in a backend with
`option external-check` (PING monitors) crashes the process, so additions to
such a pool reload too.

Pools whose TLS names files (client certificate, CA, CRL) reload as well: HAProxy
2.6 accepts `add server ... ssl crt <file> ca-file <file> crl-file <file>` only for
files already in its certificate cache (loaded by the running configuration);
a file it has not loaded fails with "unable to stat SSL certificate" (measured
on 2.6.12), and `runtime_commands` does not know the amphora's file paths.
"""

import dataclasses
from collections.abc import Iterator
from typing import Literal

from statera.domain.enums import HealthMonitorType
from statera.domain.specs import LoadBalancerSpec, MemberSpec, PoolSpec, PoolTlsSpec
from statera.rendering import safety
from statera.rendering.haproxy import (
    RenderedBackend,
    TlsFiles,
    active_monitor,
    backend_mode,
    endpoint,
    rendered_backends,
    server_arguments,
    uses_cookie,
)

_NO_FILES = TlsFiles(certs_dir="", names=frozenset())
"""Pools that name TLS files never get here (see `_can_add_server`); any lookup fails."""
# Member fields a running server cannot change through our commands.
_FIXED_MEMBER_FIELDS = ("address", "protocol_port", "backup", "monitor_address", "monitor_port")


def runtime_commands(old: LoadBalancerSpec, new: LoadBalancerSpec) -> list[str] | None:
    """Commands turning HAProxy running `old` into `new`, or None if it needs a reload."""
    if _without_members(old) != _without_members(new):
        return None
    adds: list[str] = []
    updates: list[str] = []
    maints: list[str] = []
    deletes: list[str] = []
    for backend in rendered_backends(new):
        old_pool = old.pool(backend.pool.id)
        if old_pool is None:  # unreachable: the structures are equal
            return None
        plan = _backend_commands(backend, old_pool.members)
        if plan is None:
            return None
        adds += plan.adds
        updates += plan.updates
        maints += plan.maints
        deletes += plan.deletes
    return adds + updates + maints + deletes


@dataclasses.dataclass
class _Plan:
    adds: list[str] = dataclasses.field(default_factory=list)
    updates: list[str] = dataclasses.field(default_factory=list)
    maints: list[str] = dataclasses.field(default_factory=list)
    deletes: list[str] = dataclasses.field(default_factory=list)


def _backend_commands(
    backend: RenderedBackend, old_members: tuple[MemberSpec, ...]
) -> _Plan | None:
    before = _by_id(old_members)
    after = _by_id(backend.pool.members)
    if before is None or after is None:
        return None
    plan = _Plan()
    for member_id, member in after.items():
        path = f"{backend.name}/{safety.uuid_id('member.id', member_id)}"
        previous = before.get(member_id)
        if previous is None:
            added = _add_commands(backend, member, path)
            if added is None:
                return None
            plan.adds += added
            continue
        if any(getattr(previous, f) != getattr(member, f) for f in _FIXED_MEMBER_FIELDS):
            return None
        plan.updates += _update_commands(previous, member, path)
    for member_id in before.keys() - after.keys():
        path = f"{backend.name}/{safety.uuid_id('member.id', member_id)}"
        plan.maints.append(f"set server {path} state maint")
        plan.deletes.append(f"del server {path}")
    # Sets come out in spec order; removals sorted so the output is stable.
    plan.maints.sort()
    plan.deletes.sort()
    return plan


def _add_commands(backend: RenderedBackend, member: MemberSpec, path: str) -> list[str] | None:
    pool = backend.pool
    mode = backend_mode(pool, backend.listener)
    if not _can_add_server(pool, mode=mode):
        return None
    words = [
        f"add server {path}",
        endpoint("member", member.address, member.protocol_port),
        server_arguments(member, backend=backend, files=_NO_FILES),
    ]
    commands = [" ".join(words)]
    if active_monitor(pool) is not None:
        commands.append(f"enable health {path}")
    if member.admin_state_up:
        commands.append(f"enable server {path}")
    return commands


def _can_add_server(pool: PoolSpec, *, mode: Literal["http", "tcp"]) -> bool:
    monitor = active_monitor(pool)
    if monitor is not None and monitor.type is HealthMonitorType.PING:
        return False
    if pool.tls is not None and _names_files(pool.tls):
        return False
    return not uses_cookie(pool, mode=mode)


def _names_files(tls: PoolTlsSpec) -> bool:
    return any(name is not None for name in (tls.certificate, tls.ca, tls.crl))


def _update_commands(previous: MemberSpec, member: MemberSpec, path: str) -> Iterator[str]:
    if previous.weight != member.weight:
        weight = safety.integer("member.weight", member.weight, low=0, high=256)
        yield f"set server {path} weight {weight}"
    if previous.admin_state_up != member.admin_state_up:
        yield f"set server {path} state {'ready' if member.admin_state_up else 'maint'}"


def _by_id(members: tuple[MemberSpec, ...]) -> dict[str, MemberSpec] | None:
    """Members keyed by id; None if an id repeats (not a spec we can diff)."""
    by_id = {m.id: m for m in members}
    return by_id if len(by_id) == len(members) else None


def _without_members(spec: LoadBalancerSpec) -> LoadBalancerSpec:
    """The spec with every pool's members dropped and the generation zeroed."""
    return dataclasses.replace(
        spec,
        generation=0,
        pools=tuple(dataclasses.replace(pool, members=()) for pool in spec.pools),
    )
