"""A compute driver that builds nothing and remembers what it was asked, for API tests."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any


class NoopComputeDriver:
    """Keeps amphorae in memory; `create_amphora` returns `noop-<id>` as the compute id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.amphorae: dict[str, str] = {}
        """Amphora id → management IP of every amphora that exists."""

    def create_amphora(
        self,
        *,
        amphora_id: str,
        mgmt_ip: str,
        agent_config: Mapping[str, Any],
        files: Mapping[str, bytes],
    ) -> str:
        with self._lock:
            self.amphorae[amphora_id] = mgmt_ip
        return f"noop-{amphora_id}"

    def delete_amphora(self, amphora_id: str) -> None:
        with self._lock:
            self.amphorae.pop(amphora_id, None)

    def amphora_exists(self, amphora_id: str) -> bool:
        with self._lock:
            return amphora_id in self.amphorae

    def list_amphorae(self) -> list[str]:
        with self._lock:
            return sorted(self.amphorae)
