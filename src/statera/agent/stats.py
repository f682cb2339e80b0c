"""Turn HAProxy's `show stat` CSV into the agent's `AmphoraStatusReport`.

The health manager polls `GET /1.0/status` and derives operating statuses from
it, so the mapping here is Octavia's (octavia-spec §2 and §4.4): frontends are
listeners (named by listener id), backends named `<pool_id>:<listener_id>` are
pools, and a backend's servers are members (named by member id). Counters are
absolute (heartbeat version 2): a poller computes deltas itself, and two
pollers do not steal each other's increments.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Iterable
from typing import Literal

from statera.protocol.agent_api import (
    AmphoraStatusReport,
    ListenerReport,
    MemberState,
    PoolReport,
)

REPORT_VERSION = 2
"""Octavia's heartbeat version with absolute counters; see the module docstring."""

_MEMBER_STATES: dict[str, MemberState] = {
    "UP": "UP",
    "DOWN": "DOWN",
    "DRAIN": "DRAIN",
    "MAINT": "MAINT",
    # NOLB: up but refusing new sessions (e.g. `http-check disable-on-404`): draining.
    "NOLB": "DRAIN",
}


def member_state(status: str) -> MemberState:
    """Map a server's `status` column: `UP 1/3` is UP, `MAINT(via)` is MAINT, unknown is DOWN."""
    status = status.strip()
    if status == "no check":
        return "no check"
    head = status.split(" ", 1)[0].split("(", 1)[0]
    return _MEMBER_STATES.get(head, "DOWN")


def listener_state(status: str, *, current: int, limit: int) -> Literal["OPEN", "FULL"]:
    """FULL at the frontend's maxconn. HAProxy 2.x no longer prints FULL itself (1.x did)."""
    if status.strip() == "FULL" or (limit > 0 and current >= limit):
        return "FULL"
    return "OPEN"


def pool_state(status: str) -> Literal["UP", "DOWN"]:
    return "UP" if status.strip().split(" ", 1)[0] == "UP" else "DOWN"


def parse_show_stat(
    text: str,
) -> tuple[dict[str, ListenerReport], dict[str, PoolReport]]:
    """Parse the reply of `show stat` into listener and pool reports.

    Proxies that are not listeners or pools (a backend without `:` in its name,
    HAProxy's internal proxies) are left out; a listener that is also a `listen`
    section reports only its frontend row.
    """
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        raise ValueError(f"not a `show stat` reply: {text[:80]!r}")
    rows = csv.DictReader(_data_lines(lines))
    listeners: dict[str, ListenerReport] = {}
    members: dict[str, dict[str, MemberState]] = {}
    pools: dict[str, PoolReport] = {}
    for row in rows:
        proxy = row.get("pxname") or ""
        server = row.get("svname") or ""
        status = row.get("status") or ""
        if server == "FRONTEND":
            listeners[proxy] = {
                "status": listener_state(
                    status, current=_int(row.get("scur")), limit=_int(row.get("slim"))
                ),
                "stats": {
                    "tx": _int(row.get("bout")),
                    "rx": _int(row.get("bin")),
                    "conns": _int(row.get("scur")),
                    "totconns": _int(row.get("stot")),
                    "ereq": _int(row.get("ereq")),
                },
            }
        elif ":" not in proxy:
            continue
        elif server == "BACKEND":
            pools[proxy] = {"status": pool_state(status), "members": members.setdefault(proxy, {})}
        else:
            members.setdefault(proxy, {})[server] = member_state(status)
    return listeners, pools


def _data_lines(lines: list[str]) -> Iterable[str]:
    yield lines[0][2:]
    for line in lines[1:]:
        if line.strip():
            yield line


def _int(value: str | None) -> int:
    try:
        return int(value) if value else 0
    except ValueError:
        return 0


class StatusReporter:
    """Builds numbered reports for one amphora; `seq` increases by one per report."""

    def __init__(self, amphora_id: str) -> None:
        self._amphora_id = amphora_id
        self._seq = 0
        self._lock = threading.Lock()

    def report(
        self,
        show_stat: str | None,
        *,
        udp: tuple[dict[str, ListenerReport], dict[str, PoolReport]] | None = None,
    ) -> AmphoraStatusReport:
        """A report from a `show stat` reply, or an empty one when HAProxy is not running.

        `udp` adds the UDP listeners and pools (`agent.udp.Udp.report`): they are
        forwarded by nftables, not HAProxy, but report in the same shape.
        """
        listeners, pools = parse_show_stat(show_stat) if show_stat is not None else ({}, {})
        if udp is not None:
            listeners.update(udp[0])
            pools.update(udp[1])
        with self._lock:
            self._seq += 1
            seq = self._seq
        return {
            "id": self._amphora_id,
            "seq": seq,
            "ver": REPORT_VERSION,
            "listeners": listeners,
            "pools": pools,
        }
