"""Answers to repeated reads, kept until anything in the database changes.

Clients poll: `openstack loadbalancer create --wait` and openstacksdk's
`wait_for_status` read the same object every second, dashboards list the
same page again and again. On SQLite the database tells cheaply whether
anything was committed since a moment (`Database.change_marker`), so a GET
answered before can be answered again, byte for byte, while the marker has
not moved. The key is everything the answer depends on: the path and query
string, the base URL (links), and the caller's identity (project, user,
roles), since authorization decides what a caller sees. Any commit, by the
API, the controller or another process, moves the marker and empties the
cache. Only 200 answers are kept; without a marker (PostgreSQL) nothing is.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

MAX_BODY_BYTES = 4 * 1024 * 1024
"""Larger answers are not kept (a page of a thousand load balancers is ~0.7 MiB)."""


class ResponseCache:
    """At most `entries` bodies, least recently used out first, all for one marker."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self._marker: int | None = None
        self._bodies: OrderedDict[Hashable, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, marker: int) -> bytes | None:
        with self._lock:
            if marker != self._marker:
                self._bodies.clear()
                self._marker = marker
                return None
            body = self._bodies.get(key)
            if body is not None:
                self._bodies.move_to_end(key)
            return body

    def put(self, key: Hashable, marker: int, body: bytes) -> None:
        """Keep `body`, read after `marker` was taken (so it is at least that new)."""
        if len(body) > MAX_BODY_BYTES:
            return
        with self._lock:
            if marker != self._marker:
                return  # something committed meanwhile; the next get starts afresh
            self._bodies[key] = body
            if len(self._bodies) > self.entries:
                self._bodies.popitem(last=False)
