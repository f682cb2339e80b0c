"""What the controller needs from a compute driver: amphorae that exist or do not.

Every method is idempotent and safe to call again after a crash at any point:
`create_amphora` repairs a half-made amphora, `delete_amphora` removes whatever
is left of one. Failures are `TemporaryError`s (retry) unless the arguments
themselves are wrong (`ValueError`).

Implementations: `netns.NetnsComputeDriver` (namespaces and an agent process on
this host) and `noop.NoopComputeDriver` (in memory, for API tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class ComputeDriver(Protocol):
    def create_amphora(
        self,
        *,
        amphora_id: str,
        mgmt_ip: str,
        agent_config: Mapping[str, Any],
        files: Mapping[str, bytes],
    ) -> str:
        """Build (or repair) the amphora and start its agent; return its compute id."""
        ...

    def delete_amphora(self, amphora_id: str) -> None:
        """Stop everything of the amphora and remove it; nothing happens if it is gone."""
        ...

    def amphora_exists(self, amphora_id: str) -> bool:
        """True while anything of the amphora is left on the compute side."""
        ...

    def list_amphorae(self) -> list[str]:
        """Ids of every amphora this deployment has on the compute side (finds orphans)."""
        ...
